#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads a file descriptor in large chunks into one reused buffer.
///
/// Large reads keep system-call overhead per line negligible; the buffer is allocated once.
public final class ChunkReader {
    public static let defaultChunkSize = 256 * 1024

    private let buffer: UnsafeMutableRawBufferPointer

    public init(chunkSize: Int = defaultChunkSize) {
        buffer = .allocate(byteCount: chunkSize, alignment: 16)
    }

    deinit {
        buffer.deallocate()
    }

    /// Reads what is available from `fd` (one `read`), calling `body` with the bytes. Returns the
    /// number of bytes read: 0 at end of file.
    public func readOnce(_ fd: Int32, path: String, _ body: (UnsafeBufferPointer<UInt8>) throws -> Void) throws -> Int {
        let n = readRetrying(fd, buffer.baseAddress!, buffer.count)
        if n < 0 { throw SystemError("read", path: path, errno: errno) }
        if n > 0 {
            try body(UnsafeBufferPointer(start: buffer.baseAddress!.assumingMemoryBound(to: UInt8.self), count: n))
        }
        return n
    }

    /// Reads `fd` to its end, calling `body` with each chunk.
    public func readToEnd(_ fd: Int32, path: String, _ body: (UnsafeBufferPointer<UInt8>) throws -> Void) throws
        -> UInt64
    {
        var total: UInt64 = 0
        while true {
            let n = try readOnce(fd, path: path, body)
            if n == 0 { return total }
            total &+= UInt64(n)
        }
    }
}

/// Opens `path` for reading (`-` is standard input).
public func openForReading(_ path: String) throws -> Int32 {
    if path == "-" { return STDIN_FILENO }
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    if fd < 0 { throw SystemError("open", path: path, errno: errno) }
    return fd
}
