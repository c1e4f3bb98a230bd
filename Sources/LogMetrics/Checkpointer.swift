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
/// of the counters, writes both to the state directory in one atomic file, and lets the workers
/// go on. A scrape is answered from the snapshot of a checkpoint no older than
/// ``minimumInterval`` (taking a new one if needed), so Prometheus never sees a value that a
/// crash could take back: after `kill -9` and a restart the counters go on from a value at least
/// as high as any scraped, and reading resumes at the positions that produced it.
///
/// When a checkpoint cannot be written (disk full, read-only), the scrape is still answered
/// with fresh values, the failure is logged and counted, and the next checkpoint tries again.
final class Checkpointer: @unchecked Sendable {
    // @unchecked Sendable: the mutable state is guarded by `condition` (workers, rounds,
    // positions) or `serial` (the cached snapshot and counts).

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

    /// One checkpoint at a time; holds the last snapshot and the outcome counts.
    private let serial = Mutex<(last: Served?, written: UInt64, failed: UInt64, lastWrite: Double)>(
        (nil, 0, 0, -1))

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
        let deadline = Date().addingTimeInterval(parkTimeout)
        var complete = true
        while parked.count < workers.count {
            if stopping || !condition.wait(until: deadline) {
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

    /// Takes and writes a checkpoint now; returns its snapshot (every family, with native
    /// histograms, exemplars and creation times), or nil when the workers could not be paused.
    @discardableResult
    func checkpoint() -> MetricSnapshot? {
        serial.withLock { serial in
            guard let served = takeCheckpoint(&serial) else { return nil }
            serial.last = served
            return served.snapshot
        }
    }

    private func takeCheckpoint(
        _ serial: inout (last: Served?, written: UInt64, failed: UInt64, lastWrite: Double)
    ) -> Served? {
        let taken: (MetricSnapshot, [SavedPosition])? = paused { positions in
            let snapshot = current.get.pipeline.snapshot(
                includeCreated: true, includeExemplars: true, includeNative: true)
            return (snapshot, positions)
        }
        guard let (snapshot, positions) = taken else {
            serial.failed &+= 1
            log("logmetrics: checkpoint skipped")
            return nil
        }
        write(snapshot, positions, &serial)
        return Served(snapshot: snapshot, takenAt: monotonicSeconds())
    }

    private func write(
        _ snapshot: MetricSnapshot, _ positions: [SavedPosition],
        _ serial: inout (last: Served?, written: UInt64, failed: UInt64, lastWrite: Double)
    ) {
        let checkpoint = Checkpoint(
            writtenAt: snapshot.timestamp, positions: positions,
            families: snapshot.families.compactMap(SavedFamily.init))
        do {
            try store.save(checkpoint)
            serial.written &+= 1
            serial.lastWrite = snapshot.timestamp
        } catch {
            serial.failed &+= 1
            // Once per failure streak is enough for the log (the first write, or the first after
            // one that worked); the counter has every one.
            if serial.lastWrite != 0 { log("logmetrics: checkpoint not written: \(error)") }
            serial.lastWrite = 0
        }
    }

    /// Call before stopping the workers: a checkpoint in progress, or a scrape's, stops waiting
    /// for readers that are leaving.
    func beginStopping() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    /// The last checkpoint, when the workers have stopped: their final positions and the
    /// counters as they are.
    func finalCheckpoint() {
        beginStopping()
        condition.lock()
        let workers = self.workers
        condition.unlock()
        let positions = workers.flatMap(\.finalPositions)
        serial.withLock { serial in
            let snapshot = current.get.pipeline.snapshot(
                includeCreated: true, includeExemplars: true, includeNative: true)
            write(snapshot, positions, &serial)
        }
    }

    /// What a scrape in `format` is answered with: the snapshot of a checkpoint at most
    /// ``minimumInterval`` old, trimmed to what the format carries.
    func served(_ format: ExpositionFormat) -> MetricSnapshot {
        let snapshot: MetricSnapshot = serial.withLock { serial in
            if let last = serial.last, monotonicSeconds() - last.takenAt < minimumInterval { return last.snapshot }
            if let served = takeCheckpoint(&serial) {
                serial.last = served
                return served.snapshot
            }
            // Not paused in time: the last checkpoint's values are older but durable; only
            // before the first one are fresh values served (nothing scraped can be lost then).
            if let last = serial.last { return last.snapshot }
            return current.get.pipeline.snapshot(includeCreated: true, includeExemplars: true, includeNative: true)
        }
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
        let (written, failed, lastWrite) = serial.withLock { ($0.written, $0.failed, $0.lastWrite) }
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
