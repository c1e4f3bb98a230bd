import Foundation
import Synchronization
import Testing

@testable import Tailer

/// Realistic Envoy access-log lines (Istio's JSON format, about 800 bytes), each carrying its
/// sequence number twice, so that every delivered line can be checked byte for byte.
enum EnvoyLine {
    static let template: [UInt8] = Array(
        ("{\"start_time\":\"2024-11-20T10:00:00.000Z\",\"method\":\"GET\",\"path\":\"/api/v1/reviews/SEQUENCE0?page=2&size=20\","
            + "\"protocol\":\"HTTP/1.1\",\"response_code\":200,\"response_flags\":\"-\",\"response_code_details\":\"via_upstream\","
            + "\"connection_termination_details\":null,\"upstream_transport_failure_reason\":null,\"bytes_received\":0,"
            + "\"bytes_sent\":1843,\"duration\":12,\"upstream_service_time\":\"11\",\"x_forwarded_for\":\"10.244.1.17\","
            + "\"user_agent\":\"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36\","
            + "\"request_id\":\"SEQUENCE0-4c1e-9d7a-3f2b6e8a1c55\",\"authority\":\"reviews.bookinfo.svc.cluster.local:9080\","
            + "\"upstream_host\":\"10.244.2.31:9080\",\"upstream_cluster\":\"outbound|9080||reviews.bookinfo.svc.cluster.local\","
            + "\"upstream_local_address\":\"10.244.1.17:43210\",\"downstream_local_address\":\"10.96.14.2:9080\","
            + "\"downstream_remote_address\":\"10.244.1.9:51324\",\"requested_server_name\":\"outbound_.9080_._.reviews.bookinfo.svc.cluster.local\","
            + "\"route_name\":\"default\",\"x_user_tier\":\"gold\",\"traceparent\":\"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\"}\n")
            .utf8)
    static let placeholder = Array("SEQUENCE0".utf8)
    /// Where the two copies of the sequence number go.
    static let slots: [Int] = {
        var found: [Int] = []
        for index in 0...(template.count - placeholder.count)
        where template[index..<(index + placeholder.count)].elementsEqual(placeholder) {
            found.append(index)
        }
        return found
    }()

    static var length: Int { template.count }

    /// Writes line `sequence` into `line` (which holds the template).
    static func fill(_ line: inout [UInt8], sequence: Int) {
        var value = sequence
        for digit in (0..<placeholder.count).reversed() {
            let byte = UInt8(ascii: "0") + UInt8(value % 10)
            value /= 10
            for slot in slots { line[slot + digit] = byte }
        }
    }

    /// The sequence number of a delivered line, if it is exactly a line this module wrote.
    static func sequence(of line: UnsafeRawBufferPointer) -> Int? {
        guard line.count == template.count, let slot = slots.first else { return nil }
        var value = 0
        for digit in 0..<placeholder.count {
            let byte = line[slot + digit]
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        var expected = template
        fill(&expected, sequence: value)
        let same = expected.withUnsafeBytes { memcmp($0.baseAddress!, line.baseAddress!, line.count) == 0 }
        return same ? value : nil
    }
}

/// What the writer thread has done, shared with the tailer's thread.
final class WriterProgress: Sendable {
    let written = Atomic<Int>(0)
    let finished = Atomic<Bool>(false)
    let rotations = Atomic<Int>(0)
    let secondsTaken = Mutex<Double>(0)
    /// Truncations the ledger has been told of, for a writer that waits for them.
    let truncationsSeen = Atomic<Int>(0)
}

/// Checks delivered bytes line by line as they arrive: every complete line must be one that was
/// written, exactly once. Stops the tailer once every written line has arrived.
final class LineLedger: TailerEvents {
    let progress: WriterProgress
    /// The tailer to stop once every written line has arrived (when `expectEveryLine`).
    var control: TailerControl?
    let expectEveryLine: Bool
    private var seen: [Bool]
    private var carry: [InputID: [UInt8]] = [:]
    private(set) var delivered = 0
    private(set) var deliveredBytes = 0
    private(set) var duplicates = 0
    private(set) var corrupt = 0
    private(set) var droppedPartialBytes = 0
    private(set) var unfinishedAtEndOfFile = 0
    private(set) var rotations = 0
    private(set) var truncations = 0
    private(set) var possiblyMissed: UInt64 = 0
    private(set) var labels: [String: String] = [:]

    init(capacity: Int, progress: WriterProgress, expectEveryLine: Bool) {
        self.seen = [Bool](repeating: false, count: capacity)
        self.progress = progress
        self.expectEveryLine = expectEveryLine
    }

    func wasDelivered(_ sequence: Int) -> Bool { sequence < seen.count && seen[sequence] }

    func read(_ bytes: UnsafeBufferPointer<UInt8>, from input: InputID) {
        deliveredBytes += bytes.count
        var pending = carry[input] ?? []
        var start = 0
        let base = UnsafeRawPointer(bytes.baseAddress!)
        while start < bytes.count, let found = memchr(base + start, 0x0A, bytes.count - start) {
            let end = base.distance(to: UnsafeRawPointer(found)) + 1
            if pending.isEmpty {
                check(UnsafeRawBufferPointer(start: base + start, count: end - start))
            } else {
                pending += UnsafeRawBufferPointer(start: base + start, count: end - start)
                pending.withUnsafeBytes { check($0) }
                pending = []
            }
            start = end
        }
        if start < bytes.count { pending += UnsafeRawBufferPointer(start: base + start, count: bytes.count - start) }
        carry[input] = pending
        if expectEveryLine && progress.finished.load(ordering: .acquiring)
            && delivered >= progress.written.load(ordering: .acquiring)
        {
            control?.stop()
        }
    }

    private func check(_ line: UnsafeRawBufferPointer) {
        guard let sequence = EnvoyLine.sequence(of: line), sequence < seen.count else {
            corrupt += 1
            return
        }
        if seen[sequence] { duplicates += 1 } else { seen[sequence] = true }
        delivered += 1
    }

    func opened(_ input: InputID, path: String, identity: FileIdentity, labels: [String: String]) {
        self.labels = labels
    }

    func rotated(_ input: InputID, path: String, identity: FileIdentity) { rotations += 1 }

    func truncated(_ input: InputID, possiblyMissed: UInt64) {
        truncations += 1
        progress.truncationsSeen.add(1, ordering: .releasing)
        self.possiblyMissed += possiblyMissed
        droppedPartialBytes += carry[input]?.count ?? 0
        carry[input] = []
    }

    func endOfFile(_ input: InputID) {
        if !(carry[input] ?? []).isEmpty { unfinishedAtEndOfFile += 1 }
        carry[input] = []
    }

    func failed(_ input: InputID?, error: SystemError) {
        Issue.record("tailer error: \(error)")
    }
}

/// Writes `total` Envoy lines to `path` at `linesPerSecond` (one `write` per line, as an
/// unbuffered writer does), calling `rotate` every 2,000-3,000 lines. Runs on its own thread.
final class RateWriter: Sendable {
    let path: String
    let total: Int
    let linesPerSecond: Double
    let progress = WriterProgress()

    init(path: String, total: Int, linesPerSecond: Double) {
        self.path = path
        self.total = total
        self.linesPerSecond = linesPerSecond
    }

    /// What to do at a rotation point. It gets the writer's descriptor and returns the one to
    /// write to next (the same one, for copytruncate), plus how many lines to write to the old
    /// descriptor first (a writer that has not reopened yet).
    typealias Rotation = @Sendable (_ index: Int, _ descriptor: Int32) -> (lateLines: Int, reopen: Bool)

    func start(rotation: @escaping Rotation) -> Thread {
        let thread = Thread { [self] in run(rotation: rotation) }
        thread.start()
        return thread
    }

    private func run(rotation: Rotation) {
        var rng = SplitMix64(state: 42)
        var fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        precondition(fd >= 0)
        var line = EnvoyLine.template
        let started = Date()
        var nextRotation = Int.random(in: 2000...3000, using: &rng)
        var rotations = 0
        var sequence = 0
        func writeLine(_ descriptor: Int32) {
            EnvoyLine.fill(&line, sequence: sequence)
            line.withUnsafeBytes { precondition(write(descriptor, $0.baseAddress, $0.count) == $0.count) }
            sequence += 1
            progress.written.store(sequence, ordering: .releasing)
        }
        while sequence < total {
            // Pace: never ahead of the target rate (bursts catch up after a pause).
            let due = Int(Date().timeIntervalSince(started) * linesPerSecond)
            if sequence >= due {
                usleep(500)
                continue
            }
            writeLine(fd)
            if sequence == nextRotation {
                rotations += 1
                let (late, reopen) = rotation(rotations, fd)
                for _ in 0..<min(late, total - sequence) { writeLine(fd) }
                if reopen {
                    close(fd)
                    fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
                    precondition(fd >= 0)
                }
                progress.rotations.store(rotations, ordering: .releasing)
                nextRotation = sequence + Int.random(in: 2000...3000, using: &rng)
            }
        }
        close(fd)
        progress.secondsTaken.withLock { $0 = Date().timeIntervalSince(started) }
        progress.finished.store(true, ordering: .releasing)
    }
}

/// Stops the tailer after `seconds` once the writer is done, in case not every line arrives
/// (the assertions then say what is missing).
func startWatchdog(progress: WriterProgress, control: TailerControl, graceSeconds: Double) {
    Thread.detachNewThread {
        while !progress.finished.load(ordering: .acquiring) { usleep(10_000) }
        usleep(UInt32(graceSeconds * 1_000_000))
        control.stop()
    }
}

/// kubelet's rotation timestamp for the `index`-th rotation (a second apart).
func kubeletTimestamp(_ index: Int) -> String {
    let seconds = index % 60
    let minutes = (index / 60) % 60
    let hours = 12 + index / 3600
    func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
    return "20240101-\(two(hours))\(two(minutes))\(two(seconds))"
}
