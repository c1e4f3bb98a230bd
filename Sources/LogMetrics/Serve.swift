import ArgumentParser

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Follow access logs (standard input by default) and serve their metrics on /metrics.")

    @OptionGroup var input: InputOptions

    func run() async throws {
        throw ValidationError("serve is not available yet")
    }
}
