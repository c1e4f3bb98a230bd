#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

// Thin wrappers that retry on EINTR, so that callers only see real failures.

/// `read(2)` that retries on EINTR. Returns 0 at end of file, -1 with `errno` set on failure.
func readRetrying(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    while true {
        let n = read(fd, buffer, count)
        if n >= 0 || errno != EINTR { return n }
    }
}

/// `pread(2)` that retries on EINTR. Returns 0 at end of file, -1 with `errno` set on failure.
func preadRetrying(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int, _ offset: Int64) -> Int {
    while true {
        let n = pread(fd, buffer, count, off_t(offset))
        if n >= 0 || errno != EINTR { return n }
    }
}

/// `open(2)` for reading, retrying on EINTR. `O_NONBLOCK` keeps a FIFO without a writer from
/// blocking the open (and later reads); it changes nothing for regular files.
func openForFollowing(_ path: String) -> Int32 {
    while true {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        if fd >= 0 || errno != EINTR { return fd }
    }
}

/// Closes a descriptor this module opened. `close` can only fail here with EBADF (a bug) or
/// EINTR/EIO, after which Linux has released the descriptor anyway; retrying would risk closing
/// a descriptor another thread has just been given, so the result is deliberately ignored.
func closeDescriptor(_ fd: Int32) {
    _ = close(fd)
}

/// The directory part of `path` (`"."` when there is none), without a trailing slash.
func directoryName(_ path: String) -> String {
    guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return "." }
    if slash == path.utf8.startIndex { return "/" }
    return String(path[..<slash])
}

/// The last component of `path`.
func baseName(_ path: String) -> String {
    guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return path }
    return String(path[path.utf8.index(after: slash)...])
}

/// `directory + "/" + name`, without doubling the slash of `/`.
func joinPath(_ directory: String, _ name: String) -> String {
    directory.hasSuffix("/") ? directory + name : directory + "/" + name
}

/// `realpath(3)`: the absolute path with symbolic links, `.` and `..` resolved.
func canonicalPath(_ path: String) throws(SystemError) -> String {
    guard let resolved = realpath(path, nil) else { throw SystemError("realpath", path: path, errno: errno) }
    defer { free(resolved) }
    return String(cString: resolved)
}

/// `poll(2)` (a free function, so that `Tailer.poll()` does not shadow it). Returns what `poll`
/// returns: ready descriptors, 0 on timeout, -1 with `errno` set.
func pollDescriptors(_ descriptors: inout [pollfd], timeoutMilliseconds: Int32) -> Int32 {
    poll(&descriptors, nfds_t(descriptors.count), timeoutMilliseconds)
}
