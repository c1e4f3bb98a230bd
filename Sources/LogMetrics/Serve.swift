import AccessLogParser
import Aggregation
import ArgumentParser
import Dispatch
import Exposition
import Foundation
import NIOCore
import ScrapeServer
import Synchronization
import Tailer

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Follow access logs (standard input by default) and serve their metrics on /metrics.")

    @OptionGroup var input: InputOptions

    @Option(help: "Address to serve on: [HOST]:PORT (an empty host means every interface).")
    var listen: String = ":9102"

    @Option(
        help:
            "Where to start in files present at start: head or tail (files that appear later are read from their head)."
    )
    var from: StartPosition = .tail

    @Flag(help: "Exit when standard input ends instead of serving the final metrics until stopped.")
    var exitOnEOF = false

    @Option(help: "How often followed files are checked for growth, rotation and truncation, in milliseconds.")
    var pollIntervalMs: Int = 250

    enum StartPosition: String, ExpressibleByArgument {
        case head
        case tail
    }

    func validate() throws {
        _ = try ListenAddress(listen)
        guard pollIntervalMs > 0 else { throw ValidationError("--poll-interval-ms must be positive") }
    }

    func run() async throws {
        let address = try ListenAddress(listen)
        let compiled = try input.configuration()
        let registry = Registry(schema: compiled.schema)
        let parser = compiled.parser
        let stop = StopSignal()
        var readers: [Reader] = []
        for path in input.inputs {
            let shard = Shard(registry: registry)
            if path == "-" {
                readers.append(StandardInputReader(shard: shard, parser: parser, stop: stop, exitOnEOF: exitOnEOF))
            } else {
                readers.append(
                    FileReader(
                        path: path, shard: shard, parser: parser, stop: stop,
                        start: from == .head ? .head : .tail, pollInterval: pollIntervalMs))
            }
        }
        let shards = readers.map(\.shard)
        let server = ScrapeServer(
            configuration: .init(host: address.host, port: address.port),
            snapshot: { SnapshotBuilder.snapshot(registry: registry, shards: shards).adding(BuildInfo.family) },
            isReady: { true })
        let bound = try await server.start()
        log("logmetrics: serving metrics on http://\(address.display(port: bound.port ?? address.port))/metrics")
        for reader in readers { reader.start() }
        let signals = SignalWatcher(signals: [SIGINT, SIGTERM]) { stop.trigger() }
        await stop.wait()
        signals.cancel()
        for reader in readers { reader.join() }
        try await server.shutdown()
    }
}

/// `[HOST]:PORT`, with `[::1]:9102` for IPv6.
struct ListenAddress {
    var host: String
    var port: Int

    init(_ text: String) throws {
        guard let colon = text.lastIndex(of: ":") else {
            throw ValidationError("--listen needs [HOST]:PORT, got \"\(text)\"")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw ValidationError("--listen: \"\(text[text.index(after: colon)...])\" is not a port")
        }
        self.host = host.isEmpty ? "0.0.0.0" : host
        self.port = port
    }

    func display(port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}

enum BuildInfo {
    static let family = MetricFamilySnapshot(
        name: "logmetrics_build_info", help: "The running logmetrics version; the value is always 1.", type: .gauge,
        labels: [LabelSet(names: ["version"], values: [LogMetrics.version])], values: .integers([1]))
}

extension MetricSnapshot {
    func adding(_ family: MetricFamilySnapshot) -> MetricSnapshot {
        var copy = self
        copy.families.append(family)
        return copy
    }
}

func log(_ message: String) {
    printError(message)
}

/// Set once to stop everything; waited on by the command.
final class StopSignal: Sendable {
    private let state = Mutex<(stopped: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    var isStopped: Bool { state.withLock { $0.stopped } }

    func trigger() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard !state.stopped else { return [] }
            state.stopped = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state -> Bool in
                if state.stopped { return true }
                state.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }
}

/// Calls `handler` when one of `signals` arrives, instead of the default action.
final class SignalWatcher {
    private let sources: [any DispatchSourceSignal]

    init(signals: [Int32], handler: @escaping @Sendable () -> Void) {
        sources = signals.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler(handler: handler)
            source.resume()
            return source
        }
    }

    func cancel() {
        for source in sources { source.cancel() }
    }
}
