import Synchronization

/// One input as the tailer sees it.
public struct InputStatus: Sendable {
    public var id: InputID
    /// The followed path.
    public var path: String
    public var labels: [String: String]
    /// The file being read (or last read, once nothing is open); nil before the first open.
    public var identity: FileIdentity?
    /// Whether a file is open.
    public var isOpen: Bool
    /// Read position in the current file: bytes delivered or skipped.
    public var offset: Int64
    /// Largest size seen of the current file.
    public var size: Int64
    /// Bytes known to be waiting: `size - offset` of the current file plus the whole of any
    /// newer files queued behind it. 0 for a FIFO.
    public var lagBytes: Int64
    /// Bytes delivered over the input's life.
    public var bytesRead: UInt64
    /// Newlines delivered.
    public var linesRead: UInt64
    /// NUL padding and holes skipped (see ``Tailer``).
    public var skippedBytes: UInt64
    public var rotations: UInt64
    public var truncations: UInt64
    /// Sum of ``TailerEvents/truncated(_:possiblyMissed:)``.
    public var possiblyMissedBytes: UInt64
}

/// Totals over every input, including released ones (counters never go down).
public struct TailerTotals: Sendable, Equatable {
    /// Inputs with a file open now.
    public var filesFollowed = 0
    /// Inputs known now (open, waiting for their file, or failing).
    public var inputs = 0
    public var bytesRead: UInt64 = 0
    public var linesRead: UInt64 = 0
    public var skippedBytes: UInt64 = 0
    public var rotations: UInt64 = 0
    public var truncations: UInt64 = 0
    public var possiblyMissedBytes: UInt64 = 0
    /// Sum of the inputs' ``InputStatus/lagBytes`` now.
    public var lagBytes: Int64 = 0
    /// Errors reported through ``TailerEvents/failed(_:error:)``.
    public var errors: UInt64 = 0
    /// Whether changes are noticed with inotify (false: polling).
    public var usesInotify = false

    public init() {}
}

/// The tailer's figures as of its last refresh.
public struct TailerSnapshot: Sendable {
    public var totals = TailerTotals()
    public var inputs: [InputStatus] = []

    public init() {}
}

/// The tailer's self metrics, readable from any thread (a scrape), refreshed by the tailer every
/// ``TailerConfiguration/statisticsInterval`` while it works.
public final class TailerStatistics: Sendable {
    private let state = Mutex(TailerSnapshot())

    init() {}

    public func snapshot() -> TailerSnapshot {
        state.withLock { $0 }
    }

    func publish(_ snapshot: TailerSnapshot) {
        state.withLock { $0 = snapshot }
    }
}
