/// Finds the paths a ``Tailer`` should follow.
///
/// Called on the tailer's thread at start, on every rescan interval and when a watched directory
/// gains or loses an entry. It must be cheap enough to call a few times a second.
public protocol PathProvider {
    func discover() -> PathDiscovery
}

/// One answer of a ``PathProvider``.
public struct PathDiscovery: Sendable {
    /// The paths to follow now.
    public var paths: [DiscoveredPath]
    /// Directories whose entries decide what ``paths`` will be next time (for a glob, every
    /// directory its wildcards walk through). With inotify these are watched so that new files
    /// and new directories are noticed at once.
    public var directories: [String]
    /// What went wrong while looking; reported once each.
    public var errors: [SystemError]

    public init(paths: [DiscoveredPath] = [], directories: [String] = [], errors: [SystemError] = []) {
        self.paths = paths
        self.directories = directories
        self.errors = errors
    }
}

/// A path to follow, and whether it was named literally or matched by a pattern.
public struct DiscoveredPath: Hashable, Sendable {
    public var path: String
    /// A literal path is followed even while it does not exist (like `tail -F`), and stays an
    /// input after its file is deleted, waiting for a new one. A matched path is released once
    /// its file is gone and drained.
    public var isLiteral: Bool

    public init(path: String, isLiteral: Bool) {
        self.path = path
        self.isLiteral = isLiteral
    }
}
