#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Device and inode: which file a path or descriptor refers to, as long as it is open.
///
/// While the tailer holds a file open its inode cannot be freed, so this key cannot be reused by
/// another file during that time; across restarts it can, which is what ``Fingerprint`` is for.
struct FileKey: Hashable, Sendable {
    var device: UInt64
    var inode: UInt64
}

/// The fields of `stat(2)` the tailer uses.
struct FileStatus: Sendable {
    enum Kind: Sendable, Equatable {
        case regular
        case fifo
        case directory
        case other

        var name: String {
            switch self {
            case .regular: "regular file"
            case .fifo: "FIFO"
            case .directory: "directory"
            case .other: "special file"
            }
        }
    }

    var key: FileKey
    var kind: Kind
    var size: Int64
    /// Hard links; 0 once the file has been deleted while still open.
    var linkCount: UInt64
    /// Last content change, in nanoseconds since the epoch. A rename does not change it, so it
    /// orders generations of a log by when they were last written.
    var modificationTime: Int64

    init(_ info: stat) {
        key = FileKey(device: UInt64(truncatingIfNeeded: info.st_dev), inode: UInt64(truncatingIfNeeded: info.st_ino))
        switch info.st_mode & S_IFMT {
        case S_IFREG: kind = .regular
        case S_IFIFO: kind = .fifo
        case S_IFDIR: kind = .directory
        default: kind = .other
        }
        size = Int64(info.st_size)
        linkCount = UInt64(truncatingIfNeeded: info.st_nlink)
        #if canImport(Darwin)
            modificationTime = Int64(info.st_mtimespec.tv_sec) &* 1_000_000_000 &+ Int64(info.st_mtimespec.tv_nsec)
        #else
            modificationTime = Int64(info.st_mtim.tv_sec) &* 1_000_000_000 &+ Int64(info.st_mtim.tv_nsec)
        #endif
    }

    /// `stat(2)`: follows symbolic links, as following a log by name must.
    static func of(path: String) throws(SystemError) -> FileStatus {
        var info = stat()
        guard stat(path, &info) == 0 else { throw SystemError("stat", path: path, errno: errno) }
        return FileStatus(info)
    }

    /// `fstat(2)` of an open descriptor; `path` only names it in errors.
    static func of(descriptor: Int32, path: String) throws(SystemError) -> FileStatus {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw SystemError("fstat", path: path, errno: errno) }
        return FileStatus(info)
    }
}
