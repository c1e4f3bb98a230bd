/// How a ``Tailer`` follows its files. The defaults suit a node agent following up to a few
/// thousand container logs.
public struct TailerConfiguration: Sendable {
    /// Where to start reading a file that is already there when following starts.
    public enum StartPosition: Sendable {
        /// From its first byte.
        case head
        /// From its end (from the start of its unfinished last line, if it has one, so that
        /// the line is read whole once it is finished).
        case tail
    }

    /// How changes to files and directories are noticed.
    public enum ChangeDetection: Sendable {
        /// inotify on Linux (watching the directories, not the files), falling back to polling
        /// when inotify is unavailable or its limits are reached; polling elsewhere.
        case automatic
        /// Check every file every ``TailerConfiguration/pollInterval`` (backing off for idle
        /// files), and glob every ``TailerConfiguration/rescanInterval``.
        case polling
    }

    /// For files present at the first scan; files that appear later are always read from
    /// their head, and so are all files when resuming from saved positions.
    public var startPosition: StartPosition = .tail
    public var changeDetection: ChangeDetection = .automatic
    /// The one read buffer the tailer owns; no file has a buffer of its own. Chunks delivered to
    /// ``TailerEvents/read(_:from:)`` are at most this long.
    public var readBufferSize = 256 * 1024
    /// The most bytes read from one input per turn before the next input gets its turn, so
    /// that a busy file cannot starve the others.
    public var readBudgetPerTurn = 1024 * 1024
    /// Polling: how often a file that is being written is checked. Zero checks every file on
    /// every ``Tailer/poll()``, which tests use to step the tailer deterministically.
    public var pollInterval: Duration = .milliseconds(250)
    /// Polling: an idle file's checks back off up to this interval; growth resets it.
    public var maximumIdlePollInterval: Duration = .seconds(2)
    /// How often globs are expanded again and (with inotify) every file is checked anyway, as
    /// a safety net for events inotify does not deliver (network and FUSE file systems).
    public var rescanInterval: Duration = .seconds(10)
    /// After a rename, the old file keeps being read until the new file has data (then the
    /// writer has switched) or until the old file has been idle this long.
    public var rotateWait: Duration = .seconds(5)
    /// ``Tailer/run(every:_:)`` waits at least this long between turns once it has caught up, so that
    /// a file written line by line is read in a few large reads rather than one per write.
    public var minimumTurnInterval: Duration = .milliseconds(100)
    /// A file that cannot be opened (permissions, not a file, symlink loop) is retried after
    /// the lower bound, doubling up to the upper bound; the error is reported once.
    public var retryBackoff: ClosedRange<Duration> = .seconds(1) ... .seconds(60)
    /// How often ``Tailer/statistics`` is refreshed for readers on other threads.
    public var statisticsInterval: Duration = .seconds(1)

    public init() {}
}
