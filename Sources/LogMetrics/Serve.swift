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
        let inputs = input.inputs
        let current = Current(try input.configuration(), shards: inputs.count)
        let stop = StopSignal()
        let reloads = ReloadCounter()
        var readers: [Reader] = []
        for (index, path) in inputs.enumerated() {
            if path == "-" {
                readers.append(
                    StandardInputReader(current: current, shardIndex: index, stop: stop, exitOnEOF: exitOnEOF))
            } else {
                readers.append(
                    FileReader(
                        path: path, current: current, shardIndex: index, stop: stop,
                        start: from == .head ? .head : .tail, pollInterval: pollIntervalMs))
            }
        }
        let server = ScrapeServer(
            configuration: .init(host: address.host, port: address.port),
            snapshotFor: { format in
                let now = current.get
                var snapshot = now.pipeline.snapshot(
                    includeCreated: format != .text && now.compiled.configuration.createdTimestamps,
                    includeExemplars: format != .text, includeNative: format == .protobuf)
                snapshot.families += [BuildInfo.family] + reloads.families
                return snapshot
            },
            isReady: { true })
        let bound = try await server.start()
        log("logmetrics: serving metrics on http://\(address.display(port: bound.port ?? address.port))/metrics")
        for reader in readers { reader.start() }
        let signals = SignalWatcher(signals: [SIGINT, SIGTERM]) { stop.trigger() }
        let hangups = SignalWatcher(signals: [SIGHUP]) { [input] in
            Self.reload(input, current, reloads)
        }
        let maintenance = Maintenance(current: current, stop: stop)
        maintenance.start()
        await stop.wait()
        signals.cancel()
        hangups.cancel()
        for reader in readers { reader.join() }
        maintenance.join()
        try await server.shutdown()
    }

    /// Reads the configuration again; a configuration that does not load or compile is refused and
    /// the one in force kept.
    static func reload(_ input: InputOptions, _ current: Current, _ reloads: ReloadCounter) {
        guard input.config != nil else {
            log("logmetrics: SIGHUP: no --config file to reload")
            return
        }
        do {
            let compiled = try input.configuration()
            current.replace(with: compiled)
            reloads.count(success: true)
            log("logmetrics: configuration reloaded")
        } catch {
            reloads.count(success: false)
            log("logmetrics: configuration not reloaded, keeping the one in force: \(error)")
        }
    }
}

/// Counts reloads by outcome, for `logmetrics_config_reloads_total`.
final class ReloadCounter: Sendable {
    private let counts = Mutex<(success: UInt64, failure: UInt64)>((0, 0))

    func count(success: Bool) {
        counts.withLock { counts in
            if success { counts.success += 1 } else { counts.failure += 1 }
        }
    }

    var families: [MetricFamilySnapshot] {
        let (success, failure) = counts.withLock { $0 }
        return [
            MetricFamilySnapshot(
                name: "logmetrics_config_reloads", help: "Configuration reloads (SIGHUP), by result.", type: .counter,
                labels: [
                    LabelSet(names: ["result"], values: ["success"]), LabelSet(names: ["result"], values: ["failure"]),
                ],
                values: .integers([success, failure]))
        ]
    }
}

/// Drops idle series once a minute.
final class Maintenance: Reader, @unchecked Sendable {
    init(current: Current, stop: StopSignal) {
        super.init(current: current, shardIndex: 0, stop: stop)
    }

    override func run() {
        var elapsed = 0
        while !stop.isStopped {
            usleep(100_000)
            elapsed += 100
            guard elapsed >= 60_000 else { continue }
            elapsed = 0
            let value = current.get
            value.pipeline.expireIdleSeries(idleSeconds: value.compiled.configuration.idleExpirySeconds)
        }
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
