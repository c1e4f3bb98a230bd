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

/// The latest message, shown on the status line of the full-screen view.
final class Messages: Sendable {
    private let value = Mutex<String?>(nil)

    func post(_ message: String) { value.withLock { $0 = message } }
    var latest: String? { value.withLock { $0 } }
}
