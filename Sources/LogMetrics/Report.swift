import AccessLogParser
import Aggregation
import ArgumentParser
import Configuration
import Exposition
import Reporting
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
        abstract: "Read access logs to their end and print what they say: a table by route, or the metrics.",
        discussion: """
            table (the default) and json give one row per route (or --by key), by traffic: requests, \
            requests per second over the time the log spans, 4xx and 5xx %, p50/p95/p99 latency, slow % \
            and the most frequent response flags. prometheus and openmetrics print the metrics a scrape \
            would get after reading the same lines.

              logmetrics report access.log
              kubectl logs deploy/istio-ingressgateway -n istio-system --since=1h | logmetrics report --by destination
              logmetrics report --format prometheus '/var/log/pods/*/istio-proxy/*.log*'
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table
        case json
        case prometheus
        case openmetrics
    }

    @OptionGroup var input: InputOptions

    @Option(help: "Output format: \(Format.allCases.map(\.rawValue).joined(separator: ", ")).")
    var format: Format = .table

    @Option(help: "What a row is (table, json): \(Grouping.allCases.map(\.rawValue).joined(separator: ", ")).")
    var by: Grouping = .route

    @Option(help: "Rows to show (table, json), by traffic; 0 for all. Default: 20 in a table, all in json.")
    var top: Int?

    @Flag(
        inversion: .prefixedNo,
        help: "Show progress on standard error (default: for inputs over 64 MiB when it is a terminal).")
    var progress: Bool?

    func validate() throws {
        if let top, top < 0 { throw ValidationError("--top must be 0 (all) or more") }
    }

    func run() throws {
        let compiled = try input.configuration()
        let tabular = format == .table || format == .json
        let counting: CompiledConfiguration
        if tabular {
            do {
                counting = compiled.counting(
                    into: try RouteTable.schema(by: by, like: compiled.schema), alsoReading: [.startTime])
            } catch {
                throw ValidationError("\(error)")
            }
        } else {
            // Neither text format carries native histograms, so none are kept.
            counting = compiled.counting(into: compiled.schema.withoutNativeHistograms())
        }
        // The table's keys need no Kubernetes labels, so it does not wait for the API.
        let enrichment = tabular ? nil : try Enrichment.start(compiled)
        defer { enrichment?.stop() }
        let current = Current(counting, shards: 1, enrichment: enrichment?.lookup)
        let reader = LogFileReader()
        var failures = 0
        let paths = try Self.expand(input.inputs, failures: &failures)
        let meter = ProgressMeter(paths: paths, enabled: progress)
        var span = TimeSpan()
        for path in paths {
            // Pod log paths name their namespace, pod and container; other paths say nothing.
            let labels = KubernetesLogPath(path: path)?.labels ?? [:]
            let ingest = Ingest(current: current, shardIndex: 0, labels: labels)
            if tabular { ingest.timeSpan = span }
            do {
                let summary = try reader.read(path: path) { chunk in
                    ingest.feed(chunk)
                    meter?.advance(bytes: chunk.count, lines: ingest.decoder.counts.total)
                }
                if let damage = summary.gzipError {
                    failures += 1
                    meter?.clear()
                    printError("logmetrics: \(damage); the lines before it are counted")
                }
                if summary.truncatedWhileRead {
                    meter?.clear()
                    printError(
                        "logmetrics: \(path) was truncated while it was read; the lines before the cut are counted, "
                            + "the line it fell in may be counted as malformed")
                }
            } catch {
                failures += 1
                meter?.clear()
                printError("logmetrics: \(error)")
            }
            ingest.finish()
            meter?.finishFile(lines: ingest.decoder.counts.total)
            if let noted = ingest.timeSpan { span = noted }
        }
        meter?.clear()
        let now = current.get
        var out: [UInt8] = []
        out.reserveCapacity(1 << 16)
        switch format {
        case .table, .json:
            var table = RouteTable.table(from: now.pipeline.snapshot(includeNative: false), by: by)
            table.firstRequest = span.first
            table.lastRequest = span.last
            if format == .table {
                let rows = top ?? 20
                out = Array(TableWriter.text(table, top: rows == 0 ? nil : rows, width: Terminal.columns).utf8)
            } else {
                out = Array(TableWriter.json(table, top: top == 0 ? nil : top).utf8)
            }
        case .prometheus, .openmetrics:
            let snapshot = now.pipeline.snapshot(
                includeCreated: format == .openmetrics && now.compiled.configuration.createdTimestamps,
                includeExemplars: format == .openmetrics, includeNative: false)
            if format == .prometheus {
                TextFormatWriter.write(snapshot, into: &out)
            } else {
                OpenMetricsFormatWriter.write(snapshot, into: &out)
            }
        }
        writeAll(STDOUT_FILENO, out)
        if failures > 0 { throw ExitCode(1) }
    }
}

extension Grouping: ExpressibleByArgument {}

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
