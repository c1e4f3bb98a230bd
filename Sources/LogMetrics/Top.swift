import Aggregation
import ArgumentParser
import Configuration
import Foundation
import Reporting
import Synchronization
import Tailer

struct Top: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A live table of the last minute's requests by route, while following (standard input by default).",
        discussion: """
            On a terminal the table is redrawn every second; q or Ctrl-C quits and gives the terminal \
            back as it was. Otherwise (output to a file or a pipe) the table is printed every 10 seconds, \
            and once more when standard input ends.

              kubectl logs -f deploy/istio-ingressgateway -n istio-system | logmetrics top
              logmetrics top --by destination --window 5m '/var/log/pods/*_istio-*/istio-proxy/*.log'
            """)

    @OptionGroup var input: InputOptions

    @Option(help: "What a row is: \(Grouping.allCases.map(\.rawValue).joined(separator: ", ")).")
    var by: Grouping = .route

    @Option(help: "The sliding window the table covers: seconds, or with a unit (90s, 5m).")
    var window: String = "60s"

    @Option(help: "Seconds between redraws (default: 1 on a terminal, 10 otherwise).")
    var refresh: Double?

    @Option(help: "Rows to show (default: as many as the terminal has room for; 20 otherwise).")
    var top: Int?

    @Option(help: "Where to start in files present at start: head or tail.")
    var from: Serve.StartPosition = .tail

    @Option(help: "How often followed files are checked for growth, rotation and truncation, in milliseconds.")
    var pollIntervalMs: Int = 250

    var windowSeconds: Double {
        get throws {
            let text = window.trimmingCharacters(in: .whitespaces)
            let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
            for (suffix, scale) in units where text.hasSuffix(suffix) {
                if let value = Double(text.dropLast(suffix.count)), value > 0 { return value * scale }
                break
            }
            if let value = Double(text), value > 0 { return value }
            throw ValidationError("--window: \"\(window)\" is not a duration such as 60, 90s or 5m")
        }
    }

    func validate() throws {
        _ = try windowSeconds
        if let refresh, !(0.1...3600).contains(refresh) {
            throw ValidationError("--refresh must be between 0.1 and 3600 seconds")
        }
        guard try windowSeconds <= 86_400 else { throw ValidationError("--window is at most 24h") }
        if input.inputs.contains("-"), isatty(STDIN_FILENO) == 1 {
            throw ValidationError(
                "standard input is the terminal: pipe a log in (kubectl logs -f ... | logmetrics top) or name files")
        }
        if let top, top < 1 { throw ValidationError("--top must be at least 1") }
        guard pollIntervalMs > 0 else { throw ValidationError("--poll-interval-ms must be positive") }
    }

    func run() async throws {
        let compiled = try input.configuration()
        let counting: CompiledConfiguration
        do {
            counting = compiled.counting(into: try RouteTable.schema(by: by, like: compiled.schema))
        } catch {
            throw ValidationError("\(error)")
        }
        let patterns = input.inputs.filter { $0 != "-" }
        let readsStandardInput = input.inputs.contains("-")
        let workerCount = patterns.isEmpty ? 0 : 1
        let current = Current(counting, shards: workerCount + (readsStandardInput ? 1 : 0))
        let stop = StopSignal()
        let screen = Screen()
        let interactive = screen != nil
        var tailing = TailerConfiguration()
        tailing.startPosition = from == .head ? .head : .tail
        tailing.pollInterval = .milliseconds(pollIntervalMs)
        let assignment = PathAssignment(workers: workerCount)
        let workers = (0..<workerCount).map { index in
            FollowWorker(
                index: index, patterns: patterns, assignment: assignment, configuration: tailing, resume: nil,
                current: current, shardIndex: index, stop: stop, checkpointer: nil)
        }
        var readers: [Reader] = workers
        let standardInput =
            readsStandardInput
            ? StandardInputReader(current: current, shardIndex: workerCount, stop: stop, exitOnEOF: !interactive)
            : nil
        if let standardInput { readers.append(standardInput) }

        let messages = Messages()
        // Signals first, so that a Ctrl-C the moment the screen changes still restores it.
        let signals = SignalWatcher(signals: [SIGINT, SIGTERM]) { stop.trigger() }
        defer { signals.cancel() }
        let suspension = screen.map { Suspension(screen: $0) }
        defer { suspension?.cancel() }
        if let screen {
            logSink.withLock { $0 = { message in messages.post(message) } }
            screen.enter()
        }
        defer {
            screen?.leave()
            logSink.withLock { $0 = nil }
            // What was said while the screen was in use would otherwise be lost with it.
            if interactive, let last = messages.latest { printError(last) }
        }
        let keys = screen.map { screen in KeyReader(screen: screen, stop: stop) }
        keys?.start()
        // The baseline is read before any reader starts: a reading taken after would already hold
        // the first lines, and the window would leave them out.
        var view = SlidingTable(window: try windowSeconds)
        let interval = refresh ?? (interactive ? 1 : 10)
        view.add(Self.reading(current, by: by), at: monotonicSeconds())
        for reader in readers { reader.start() }

        var nextDraw = monotonicSeconds() + (interactive ? 0 : interval)
        while !stop.isStopped {
            let now = monotonicSeconds()
            if now >= nextDraw {
                view.add(Self.reading(current, by: by), at: now)
                let (table, seconds) = view.current()
                if let screen {
                    if suspension?.isSuspended == true {
                        nextDraw = now + interval
                        continue
                    }
                    screen.draw(
                        header: header(table, seconds: seconds), table: table, seconds: seconds, rows: top,
                        message: messages.latest)
                } else {
                    writeAll(STDOUT_FILENO, Array(plain(table, seconds: seconds).utf8))
                }
                nextDraw = now + interval
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        for worker in workers { worker.requestStop() }
        for reader in readers { reader.join() }
        if !interactive, readsStandardInput {
            // Standard input ended (or a signal came): the last of the log is shown before exiting.
            view.add(Self.reading(current, by: by), at: monotonicSeconds())
            let (table, seconds) = view.current()
            writeAll(STDOUT_FILENO, Array(plain(table, seconds: seconds).utf8))
        }
    }

    static func reading(_ current: Current, by grouping: Grouping) -> Table {
        RouteTable.table(from: current.get.pipeline.snapshot(includeNative: false), by: grouping)
    }

    func header(_ table: Table, seconds: Double) -> String {
        let rate = seconds > 0 ? Double(table.requests) / seconds : 0
        return "logmetrics top · by \(by.rawValue) · last \(TableWriter.elapsed(seconds)) · "
            + "\(TableWriter.rate(rate)) req/s · \(input.inputs.map { $0 == "-" ? "stdin" : $0 }.joined(separator: " "))"
    }

    func plain(_ table: Table, seconds: Double) -> String {
        let stamp = ISO8601DateFormatter().string(from: Date())
        return "--- \(stamp) · by \(by.rawValue) · last \(TableWriter.elapsed(seconds)) ---\n"
            + TableWriter.text(table, top: top ?? 20, rateSeconds: max(seconds, 0.001)) + "\n"
    }
}

/// Readings of the cumulative table, kept for one window, so that the view is the difference
/// between now and a window ago: a sliding window, not one that empties on a schedule.
///
/// Readings are kept at least `spacing` apart, compactly: the counts of every row, and the flags
/// and durations of their ``rowsWithDetail`` busiest rows (by count since start) only (see
/// ``Reading``). With 10 000 routes a reading of whole rows was 1.5 MB, and the status page's
/// window of them grew serve by 90 MB; with the counts of the rest as plain rows it was still
/// 6 MB, and is 3 so. Every count of the window is exact; a row that was not among the busiest
/// at the window's start shows no quantiles or flags for the window (a route among them since
/// start rarely leaves them; one new since the start shows everything). With
/// `keepsNewestWhole` (`top`, whose view ends at its newest reading) the newest reading also
/// keeps every row whole. The window reaches back up to `spacing` (or the time between readings,
/// if longer) further than `window`, and the seconds it covers are reported as they are.
struct SlidingTable: Sendable {
    /// Past this many readings every other one is dropped, so that a long window at a short
    /// refresh costs a bounded amount of memory.
    static let maximumReadings = 128
    /// The default cap on routes.
    static let rowsWithDetail = 500
    let window: Double
    let spacing: Double
    let keepsNewestWhole: Bool
    private var readings: [Reading] = []
    /// The newest reading as it was added, when ``keepsNewestWhole``.
    private var newest: Table?

    init(window: Double, spacing: Double? = nil, keepsNewestWhole: Bool = true) {
        self.window = window
        self.spacing = spacing ?? window / 12
        self.keepsNewestWhole = keepsNewestWhole
    }

    mutating func add(_ table: Table, at time: Double) {
        let count = readings.count
        if count >= 2, readings[count - 1].time - readings[count - 2].time < spacing {
            // The newest is too close to the one before to be a start: this one takes its place.
            readings.removeLast()
        }
        readings.append(Reading(table, at: time, rowsWithDetail: Self.rowsWithDetail))
        if keepsNewestWhole { newest = table }
        // Keep the newest reading at or before the window's start; drop what is older.
        while readings.count > 2, readings[1].time <= time - window { readings.removeFirst() }
        if readings.count > Self.maximumReadings {
            readings = readings.enumerated().filter { $0.offset % 2 == 0 || $0.offset == readings.count - 1 }
                .map(\.element)
        }
    }

    /// The table of the window (or of the time since the first reading, until a window has
    /// passed) and the seconds it covers. Needs ``keepsNewestWhole``.
    func current() -> (Table, Double) {
        guard let last = readings.last, let newest else { return (Table(grouping: .route), 0) }
        return window(endingWith: newest, at: last.time)
    }

    /// The same for a reading taken now that is not kept.
    func window(endingWith latest: Table, at time: Double) -> (Table, Double) {
        // The newest reading at or before the window's start; until a window has passed, the first.
        guard let start = readings.last(where: { $0.time <= time - window }) ?? readings.first else {
            return (latest, 0)
        }
        return (latest.subtracting(start.table()), time - start.time)
    }

    /// The bytes the readings hold, roughly: for tests and for the documentation's figures.
    var approximateBytes: Int { readings.reduce(0) { $0 + $1.approximateBytes } }
}

/// One reading of a ``SlidingTable``: every row's counts in flat columns, and the busiest rows
/// whole. A row of counts is its key (16 bytes; shared storage for a long one, which the
/// registry's value already holds) and four counts.
struct Reading: Sendable {
    let time: Double
    let grouping: Grouping
    /// The rows past the busiest, by key, and their requests, client errors, server errors and
    /// slow requests, four counts a row.
    private let keys: [String]
    private let counts: [UInt64]
    /// The busiest rows, whole.
    private let detailed: [Row]
    private let tcpConnections: UInt64
    private let lines: [String: UInt64]

    init(_ table: Table, at time: Double, rowsWithDetail: Int) {
        self.time = time
        grouping = table.grouping
        // Rows come busiest first.
        detailed = Array(table.rows.prefix(rowsWithDetail))
        let rest = table.rows.dropFirst(rowsWithDetail)
        keys = rest.map(\.key)
        var counts: [UInt64] = []
        counts.reserveCapacity(rest.count * 4)
        for row in rest { counts += [row.requests, row.clientErrors, row.serverErrors, row.slow] }
        self.counts = counts
        tcpConnections = table.tcpConnections
        lines = table.lines
    }

    /// The reading as a table again, the rows past the busiest without their detail.
    func table() -> Table {
        var table = Table(grouping: grouping)
        table.rows = detailed
        table.rows.reserveCapacity(detailed.count + keys.count)
        for (k, key) in keys.enumerated() {
            var row = Row(key: key)
            row.requests = counts[4 * k]
            row.clientErrors = counts[4 * k + 1]
            row.serverErrors = counts[4 * k + 2]
            row.slow = counts[4 * k + 3]
            table.rows.append(row.withoutDetail())
        }
        table.tcpConnections = tcpConnections
        table.lines = lines
        return table
    }

    var approximateBytes: Int {
        keys.count * (MemoryLayout<String>.stride + 4 * MemoryLayout<UInt64>.stride)
            + detailed.count * MemoryLayout<Row>.stride
    }
}

/// The latest message, shown on the status line of the full-screen view.
final class Messages: Sendable {
    private let value = Mutex<String?>(nil)

    func post(_ message: String) { value.withLock { $0 = message } }
    var latest: String? { value.withLock { $0 } }
}
