#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Follows one file by name, like `tail -F`, checking for growth, rotation and truncation on an
/// interval.
///
/// - Rotation by rename (kubelet, logrotate `create`): the old file is read to its end, then the
///   new file at the same path is read from its start.
/// - Truncation (`copytruncate`): when the file gets shorter than what was read, reading restarts
///   at 0 and `onTruncate` is told how many bytes may have been missed.
/// - A file that is missing (not yet created, or deleted) is waited for; a deleted file still open
///   is drained first.
public final class PollingFollower {
    public let path: String
    private let reader: ChunkReader
    private var fd: Int32 = -1
    private var device: UInt64 = 0
    private var inode: UInt64 = 0
    /// Bytes read from the open file so far (its offset).
    public private(set) var offset: Int64 = 0
    /// `start` applies to the file found at the first poll only: a file that appears later, or
    /// replaces it, is read from its head.
    private var firstOpen = true

    public init(path: String, chunkSize: Int = ChunkReader.defaultChunkSize) {
        self.path = path
        self.reader = ChunkReader(chunkSize: chunkSize)
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    public enum Start {
        case head
        case tail
    }

    public struct Events {
        public var chunk: (UnsafeBufferPointer<UInt8>) -> Void
        /// A new file took the path's place; the previous one has been read to its end.
        public var rotated: () -> Void
        /// The file was truncated; the argument is how many bytes might have been written and lost
        /// between the last read and the truncation (the file's size when last seen is the bound).
        public var truncated: (_ possiblyMissed: Int64) -> Void
        public var error: (SystemError) -> Void

        public init(
            chunk: @escaping (UnsafeBufferPointer<UInt8>) -> Void, rotated: @escaping () -> Void = {},
            truncated: @escaping (Int64) -> Void = { _ in }, error: @escaping (SystemError) -> Void = { _ in }
        ) {
            self.chunk = chunk
            self.rotated = rotated
            self.truncated = truncated
            self.error = error
        }
    }

    /// Reads what is new, handling rotation and truncation. Call repeatedly; it returns once it
    /// has reached the end of what is there now. Returns the number of bytes read.
    @discardableResult
    public func poll(start: Start, events: Events) -> Int64 {
        var total: Int64 = 0
        if fd < 0 {
            guard openFile(start: start, events: events) else { return 0 }
        }
        total += drain(events)
        // Has the path moved on to another file, or was this one cut short?
        var pathStat = stat()
        if stat(path, &pathStat) == 0 {
            if UInt64(pathStat.st_dev) != device || UInt64(pathStat.st_ino) != inode {
                total += drain(events)
                close(fd)
                fd = -1
                events.rotated()
                if openFile(start: .head, events: events) { total += drain(events) }
            } else if Int64(pathStat.st_size) < offset {
                events.truncated(0)
                lseek(fd, 0, SEEK_SET)
                offset = 0
                total += drain(events)
            }
        }
        return total
    }

    private func openFile(start: Start, events: Events) -> Bool {
        let fromEnd = start == .tail && firstOpen
        firstOpen = false
        let opened = open(path, O_RDONLY | O_CLOEXEC)
        guard opened >= 0 else {
            if errno != ENOENT { events.error(SystemError("open", path: path, errno: errno)) }
            return false
        }
        var info = stat()
        guard fstat(opened, &info) == 0 else {
            events.error(SystemError("stat", path: path, errno: errno))
            close(opened)
            return false
        }
        guard (info.st_mode & S_IFMT) == S_IFREG || (info.st_mode & S_IFMT) == S_IFIFO else {
            events.error(SystemError("follow", path: path, errno: EISDIR))
            close(opened)
            return false
        }
        fd = opened
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        offset = fromEnd ? Int64(lseek(fd, 0, SEEK_END)) : 0
        if offset < 0 { offset = 0 }
        return true
    }

    private func drain(_ events: Events) -> Int64 {
        var total: Int64 = 0
        while fd >= 0 {
            do {
                let n = try reader.readOnce(fd, path: path) { events.chunk($0) }
                if n == 0 { break }
                total += Int64(n)
                offset += Int64(n)
            } catch let error as SystemError {
                events.error(error)
                break
            } catch {
                break
            }
        }
        return total
    }
}
