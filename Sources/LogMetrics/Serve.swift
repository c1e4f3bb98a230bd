import AccessLogParser
import Aggregation
import ArgumentParser
import Checkpoint
import Exposition
import Foundation
import HTTPClient
import NIOCore
import NIOPosix
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

    @Flag(help: "Check files by polling only, without inotify (for file systems inotify does not see into).")
    var polling = false

    @Option(
        help: ArgumentHelp(
            "Threads reading files (default: the number of cores, at most 4; one for a single literal path).",
            valueName: "n"))
    var readers: Int?

    @Option(
        help: ArgumentHelp(
            "Directory for restart-exact state: read positions and the counters they produced, written together "
                + "atomically. After a restart, even after kill -9, counting goes on exactly where it stopped.",
            valueName: "dir"))
    var stateDir: String?

    @Option(help: "Seconds between checkpoints into --state-dir (one is also taken for every scrape and at exit).")
    var checkpointIntervalSeconds: Int = 10

    @Option(
        help: ArgumentHelp(
            "Also write the metrics to this file, atomically, for node_exporter's textfile collector (name it *.prom).",
            valueName: "path"))
    var textfile: String?

    @Option(help: "Seconds between --textfile writes (one is also written at exit).")
    var textfileIntervalSeconds: Double = 15

    @Option(
        name: .customLong("push-gateway"),
        help: ArgumentHelp(
            "Also PUT the metrics to this Prometheus Pushgateway (http[s]://[user:password@]host:port), on "
                + "--push-interval-seconds and at exit.", valueName: "url"))
    var pushGateway: String?

    @Option(help: "Seconds between pushes.")
    var pushIntervalSeconds: Double = 30

    @Option(help: "The job label of pushes.")
    var pushJob: String = "logmetrics"

    @Option(
        name: .customLong("push-grouping"),
        help: ArgumentHelp(
            "A grouping label of pushes, NAME=VALUE (repeatable; default instance=<host name>).",
            valueName: "name=value"))
    var pushGrouping: [String] = []

    @Option(help: "Seconds one push may take, connection included (each push tries 3 times).")
    var pushTimeoutSeconds: Double = 10

    @Option(
        name: .customLong("web.config.file"),
        help: ArgumentHelp(
            "TLS and basic authentication for the server, in the Prometheus exporters' web configuration format "
                + "(tls_server_config, basic_auth_users). Read at start.", valueName: "path"))
    var webConfigFile: String?

    enum StartPosition: String, ExpressibleByArgument {
        case head
        case tail
    }

    func validate() throws {
        _ = try ListenAddress(listen)
        guard pollIntervalMs > 0 else { throw ValidationError("--poll-interval-ms must be positive") }
        if let readers, !(1...64).contains(readers) { throw ValidationError("--readers must be between 1 and 64") }
        guard checkpointIntervalSeconds > 0 else {
            throw ValidationError("--checkpoint-interval-seconds must be positive")
        }
        guard (1...86_400).contains(textfileIntervalSeconds) else {
            throw ValidationError("--textfile-interval-seconds must be between 1 and 86400")
        }
        guard (1...86_400).contains(pushIntervalSeconds) else {
            throw ValidationError("--push-interval-seconds must be between 1 and 86400")
        }
        guard (0.1...300).contains(pushTimeoutSeconds) else {
            throw ValidationError("--push-timeout-seconds must be between 0.1 and 300")
        }
        if let pushGateway, !(pushGateway.hasPrefix("http://") || pushGateway.hasPrefix("https://")) {
            throw ValidationError("--push-gateway needs an http:// or https:// URL, got \"\(pushGateway)\"")
        }
        var names = Set<String>()
        for pair in pushGrouping {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, Escaping.isValidLabelName(parts[0]), parts[0] != "job",
                names.insert(parts[0]).inserted
            else {
                throw ValidationError(
                    "--push-grouping expects NAME=VALUE with a label name other than job, got \"\(pair)\"")
            }
        }
        if let textfile {
            let directory = (textfile as NSString).deletingLastPathComponent
            guard FileManager.default.fileExists(atPath: directory.isEmpty ? "." : directory) else {
                throw ValidationError("--textfile: the directory \(directory) does not exist")
            }
        }
    }

    /// The grouping labels of pushes: as given, with `instance` unless given: the node's name in a
    /// DaemonSet (`NODE_NAME`, stable across rollouts, where a pod's name would leave a stale
    /// group behind at each one), else the host name.
    var pushGroupingLabels: [(String, String)] {
        var labels = pushGrouping.map { pair -> (String, String) in
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            return (parts[0], parts[1])
        }
        if !labels.contains(where: { $0.0 == "instance" }) {
            var host = [UInt8](repeating: 0, count: 256)
            let named = host.withUnsafeMutableBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { gethostname($0.baseAddress!, $0.count) } == 0
            }
            let name =
                ProcessInfo.processInfo.environment["NODE_NAME"].flatMap { $0.isEmpty ? nil : $0 }
                ?? (named ? String(decoding: host.prefix { $0 != 0 }, as: UTF8.self) : "unknown")
            labels.insert(("instance", name), at: 0)
        }
        return labels
    }

    /// File readers for these inputs: one for a single file named literally, else one per core up
    /// to four (a glob may match any number of files), never more than asked.
    var readerCount: Int {
        let files = input.inputs.filter { $0 != "-" }
        guard !files.isEmpty else { return 0 }
        if let readers { return readers }
        if files.count == 1 && !GlobPathProvider.isPattern(files[0]) { return 1 }
        return max(1, min(4, ProcessInfo.processInfo.activeProcessorCount))
    }

    func run() async throws {
        let address = try ListenAddress(listen)
        let patterns = input.inputs.filter { $0 != "-" }
        let readsStandardInput = input.inputs.contains("-")
        let workerCount = readerCount
        let (compiled, configText) = try input.loadConfiguration()
        // Before any line is read, so that the first lines are labelled too.
        let enrichment = try Enrichment.start(compiled)
        defer { enrichment?.stop() }
        let current = Current(
            compiled, shards: max(1, workerCount + (readsStandardInput ? 1 : 0)), enrichment: enrichment?.lookup,
            configText: configText)
        let stop = StopSignal()
        let reloads = ReloadCounter()
        let startupCode = StartupCode()

        var resume: [SavedPosition]?
        var checkpointer: Checkpointer?
        if let stateDir {
            let (positions, made) = try Self.openState(stateDir, current: current)
            resume = positions
            checkpointer = made
            if readsStandardInput {
                log("logmetrics: standard input cannot be resumed: its counts are kept, but it is read from its start")
            }
        }
        var tailing = TailerConfiguration()
        tailing.startPosition = from == .head ? .head : .tail
        tailing.changeDetection = polling ? .polling : .automatic
        tailing.pollInterval = .milliseconds(pollIntervalMs)
        let assignment = PathAssignment(workers: workerCount)
        let workers = (0..<workerCount).map { index in
            FollowWorker(
                index: index, patterns: patterns, assignment: assignment, configuration: tailing, resume: resume,
                current: current, shardIndex: index, stop: stop, checkpointer: checkpointer)
        }
        checkpointer?.attach(workers)
        var readers: [Reader] = workers
        if readsStandardInput {
            readers.append(
                StandardInputReader(current: current, shardIndex: workerCount, stop: stop, exitOnEOF: exitOnEOF))
        }
        let fileMetrics = FileMetrics(workers: workers)
        let exporterMetrics = ExporterMetrics()
        // Deferring: the configured families read piece by piece as they are written, which the
        // scrape server does (for the text formats); the textfile and the pushes write whole
        // snapshots.
        let snapshotOf: @Sendable (ExpositionFormat, Bool) -> MetricSnapshot = { [checkpointer] format, deferring in
            var snapshot: MetricSnapshot
            if let checkpointer {
                snapshot = checkpointer.served(format)
                snapshot.families += checkpointer.families
            } else {
                let now = current.get
                snapshot = now.pipeline.snapshot(
                    includeCreated: format != .text && now.compiled.configuration.createdTimestamps,
                    includeExemplars: format != .text, includeNative: format == .protobuf,
                    deferring: deferring && format != .protobuf)
            }
            snapshot.families += [BuildInfo.family] + reloads.families + fileMetrics.families()
            if let enrichment { snapshot.families += enrichment.families }
            snapshot.families += exporterMetrics.families
            return snapshot
        }
        let snapshotFor: @Sendable (ExpositionFormat) -> MetricSnapshot = { snapshotOf($0, false) }
        let status = StatusPage(current: current, workers: workers, configPath: input.config, inputs: input.inputs)
        var serverConfiguration = ScrapeServer.Configuration(host: address.host, port: address.port)
        if let webConfigFile {
            do {
                let web = try WebConfig.load(path: webConfigFile)
                serverConfiguration.tls = web.tls
                serverConfiguration.authenticator = web.authenticator
            } catch {
                throw ValidationError("--web.config.file \(error)")
            }
        }
        let scheme = serverConfiguration.tls == nil ? "http" : "https"
        // One event loop serves the port: a few scrapers, the status page and probes. NIO's shared
        // group would start a thread per core, each with its own stack and allocator arena.
        let serverLoops = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { serverLoops.shutdownGracefully { _ in } }
        let server = ScrapeServer(
            configuration: serverConfiguration, eventLoopGroup: serverLoops, snapshotFor: { snapshotOf($0, true) },
            isReady: { true }, pages: ["/": { status.render() }])
        var exports: [PeriodicExport] = []
        let batchFailed = OnceFlag()
        let textfileWriter = textfile.map { TextfileWriter(path: $0) }
        if let textfileWriter {
            exports.append(
                PeriodicExport(
                    current: current, stop: stop, interval: textfileIntervalSeconds,
                    action: { textfileWriter.write(snapshotFor(.text)) },
                    last: { textfileWriter.write(snapshotFor(.text)) }))
        }
        if pushGateway != nil {
            do {
                try CurlLibrary.load()
            } catch {
                throw ValidationError("--push-gateway: pushes are made through libcurl: \(error)")
            }
        }
        let pusher = pushGateway.map {
            PushgatewayClient(
                url: $0, job: pushJob, grouping: pushGroupingLabels,
                timeout: .milliseconds(Int(pushTimeoutSeconds * 1000)))
        }
        if let pusher {
            // A batch run (standard input to its end) pushes once, complete, at the end: an early
            // push would replace the last run's full result with a partial one.
            let batch = exitOnEOF && patterns.isEmpty
            exports.append(
                PeriodicExport(
                    current: current, stop: stop, interval: batch ? .infinity : pushIntervalSeconds,
                    action: { if !batch { pusher.push(snapshotFor(.text)) } },
                    // A batch run's one push has no grace period to keep to: every try, and
                    // a failure is the process's failure.
                    last: {
                        if batch {
                            if !pusher.batchPush(snapshotFor(.text)) { batchFailed.set() }
                        } else {
                            pusher.finalPush(snapshotFor(.text))
                        }
                    }))
        }
        exporterMetrics.set(textfile: textfileWriter, pusher: pusher)
        // Readers first: a checkpoint pauses them. With --state-dir the first checkpoint is
        // taken before the first scrape can come, so that every scrape has one to be served from.
        // Before the readers start: a catch-up from the head of large files creates its series
        // while nothing but start-up's code would otherwise still be mapped.
        startupCode.releaseNow()
        for reader in readers { reader.start() }
        checkpointer?.start()
        checkpointer?.requestCheckpoint(wait: 10)
        // Caught before the readiness line: whoever waits for it may send SIGHUP at once.
        let signals = SignalWatcher(signals: [SIGINT, SIGTERM]) { stop.trigger() }
        let hangups = SignalWatcher(signals: [SIGHUP]) { [input] in
            if Self.reload(input, current, reloads) { startupCode.schedule(now: monotonicSeconds()) }
        }
        defer {
            signals.cancel()
            hangups.cancel()
        }
        let bound = try await server.start()
        log("logmetrics: serving metrics on \(scheme)://\(address.display(port: bound.port ?? address.port))/metrics")
        let maintenance = Maintenance(
            current: current, stop: stop, checkpointer: checkpointer,
            checkpointInterval: Double(checkpointIntervalSeconds), status: status, startupCode: startupCode)
        startupCode.schedule(now: monotonicSeconds())
        maintenance.start()
        for export in exports { export.start() }
        await stop.wait()
        pusher?.cancel()
        checkpointer?.beginStopping()
        for worker in workers { worker.requestStop() }
        for reader in readers { reader.join() }
        maintenance.join()
        checkpointer?.finalCheckpoint()
        for export in exports { export.join() }
        for export in exports { export.finish() }
        if batchFailed.isSet {
            try await server.shutdown()
            throw ExitCode(1)
        }
        try await server.shutdown()
    }

    /// Creates the state directory if needed, restores the last checkpoint into the pipeline, and
    /// returns its read positions (nil at a first start) and the checkpointer for this run.
    static func openState(_ directory: String, current: Current) throws -> ([SavedPosition]?, Checkpointer) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw ValidationError("--state-dir \(directory): \(error.localizedDescription)")
        }
        let store = CheckpointStore(directory: directory)
        let (loaded, problems) = store.load()
        for problem in problems { log("logmetrics: \(problem); starting without it") }
        var positions: [SavedPosition]?
        if case .checkpoint(let checkpoint, let path) = loaded {
            let families = checkpoint.families.compactMap { $0.snapshot() }
            let summary = current.get.pipeline.restore(MetricSnapshot(families: families))
            positions = checkpoint.positions
            var message =
                "logmetrics: resumed from \(path): \(summary.series) series, \(checkpoint.positions.count) file positions"
            if !summary.skippedFamilies.isEmpty {
                message +=
                    "; not carried over (the configuration changed them): "
                    + summary.skippedFamilies.joined(separator: ", ")
            }
            if families.count < checkpoint.families.count {
                message += "; \(checkpoint.families.count - families.count) damaged families ignored"
            }
            log(message)
        }
        return (positions, Checkpointer(store: store, current: current, minimumInterval: 1))
    }

    /// Reads the configuration again; a configuration that does not load or compile is refused and
    /// the one in force kept. Returns whether the new one is in force.
    @discardableResult
    static func reload(_ input: InputOptions, _ current: Current, _ reloads: ReloadCounter) -> Bool {
        guard input.config != nil else {
            log("logmetrics: SIGHUP: no --config file to reload")
            return false
        }
        guard input.configIsReloadable else {
            reloads.count(success: false)
            log(
                "logmetrics: SIGHUP: --config \(input.config ?? "") is not a regular file (a pipe reads empty the second time); not reloaded"
            )
            return false
        }
        do {
            let (compiled, text) = try input.loadConfiguration()
            // The watches run for the whole process; they are not restarted with other settings.
            if compiled.configuration.kubernetesClient != current.get.compiled.configuration.kubernetesClient {
                throw ValidationError("the kubernetes section changed; it takes effect at the next start")
            }
            current.replace(with: compiled, configText: text)
            reloads.count(success: true)
            log("logmetrics: configuration reloaded")
            return true
        } catch {
            reloads.count(success: false)
            log("logmetrics: configuration not reloaded, keeping the one in force: \(error)")
            return false
        }
    }
}

/// The self-metrics of the textfile and the pushes, once they exist (they are made after the
/// scrape callback that reports them).
final class ExporterMetrics: Sendable {
    private let parts = Mutex<(TextfileWriter?, PushgatewayClient?)>((nil, nil))

    func set(textfile: TextfileWriter?, pusher: PushgatewayClient?) { parts.withLock { $0 = (textfile, pusher) } }

    var families: [MetricFamilySnapshot] {
        let (textfile, pusher) = parts.withLock { $0 }
        return (textfile?.outcomes.families ?? []) + (pusher?.outcomes.families ?? [])
    }
}

/// Set once, read at the end.
final class OnceFlag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
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

/// Drops idle series once a minute, writes a checkpoint on its interval, takes the status page's
/// readings, and lets go of the code only starting ran.
final class Maintenance: Reader, @unchecked Sendable {
    let checkpointer: Checkpointer?
    let checkpointInterval: Double
    let status: StatusPage?
    let startupCode: StartupCode?

    init(
        current: Current, stop: StopSignal, checkpointer: Checkpointer? = nil, checkpointInterval: Double = 10,
        status: StatusPage? = nil, startupCode: StartupCode? = nil
    ) {
        self.checkpointer = checkpointer
        self.checkpointInterval = checkpointInterval
        self.status = status
        self.startupCode = startupCode
        super.init(current: current, shardIndex: 0, stop: stop)
    }

    override func run() {
        var sinceExpiry = 0.0
        var sinceCheckpoint = 0.0
        var nextReading = monotonicSeconds() + StatusPage.sampleInterval
        while !stop.isStopped {
            usleep(100_000)
            sinceExpiry += 0.1
            sinceCheckpoint += 0.1
            if let status, monotonicSeconds() >= nextReading {
                // On the clock, not by adding up the sleeps: those drift by what each turn took.
                nextReading += StatusPage.sampleInterval
                status.sample()
            }
            startupCode?.releaseIfDue(now: monotonicSeconds())
            if let checkpointer, sinceCheckpoint >= checkpointInterval {
                sinceCheckpoint = 0
                checkpointer.requestCheckpoint()
            }
            guard sinceExpiry >= 60 else { continue }
            sinceExpiry = 0
            let value = current.get
            value.pipeline.expireIdleSeries(idleSeconds: value.compiled.configuration.idleExpirySeconds)
        }
    }
}

/// What the file readers report about the files they follow.
struct FileMetrics: Sendable {
    /// Per-file series stop here; the totals cover every file.
    static let maximumFileSeries = 1000
    let workers: [FollowWorker]

    func families() -> [MetricFamilySnapshot] {
        guard !workers.isEmpty else { return [] }
        var totals = TailerTotals()
        var fileLabels: [LabelSet] = []
        var lagValues: [UInt64] = []
        var bytesValues: [UInt64] = []
        var lineValues: [UInt64] = []
        var inotify = true
        for worker in workers {
            let snapshot = worker.statistics.snapshot()
            totals.filesFollowed += snapshot.totals.filesFollowed
            totals.rotations &+= snapshot.totals.rotations
            totals.truncations &+= snapshot.totals.truncations
            totals.possiblyMissedBytes &+= snapshot.totals.possiblyMissedBytes
            totals.errors &+= snapshot.totals.errors
            totals.lagBytes += snapshot.totals.lagBytes
            inotify = inotify && snapshot.totals.usesInotify
            // Per file only while the count stays readable; the total is always there.
            for status in snapshot.inputs where status.isOpen && fileLabels.count < Self.maximumFileSeries {
                fileLabels.append(LabelSet(names: ["path"], values: [status.path]))
                lagValues.append(UInt64(max(0, status.lagBytes)))
                bytesValues.append(status.bytesRead)
                lineValues.append(status.linesRead)
            }
        }
        return [
            MetricFamilySnapshot(
                name: "logmetrics_files_followed", help: "Files open for reading.", type: .gauge, labels: [.empty],
                values: .integers([UInt64(totals.filesFollowed)])),
            MetricFamilySnapshot(
                name: "logmetrics_file_rotations", help: "Followed files rotated (renamed, or replaced) and drained.",
                type: .counter, labels: [.empty], values: .integers([totals.rotations])),
            MetricFamilySnapshot(
                name: "logmetrics_file_truncations", help: "Followed files found truncated (copytruncate).",
                type: .counter, labels: [.empty], values: .integers([totals.truncations])),
            MetricFamilySnapshot(
                name: "logmetrics_file_missed_bytes",
                help: "Bytes known to be lost to truncations: seen in a file, then cut before they could be read.",
                type: .counter, labels: [.empty], values: .integers([totals.possiblyMissedBytes])),
            MetricFamilySnapshot(
                name: "logmetrics_file_errors", help: "Errors opening, reading or finding files (each reported once).",
                type: .counter, labels: [.empty], values: .integers([totals.errors])),
            MetricFamilySnapshot(
                name: "logmetrics_lag_bytes", help: "Bytes written to followed files and not read yet, in all.",
                type: .gauge, labels: [.empty], values: .integers([UInt64(max(0, totals.lagBytes))])),
            MetricFamilySnapshot(
                name: "logmetrics_file_lag_bytes", help: "Bytes written to a followed file and not read yet.",
                type: .gauge, labels: fileLabels, values: .integers(lagValues)),
            MetricFamilySnapshot(
                name: "logmetrics_file_read_bytes",
                help: "Bytes read from a followed path (all its files) since this process started following it.",
                type: .counter, labels: fileLabels, values: .integers(bytesValues)),
            MetricFamilySnapshot(
                name: "logmetrics_file_read_lines",
                help: "Lines read from a followed path (all its files) since this process started following it.",
                type: .counter, labels: fileLabels, values: .integers(lineValues)),
            MetricFamilySnapshot(
                name: "logmetrics_inotify", help: "1 when file changes are noticed through inotify, 0 when by polling.",
                type: .gauge, labels: [.empty], values: .integers([inotify ? 1 : 0])),
        ]
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

/// Where messages go instead of standard error while a full-screen view (`top`) owns the terminal.
let logSink = Mutex<(@Sendable (String) -> Void)?>(nil)

func log(_ message: String) {
    if let sink = logSink.withLock({ $0 }) { sink(message) } else { printError(message) }
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
