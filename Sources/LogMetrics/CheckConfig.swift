import ArgumentParser
import Configuration

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config", abstract: "Check a configuration file without running; exit 0 when it is valid.")

    @Argument(help: "The YAML configuration file.")
    var file: String

    func run() throws {
        let configuration = try ConfigurationLoader.load(path: file)
        let compiled = try ConfigurationCompiler.compile(configuration)
        print("\(file): valid")
        print("  families: \(compiled.schema.families.map(\.name).joined(separator: ", "))")
        print("  routes: \(configuration.routes.count) rules")
    }
}
