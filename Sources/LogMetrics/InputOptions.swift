import AccessLogParser
import ArgumentParser
import Configuration

/// Options that decide how input is read, parsed and counted; shared by every command.
struct InputOptions: ParsableArguments {
    @Argument(help: "Access-log files to read; standard input when none (or `-`).")
    var paths: [String] = []

    @Option(name: .long, help: "A YAML configuration file (routes, labels, buckets, limits).")
    var config: String?

    @Option(help: "Metric names and labels: default, or istio (Istio's standard metrics).")
    var preset: LogMetricsConfiguration.Preset?

    @Option(name: .customLong("label"), help: "A static label on every series, NAME=VALUE (repeatable).")
    var labels: [String] = []

    @Option(help: "Container-log envelope: auto, raw, cri or docker.")
    var envelope: Envelope?

    @Option(help: "Lines longer than this many bytes are skipped and counted as oversized (default 65536).")
    var maxLineBytes: Int?

    var inputs: [String] { paths.isEmpty ? ["-"] : paths }

    func validate() throws {
        if let maxLineBytes, maxLineBytes < 1024 { throw ValidationError("--max-line-bytes must be at least 1024") }
        for label in labels where !label.contains("=") {
            throw ValidationError("--label expects NAME=VALUE, got \"\(label)\"")
        }
    }

    /// The configuration file (or the defaults) with the command line's options on top.
    func configuration() throws -> CompiledConfiguration {
        var configuration = LogMetricsConfiguration()
        if let config { configuration = try ConfigurationLoader.load(path: config) }
        if let preset { configuration.preset = preset }
        if let envelope { configuration.envelope = envelope }
        if let maxLineBytes { configuration.maxLineBytes = maxLineBytes }
        for label in labels {
            let parts = label.split(separator: "=", maxSplits: 1)
            configuration.staticLabels[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        do {
            return try ConfigurationCompiler.compile(configuration)
        } catch {
            throw ValidationError(config.map { "\($0): \(error)" } ?? "\(error)")
        }
    }
}

extension Envelope: ExpressibleByArgument {}
extension LogMetricsConfiguration.Preset: ExpressibleByArgument {}
