import AccessLogParser
import ArgumentParser

/// Options that decide how input is read and parsed; shared by every command.
struct InputOptions: ParsableArguments {
    @Argument(help: "Access-log files to read; standard input when none (or `-`).")
    var paths: [String] = []

    @Option(help: "Container-log envelope: auto, raw, cri or docker.")
    var envelope: Envelope = .auto

    @Option(help: "Lines longer than this many bytes are skipped and counted as oversized.")
    var maxLineBytes: Int = LineFramer.defaultMaxLineLength

    var inputs: [String] { paths.isEmpty ? ["-"] : paths }

    func validate() throws {
        guard maxLineBytes >= 1024 else { throw ValidationError("--max-line-bytes must be at least 1024") }
    }
}

extension Envelope: ExpressibleByArgument {}
