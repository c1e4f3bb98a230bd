import AccessLogParser
import Aggregation
import ArgumentParser
import Exposition
import Tailer

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

struct Explain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show, line by line, how each record is classified and which series it updates.")

    @OptionGroup var input: InputOptions

    @Option(help: "Stop after this many lines.")
    var limit: Int?

    /// Prints each line's outcome and, for records, the series they update.
    struct Printer: AccessRecordSink {
        let shard: Shard
        let input: Int
        var line = 0
        var output: [UInt8] = []

        mutating func consume(_ record: AccessRecord) {
            line += 1
            let input = input
            let explanation = shard.withRecorder { state in
                state.currentInput = input
                defer { state.consume(record) }
                return state.explain(record)
            }
            var text = "line \(line): \(explanation.isTCP ? "tcp connection" : "request")\n"
            if !explanation.classification.isEmpty {
                text += "  " + explanation.classification.map { "\($0.name)=\($0.value)" }.joined(separator: " ") + "\n"
            }
            for update in explanation.updates {
                let labels = update.labels.map { "\($0.name)=\"\($0.value)\"" }.joined(separator: ",")
                text += "  \(update.family){\(labels)} \(update.change)\n"
            }
            output += Array(text.utf8)
        }

        mutating func reject(_ outcome: LineOutcome, line bytes: UnsafeBufferPointer<UInt8>) {
            line += 1
            let what: String
            switch outcome {
            case .parsed: what = "parsed"
            case .skipped(let reason): what = "skipped (\(reason))"
            case .malformed(let reason): what = "malformed (\(reason))"
            case .oversized: what = "oversized"
            }
            output += Array("line \(line): \(what)\n".utf8)
        }
    }

    func run() throws {
        let compiled = try input.configuration()
        let enrichment = try Enrichment.start(compiled)
        defer { enrichment?.stop() }
        let registry = Registry(schema: compiled.schema, enrichment: enrichment?.lookup)
        let shard = Shard(registry: registry)
        let decoder = AccessLogDecoder(configuration: compiled.parser)
        let reader = ChunkReader()
        var printer = Printer(shard: shard, input: shard.withRecorder { $0.addInput(labels: [:]) })
        var done = false
        for path in input.inputs where !done {
            do {
                let fd = try openForReading(path)
                defer { if fd != STDIN_FILENO { close(fd) } }
                while !done {
                    let n = try reader.readOnce(fd, path: path) { decoder.feed($0, into: &printer) }
                    flush(&printer)
                    if n == 0 { break }
                    if let limit, printer.line >= limit { done = true }
                }
            } catch {
                printError("logmetrics: \(error)")
            }
        }
        decoder.finish(into: &printer)
        flush(&printer)
        var summary = "\nseries per family:\n"
        let snapshot = SnapshotBuilder.snapshot(registry: registry, shards: [shard])
        for family in compiled.schema.families {
            let count = snapshot.families.first { $0.name == family.name }?.seriesCount ?? 0
            summary += "  \(family.type == .counter ? family.name + "_total" : family.name): \(count)\n"
        }
        writeAll(STDOUT_FILENO, Array(summary.utf8))
    }

    private func flush(_ printer: inout Printer) {
        writeAll(STDOUT_FILENO, printer.output)
        printer.output.removeAll(keepingCapacity: true)
    }
}
