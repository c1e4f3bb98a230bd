import AccessLogParser
import Aggregation
import ArgumentParser
import Exposition
import Tailer

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read access logs to their end and print the metrics they give.")

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case prometheus
        case openmetrics
    }

    @OptionGroup var input: InputOptions

    @Option(help: "Output format: \(Format.allCases.map(\.rawValue).joined(separator: ", ")).")
    var format: Format = .prometheus

    func run() throws {
        let compiled = try input.configuration()
        let enrichment = try Enrichment.start(compiled)
        defer { enrichment?.stop() }
        let current = Current(compiled, shards: 1, enrichment: enrichment?.lookup)
        let reader = LogFileReader()
        var failures = 0
        for path in try Self.expand(input.inputs, failures: &failures) {
            // Pod log paths name their namespace, pod and container; other paths say nothing.
            let labels = KubernetesLogPath(path: path)?.labels ?? [:]
            let ingest = Ingest(current: current, shardIndex: 0, labels: labels)
            do {
                let summary = try reader.read(path: path) { ingest.feed($0) }
                if let damage = summary.gzipError {
                    failures += 1
                    printError("logmetrics: \(damage); the lines before it are counted")
                }
            } catch {
                failures += 1
                printError("logmetrics: \(error)")
            }
            ingest.finish()
        }
        let now = current.get
        let snapshot = now.pipeline.snapshot(
            includeCreated: format == .openmetrics && now.compiled.configuration.createdTimestamps,
            includeExemplars: format == .openmetrics, includeNative: false)
        var out: [UInt8] = []
        out.reserveCapacity(1 << 16)
        switch format {
        case .prometheus: TextFormatWriter.write(snapshot, into: &out)
        case .openmetrics: OpenMetricsFormatWriter.write(snapshot, into: &out)
        }
        writeAll(STDOUT_FILENO, out)
        if failures > 0 { throw ExitCode(1) }
    }
}

extension Report {
    /// The inputs with their patterns expanded; a pattern that matches nothing is an error, named.
    static func expand(_ inputs: [String], failures: inout Int) throws -> [String] {
        var paths: [String] = []
        for input in inputs {
            if input == "-" {
                paths.append(input)
                continue
            }
            do throws(SystemError) {
                let matches = try GlobPathProvider.matches(of: input)
                if matches.isEmpty {
                    failures += 1
                    printError("logmetrics: \(input): no file matches")
                }
                paths += matches
            } catch {
                failures += 1
                printError("logmetrics: \(error)")
            }
        }
        return paths
    }
}

func printError(_ message: String) {
    writeAll(STDERR_FILENO, Array((message + "\n").utf8))
}

func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
    bytes.withUnsafeBytes { buffer in
        var offset = 0
        while offset < buffer.count {
            let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                return
            }
            offset += n
        }
    }
}
