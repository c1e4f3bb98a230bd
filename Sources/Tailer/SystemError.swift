#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// An error from the operating system, naming what was being done and to which path.
///
/// `reason` replaces the system's text for the few failures that are not a failed system call
/// but a refusal with a cause worth spelling out (a directory where a file was expected, an
/// inotify limit that switches the tailer to polling). `errno` then still holds the closest
/// system code, so callers can match on it.
public struct SystemError: Error, CustomStringConvertible, Hashable, Sendable {
    /// The system call or step that failed, such as `open`, `read` or `inotify_add_watch`.
    public var operation: String
    /// The file or directory it was applied to.
    public var path: String
    /// The `errno` value the call left.
    public var errno: Int32
    /// Text shown instead of `strerror(errno)`, when the system's wording would mislead.
    public var reason: String?

    public init(_ operation: String, path: String, errno: Int32, reason: String? = nil) {
        self.operation = operation
        self.path = path
        self.errno = errno
        self.reason = reason
    }

    public var description: String {
        "\(operation) \(path): \(reason ?? String(cString: strerror(errno)))"
    }
}
