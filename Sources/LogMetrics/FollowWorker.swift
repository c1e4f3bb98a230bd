import AccessLogParser
import Aggregation
import Foundation
import Synchronization
import Tailer

/// Which worker follows each discovered path: a new path goes to the worker with the fewest, so
/// that two busy files land on two cores. A path keeps its worker until that worker's tailer
/// releases it (its file gone and drained): a path missing from one listing (the instant of a
/// rename) must not be handed to a second worker while the first still follows it.
final class PathAssignment: Sendable {
    let workers: Int
    private let state = Mutex<(owners: [String: Int], counts: [Int])>(([:], []))

    init(workers: Int) {
        self.workers = max(1, workers)
        state.withLock { $0.counts = Array(repeating: 0, count: self.workers) }
    }

    /// The paths of `discovered` that worker `worker` follows, assigning new ones.
    func share(of discovered: [DiscoveredPath], for worker: Int) -> [DiscoveredPath] {
        state.withLock { state in
            discovered.filter { found in
                if let owner = state.owners[found.path] { return owner == worker }
                let owner = state.counts.indices.min { state.counts[$0] < state.counts[$1] } ?? 0
                state.owners[found.path] = owner
                state.counts[owner] += 1
                return owner == worker
            }
        }
    }

    /// Worker `worker` let `path` go; if it is discovered again it is a new file, for anyone.
    func release(_ path: String, by worker: Int) {
        state.withLock { state in
            guard state.owners[path] == worker else { return }
            state.owners[path] = nil
            state.counts[worker] -= 1
        }
    }
}

/// The command line's paths and globs, as one worker's share.
struct AssignedPathProvider: PathProvider {
    let base: GlobPathProvider
    let worker: Int
    let assignment: PathAssignment

    func discover() -> PathDiscovery {
        var discovery = base.discover()
        discovery.paths = assignment.share(of: discovery.paths, for: worker)
        // Every worker expands the same patterns; one reporting their errors is enough.
        if worker != 0 { discovery.errors = [] }
        return discovery
    }
}

/// Hands each input's bytes to its own decoder (an ``Ingest``), labelled by its path.
final class IngestEvents: TailerEvents {
    let current: Current
    let shardIndex: Int
    let onRelease: (String) -> Void
    private var ingests: [InputID: Ingest] = [:]

    init(current: Current, shardIndex: Int, onRelease: @escaping (String) -> Void = { _ in }) {
        self.current = current
        self.shardIndex = shardIndex
        self.onRelease = onRelease
    }

    private func ingest(_ input: InputID, labels: [String: String] = [:]) -> Ingest {
        if let ingest = ingests[input] { return ingest }
        let ingest = Ingest(current: current, shardIndex: shardIndex, labels: labels)
        ingests[input] = ingest
        return ingest
    }

    func opened(_ input: InputID, path: String, identity: FileIdentity, labels: [String: String]) {
        _ = ingest(input, labels: labels)
    }

    func read(_ bytes: UnsafeBufferPointer<UInt8>, from input: InputID) {
        ingest(input).feed(bytes)
    }

    func endOfFile(_ input: InputID) {
        ingests[input]?.endOfFile()
    }

    func truncated(_ input: InputID, possiblyMissed: UInt64) {
        // Whatever was unfinished belonged to the old contents.
        ingests[input]?.decoder.reset()
    }

    func closed(_ input: InputID) {
        ingests[input]?.finish()
        ingests[input] = nil
    }

    func released(_ input: InputID, path: String) {
        onRelease(path)
    }

    /// How far a saved position of `input` must go back for its pending partial record.
    func rewind(_ input: InputID) -> Int64 {
        ingests[input]?.decoder.bytesSincePendingPartial ?? 0
    }

    func failed(_ input: InputID?, error: SystemError) {
        log("logmetrics: \(error)")
    }
}

/// One thread following its share of the files with a ``Tailer``, counting into its own shard.
final class FollowWorker: Reader, @unchecked Sendable {
    // @unchecked Sendable: the tailer and its events are used by the worker's thread only;
    // other threads use `control`, `statistics` and, after `join()`, `finalPositions`.
    let index: Int
    let tailer: Tailer
    let events: IngestEvents
    let checkpointer: Checkpointer?
    private let lastPositions = Mutex<[SavedPosition]>([])

    init(
        index: Int, patterns: [String], assignment: PathAssignment, configuration: TailerConfiguration,
        resume positions: [SavedPosition]?, current: Current, shardIndex: Int, stop: StopSignal,
        checkpointer: Checkpointer?
    ) {
        self.index = index
        self.checkpointer = checkpointer
        let events = IngestEvents(current: current, shardIndex: shardIndex) { path in
            assignment.release(path, by: index)
        }
        self.events = events
        tailer = Tailer(
            pathProvider: AssignedPathProvider(
                base: GlobPathProvider(patterns: patterns), worker: index, assignment: assignment),
            configuration: configuration, events: events)
        if let positions { tailer.resume(from: positions) }
        super.init(current: current, shardIndex: shardIndex, stop: stop)
    }

    var statistics: TailerStatistics { tailer.statistics }

    /// Where reading stood when the worker stopped; valid after ``join()``.
    var finalPositions: [SavedPosition] { lastPositions.withLock { $0 } }

    override func run() {
        tailer.run { [self] in
            checkpointer?.park(worker: index) { tailer.savedPositions(rewinding: events.rewind) }
        }
        lastPositions.withLock { $0 = tailer.savedPositions(rewinding: events.rewind) }
        tailer.close()
    }

    func requestStop() {
        tailer.control.stop()
    }
}
