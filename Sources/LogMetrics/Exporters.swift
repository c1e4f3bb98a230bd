import Aggregation
import Exposition
import Foundation
import HTTPClient
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Counts the outcomes of one way of handing the metrics on, for its self-metric.
final class OutcomeCounter: Sendable {
    let name: String
    let help: String
    private let counts = Mutex<(success: UInt64, failure: UInt64, lastSuccess: Double?, failing: Bool)>(
        (0, 0, nil, false))

    init(name: String, help: String) {
        self.name = name
        self.help = help
    }

    /// Counts one outcome; true when it differs from the one before (the first failure, a
    /// recovery), which is when a person wants to read about it.
    @discardableResult
    func count(success: Bool) -> Bool {
        counts.withLock { counts in
            if success {
                counts.success += 1
                counts.lastSuccess = Date().timeIntervalSince1970
            } else {
                counts.failure += 1
            }
            defer { counts.failing = !success }
            return counts.failing == success
        }
    }

    var families: [MetricFamilySnapshot] {
        let (success, failure, last, _) = counts.withLock { $0 }
        var families = [
            MetricFamilySnapshot(
                name: name, help: help, type: .counter,
                labels: [
                    LabelSet(names: ["result"], values: ["success"]), LabelSet(names: ["result"], values: ["failure"]),
                ],
                values: .integers([success, failure]))
        ]
        if let last {
            families.append(
                MetricFamilySnapshot(
                    name: name + "_last_success_timestamp_seconds", help: "When the last one succeeded (Unix time).",
                    type: .gauge, unit: "seconds", labels: [.empty], values: .doubles([last.rounded(.down)])))
        }
        return families
    }
}

/// Writes the exposition to a file for node_exporter's textfile collector: to a temporary file
/// in the same directory (a name the collector ignores), flushed, then renamed over the target,
/// so that a scrape never reads half a file.
struct TextfileWriter: Sendable {
    let path: String
    let outcomes = OutcomeCounter(
        name: "logmetrics_textfile_writes", help: "Writes of the --textfile exposition, by result.")

    func write(_ snapshot: MetricSnapshot) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(1 << 16)
        TextFormatWriter.write(snapshot, into: &bytes)
        let temporary = path + ".tmp.\(getpid())"
        do {
            try Self.writeDurably(bytes, to: temporary)
            guard rename(temporary, path) == 0 else {
                throw SystemFailure(operation: "rename to \(path)", code: errno)
            }
            if outcomes.count(success: true) { log("logmetrics: --textfile \(path): written again") }
        } catch {
            unlink(temporary)
            // Once when writes start failing, not every interval: the counter tells the rest.
            if outcomes.count(success: false) { log("logmetrics: --textfile \(path): \(error)") }
        }
    }

    static func writeDurably(_ bytes: [UInt8], to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SystemFailure(operation: "open \(path)", code: errno) }
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { systemWrite(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemFailure(operation: "write \(path)", code: errno)
            }
            offset += n
        }
        guard fsync(fd) == 0 else { throw SystemFailure(operation: "fsync \(path)", code: errno) }
    }
}

/// write(2), named so that it is not taken for a method called write.
private func systemWrite(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, bytes, count)
}

struct SystemFailure: Error, CustomStringConvertible {
    let operation: String
    let code: Int32
    var description: String { "\(operation): \(String(cString: strerror(code)))" }
}

/// PUTs the exposition to a Prometheus Pushgateway under `job` and the grouping labels
/// (`instance` by default), replacing the group's previous push.
final class PushgatewayClient: Sendable {
    let groupURL: String
    let timeout: Duration
    let attempts: Int
    let basicAuth: String?
    let outcomes = OutcomeCounter(
        name: "logmetrics_pushes", help: "Pushes to the --push-gateway, by result (a push retried counts once).")
    /// One connection kept between pushes; cancelled when the process stops, so that a push in
    /// flight to a gateway that does not answer cannot hold the shutdown.
    private let transfer = CurlTransfer()

    init(url: String, job: String, grouping: [(String, String)], timeout: Duration, attempts: Int = 3) {
        var base = url
        var auth: String?
        // user:password@ in the URL becomes basic authentication, kept out of error messages.
        // The userinfo ends at the last @ of the authority (a password may hold an @ of its own).
        if let scheme = base.range(of: "://") {
            let authorityEnd = base[scheme.upperBound...].firstIndex(of: "/") ?? base.endIndex
            if let at = base[scheme.upperBound..<authorityEnd].lastIndex(of: "@") {
                auth = String(base[scheme.upperBound..<at]).removingPercentEncoding
                base.removeSubrange(scheme.upperBound...at)
            }
        }
        while base.hasSuffix("/") { base.removeLast() }
        var path = "/metrics" + Self.segment("job", job)
        for (name, value) in grouping { path += Self.segment(name, value) }
        groupURL = base + path
        self.timeout = timeout
        self.attempts = max(1, attempts)
        basicAuth = auth
    }

    /// `/name/value`, or `/name@base64/…` (URL-safe) when the value has a `/` or is empty, as the
    /// Pushgateway's API asks.
    static func segment(_ name: String, _ value: String) -> String {
        if value.isEmpty || value.contains("/") {
            let encoded = Data(value.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_")
            return "/\(name)@base64/\(encoded.isEmpty ? "=" : encoded)"
        }
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
        return "/\(name)/\(value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value)"
    }

    /// Ends the push in flight, and any later one made through ``push(_:)``.
    func cancel() { transfer.cancel() }

    /// One push with its retries (backing off between them); true when the gateway took it.
    @discardableResult
    func push(_ snapshot: MetricSnapshot) -> Bool {
        send(snapshot, through: transfer, attempts: attempts, timeout: timeout)
    }

    /// The push at exit, after ``cancel()``: one try on a connection of its own, within
    /// `timeout` (capped at 5 s), so that the process ends inside a pod's grace period.
    @discardableResult
    func finalPush(_ snapshot: MetricSnapshot) -> Bool {
        send(snapshot, through: CurlTransfer(), attempts: 1, timeout: min(timeout, .seconds(5)))
    }

    /// A batch run's one push, at its end: every try, on a connection of its own (the shared
    /// one was cancelled with the stop).
    func batchPush(_ snapshot: MetricSnapshot) -> Bool {
        send(snapshot, through: CurlTransfer(), attempts: attempts, timeout: timeout)
    }

    private func send(_ snapshot: MetricSnapshot, through transfer: CurlTransfer, attempts: Int, timeout: Duration)
        -> Bool
    {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(1 << 16)
        TextFormatWriter.write(snapshot, into: &bytes)
        var request = HTTPRequest(
            url: groupURL, method: "PUT", body: bytes, headers: ["Content-Type: \(TextFormatWriter.contentType)"],
            connectTimeout: min(timeout, .seconds(5)), totalTimeout: timeout)
        request.accept = "*/*"
        request.basicAuth = basicAuth
        var backoff = Backoff(initial: .milliseconds(500), maximum: .seconds(5))
        var problem = ""
        for attempt in 1...attempts {
            var response: [UInt8] = []
            let outcome = transfer.perform(request) { _, chunk in
                if response.count < 4096 { response += chunk.prefix(4096 - response.count) }
                return true
            }
            var retry = true
            switch outcome {
            case .completed(let status) where (200..<300).contains(status):
                if outcomes.count(success: true) { log("logmetrics: pushing to \(groupURL) again") }
                return true
            case .completed(let status), .stoppedByReceiver(let status):
                let text = String(decoding: response, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                problem = "HTTP \(status)" + (text.isEmpty ? "" : ": \(text)")
                // A 4xx says the push itself is wrong (inconsistent metrics, bad grouping):
                // sending it again changes nothing.
                retry = !(400..<500).contains(status)
            case .failed(_, let message, _):
                problem = message
            case .cancelled:
                // Stopping: the last push follows; this one is neither a success nor a failure.
                return false
            }
            guard retry, attempt < attempts, transfer.pause(for: backoff.next()) else { break }
        }
        if outcomes.count(success: false) { log("logmetrics: push to \(groupURL) failed: \(problem)") }
        return false
    }
}

/// Runs `action` every `interval` seconds on a thread of its own, until the stop signal, then
/// once more from ``finish()`` after the readers have stopped, so that the last counts are
/// handed on too. The textfile and the pushes each have one: a push that waits on a slow
/// gateway does not hold the textfile back.
final class PeriodicExport: Reader, @unchecked Sendable {
    let interval: Double
    let action: @Sendable () -> Void
    let last: @Sendable () -> Void

    init(
        current: Current, stop: StopSignal, interval: Double, action: @escaping @Sendable () -> Void,
        last: @escaping @Sendable () -> Void
    ) {
        self.interval = interval
        self.action = action
        self.last = last
        super.init(current: current, shardIndex: 0, stop: stop)
    }

    override func run() {
        var next = monotonicSeconds()
        while !stop.isStopped {
            if monotonicSeconds() >= next {
                action()
                next = monotonicSeconds() + interval
            }
            usleep(100_000)
        }
    }

    func finish() { last() }
}
