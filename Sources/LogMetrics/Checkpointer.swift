import Aggregation
import Checkpoint
import Exposition
import Foundation
import Synchronization
import Tailer

/// Makes what a scrape shows durable before it is shown.
///
/// A checkpoint pauses every file worker between two reads (each parks in its tailer's periodic
/// callback, where every byte read has been counted), takes their read positions and a snapshot
/// of the counters, lets the workers go on, and writes both to the state directory in one atomic
/// file. Checkpoints are taken on their own thread, when asked: on an interval, at exit, and for
/// scrapes.
///
/// A scrape is answered with the snapshot of the last checkpoint *written*. If that is older than
/// ``minimumInterval``, the scrape asks for a new one and waits for it up to
/// ``scrapeWait``; past that (a slow disk) it is answered with the last one written, older but
/// durable. So Prometheus never sees a value that a crash could take back: after `kill -9` and a
/// restart the counters go on from a value at least as high as any scraped, and reading resumes
/// at the positions that produced it.
///
/// When a checkpoint cannot be written (disk full, read-only), scrapes are answered with the
/// fresh values it held (there is nothing durable to be consistent with), the failure is logged
/// and counted, and the next checkpoint tries again.
final class Checkpointer: @unchecked Sendable {
    // @unchecked Sendable: the mutable state is guarded by `condition` (workers, rounds,
    // positions), `work` (requests, the last checkpoint) or `outcomes`.

    let store: CheckpointStore
    let current: Current
    /// A scrape within this long of the last checkpoint is answered from it.
    let minimumInterval: Double
    /// Longest a checkpoint waits for a worker to park before giving up on that round.
    let parkTimeout: Double = 5

    private let condition = NSCondition()
    private var workers: [FollowWorker] = []
    private var requestedRound = 0
    private var releasedRound = 0
    private var parked: [Int: [SavedPosition]] = [:]
    private var stopping = false

    private struct Served {
        var snapshot: MetricSnapshot
        var takenAt: Double
    }

    /// How long a scrape waits for the checkpoint it asked for.
    let scrapeWait: Double = 1

    /// Requests and results, between scrapes, the interval timer and the checkpoint thread.
    private let work = NSCondition()
    private var requested = 0
    private var completed = 0
    private var last: Served?
    private var threadStopped = false
    private var thread: Thread?

    /// Outcome counts, for the self metrics.
    private let outcomes = Mutex<(written: UInt64, failed: UInt64, lastWrite: Double)>((0, 0, -1))

    init(store: CheckpointStore, current: Current, minimumInterval: Double) {
        self.store = store
        self.current = current
        self.minimumInterval = minimumInterval
    }

    func attach(_ workers: [FollowWorker]) {
        condition.lock()
        self.workers = workers
        condition.unlock()
    }

    /// Starts the checkpoint thread (after the workers).
    func start() {
        let thread = Thread { [self] in runCheckpoints() }
        thread.stackSize = 1 << 20
        self.thread = thread
        thread.start()
    }

    private func runCheckpoints() {
        while true {
            work.lock()
            while requested == completed && !threadStopped { work.wait() }
            if threadStopped {
                work.unlock()
                return
            }
            let target = requested
            work.unlock()
            let served = takeCheckpoint()
            work.lock()
            if let served { last = served }
            completed = target
            work.broadcast()
            work.unlock()
        }
    }

    /// Asks for a checkpoint and waits for it up to `timeout` seconds; returns the last one
    /// taken by then (the new one, or an older one), nil if there has never been one.
    @discardableResult
    func requestCheckpoint(wait timeout: Double = 0) -> MetricSnapshot? {
        work.lock()
        defer { work.unlock() }
        requested += 1
        let wanted = requested
        work.broadcast()
        let deadline = ContinuousClock.now.advanced(by: .seconds(timeout))
        while completed < wanted && !threadStopped {
            if !work.wait(untilMonotonic: deadline) { break }
        }
        return last?.snapshot
    }

    // MARK: Worker side

    /// Called by worker `worker` between turns: if a checkpoint is waiting, hand over the
    /// positions and wait until it is written.
    func park(worker: Int, positions: () -> [SavedPosition]) {
        condition.lock()
        defer { condition.unlock() }
        guard requestedRound > releasedRound, parked[worker] == nil else { return }
        parked[worker] = positions()
        condition.broadcast()
        let round = requestedRound
        while releasedRound < round && !stopping {
            _ = condition.wait(until: Date().addingTimeInterval(1))
        }
    }

    // MARK: Coordinator side

    /// Pauses every worker, runs `body` with their positions, and lets them go. Returns nil when
    /// some worker did not park in time (it is reading a slow file): no consistent cut exists.
    private func paused<R>(_ body: ([SavedPosition]) -> R) -> R? {
        condition.lock()
        requestedRound += 1
        parked = [:]
        let workers = self.workers
        condition.unlock()
        for worker in workers { worker.tailer.control.requestPeriodic() }
        condition.lock()
        let deadline = ContinuousClock.now.advanced(by: .seconds(parkTimeout))
        var complete = true
        while parked.count < workers.count {
            if stopping || !condition.wait(untilMonotonic: deadline) {
                complete = parked.count == workers.count
                break
            }
        }
        let positions = parked.values.flatMap { $0 }
        let missing = workers.map(\.index).filter { parked[$0] == nil }
        condition.unlock()
        defer {
            condition.lock()
            releasedRound = requestedRound
            parked = [:]
            condition.broadcast()
            condition.unlock()
        }
        guard complete else {
            log("logmetrics: checkpoint: readers \(missing) did not pause within \(Int(parkTimeout)) s")
            return nil
        }
        return body(positions)
    }

    /// Everything a checkpoint keeps and any format may serve: created times, exemplars and
    /// native histograms included.
    private func fullSnapshot() -> MetricSnapshot {
        current.get.pipeline.snapshot(includeCreated: true, includeExemplars: true, includeNative: true)
    }

    /// Pauses the workers for a snapshot, then writes it with their positions. Nil when the
    /// workers could not all be paused.
    private func takeCheckpoint() -> Served? {
        let taken: (MetricSnapshot, [SavedPosition])? = paused { positions in
            (fullSnapshot(), positions)
        }
        guard let (snapshot, positions) = taken else {
            outcomes.withLock { $0.failed &+= 1 }
            log("logmetrics: checkpoint skipped")
            return nil
        }
        write(snapshot, positions)
        return Served(snapshot: snapshot, takenAt: monotonicSeconds())
    }

    private func write(_ snapshot: MetricSnapshot, _ positions: [SavedPosition]) {
        do {
            try store.save(writtenAt: snapshot.timestamp, positions: positions, families: snapshot.families)
            outcomes.withLock {
                $0.written &+= 1
                $0.lastWrite = snapshot.timestamp
            }
        } catch {
            let first = outcomes.withLock { outcomes -> Bool in
                outcomes.failed &+= 1
                // Logged once per failure streak (the first write, or the first after one that
                // worked); the counter has every one.
                defer { outcomes.lastWrite = 0 }
                return outcomes.lastWrite != 0
            }
            if first { log("logmetrics: checkpoint not written: \(error)") }
        }
    }

    /// Call before stopping the workers: a checkpoint in progress, or a scrape's, stops waiting
    /// for readers that are leaving.
    func beginStopping() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
        work.lock()
        threadStopped = true
        work.broadcast()
        work.unlock()
    }

    /// The last checkpoint, when the workers have stopped: their final positions and the
    /// counters as they are.
    func finalCheckpoint() {
        beginStopping()
        while let thread, !thread.isFinished { usleep(1_000) }
        condition.lock()
        let workers = self.workers
        condition.unlock()
        let positions = workers.flatMap(\.finalPositions)
        write(fullSnapshot(), positions)
    }

    /// What a scrape in `format` is answered with: the snapshot of the last checkpoint written,
    /// renewed first if it is older than ``minimumInterval``, trimmed to what the format carries.
    func served(_ format: ExpositionFormat) -> MetricSnapshot {
        work.lock()
        let recent = last.flatMap { monotonicSeconds() - $0.takenAt < minimumInterval ? $0.snapshot : nil }
        work.unlock()
        let snapshot =
            recent ?? requestCheckpoint(wait: scrapeWait)
            // No checkpoint yet at all: nothing durable to stay behind.
            ?? fullSnapshot()
        let created = current.get.compiled.configuration.createdTimestamps
        var trimmed = snapshot
        for k in trimmed.families.indices {
            if format == .text || !created { trimmed.families[k].created = nil }
            if format == .text { trimmed.families[k].exemplars = nil }
            if format != .protobuf, case .histograms(var columns) = trimmed.families[k].values, columns.native != nil {
                columns.native = nil
                trimmed.families[k].values = .histograms(columns)
            }
        }
        return trimmed
    }

    /// `logmetrics_checkpoints_total{result}` and the time of the last one written.
    var families: [MetricFamilySnapshot] {
        let (written, failed, lastWrite) = outcomes.withLock { ($0.written, $0.failed, $0.lastWrite) }
        return [
            MetricFamilySnapshot(
                name: "logmetrics_checkpoints",
                help: "Checkpoints of read positions and counters, by result: written, or failed (not written).",
                type: .counter,
                labels: [
                    LabelSet(names: ["result"], values: ["written"]), LabelSet(names: ["result"], values: ["failed"]),
                ],
                values: .integers([written, failed])),
            MetricFamilySnapshot(
                name: "logmetrics_last_checkpoint_timestamp_seconds",
                help: "When the last checkpoint was written (0: the last attempt failed, or none yet).", type: .gauge,
                labels: [.empty], values: .integers([UInt64(max(0, lastWrite.rounded(.down)))])),
        ]
    }
}

extension NSCondition {
    /// Waits for a signal until `deadline` on the monotonic clock; false once it has passed.
    /// `wait(until:)` takes a wall-clock date, and a step of the clock (NTP on a VM) would end
    /// the wait early or late.
    fileprivate func wait(untilMonotonic deadline: ContinuousClock.Instant) -> Bool {
        let left = ContinuousClock.now.duration(to: deadline)
        guard left > .zero else { return false }
        let seconds = Double(left.components.seconds) + Double(left.components.attoseconds) / 1e18
        _ = wait(until: Date().addingTimeInterval(seconds))
        return ContinuousClock.now < deadline
    }
}
