import Tailer

/// What a restart needs to go on exactly where the previous run stopped: where each file was
/// read up to, and everything counted from the bytes before those positions.
///
/// Both are taken at one moment, with every reader paused between two reads (see
/// `Checkpointer` in the executable), so the counters hold exactly the lines before the
/// positions: resuming from the positions with these counters counts no line twice and none
/// not at all.
public struct Checkpoint: Codable, Sendable, Equatable {
    /// Bumped when the layout changes incompatibly; a file of another version is set aside.
    public static let currentVersion = 1

    public var version: Int
    /// Seconds since the epoch.
    public var writtenAt: Double
    public var positions: [SavedPosition]
    public var families: [SavedFamily]

    public init(writtenAt: Double, positions: [SavedPosition], families: [SavedFamily]) {
        self.version = Self.currentVersion
        self.writtenAt = writtenAt
        self.positions = positions
        self.families = families
    }
}
