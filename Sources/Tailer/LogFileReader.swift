import CMappedFile

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads whole log files once, for `report` and backfill: plain text as it is, gzip (kubelet's
/// rotated `.gz`, `logrotate compress`) decompressed on the fly.
///
/// Compression is recognised by the gzip magic bytes at the start, not by the name, so standard
/// input and misnamed files work too. One reader holds one read buffer and, once it has met a
/// gzip file, one inflate output buffer; it can read any number of files one after another.
///
/// Plain regular files of a megabyte or more are mapped window by window instead of copied
/// into the buffer: the page cache is the buffer, which saves the kernel's copy of every byte
/// (a tenth of the CPU time of `report`). A file truncated while it is read ends where it was
/// cut, as it would for `read(2)`; see `CMappedFile.h` for how that is survived.
public final class LogFileReader {
    private let reader: ChunkReader
    private let chunkSize: Int

    public init(chunkSize: Int = ChunkReader.defaultChunkSize) {
        self.chunkSize = chunkSize
        self.reader = ChunkReader(chunkSize: chunkSize)
    }

    /// What reading one file found.
    public struct Summary: Sendable {
        /// Bytes read from the file (compressed bytes, for gzip).
        public var fileBytes: Int64 = 0
        /// Bytes delivered (decompressed bytes, for gzip).
        public var deliveredBytes: Int64 = 0
        public var wasCompressed = false
        /// For a damaged gzip file: where and how. Everything before the damage was delivered.
        public var gzipError: GzipReadError?
        /// The file was cut short while bytes already handed on were being read: those past the
        /// cut read as zeros (a mapped read; with read(2) they would have been the old bytes).
        public var truncatedWhileRead = false
    }

    /// Reads `path` (`-` is standard input) to its end, calling `body` with each chunk.
    ///
    /// - Throws: ``SystemError`` when the file cannot be opened or read. A damaged gzip stream is
    ///   not thrown: it ends the file and is returned in ``Summary/gzipError``, after every byte
    ///   inflated before it was delivered (so its complete lines are still counted).
    public func read(path: String, _ body: (UnsafeBufferPointer<UInt8>) -> Void) throws(SystemError) -> Summary {
        let name = path == "-" ? "standard input" : path
        let fd: Int32
        if path == "-" {
            fd = STDIN_FILENO
        } else {
            fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw SystemError("open", path: path, errno: errno) }
        }
        defer { if fd != STDIN_FILENO { closeDescriptor(fd) } }
        return try read(descriptor: fd, name: name, body)
    }

    /// Reads an open descriptor to its end; `name` names it in errors.
    public func read(
        descriptor fd: Int32, name: String, _ body: (UnsafeBufferPointer<UInt8>) -> Void
    ) throws(SystemError) -> Summary {
        var summary = Summary()
        if try readMapped(fd, name: name, &summary, body) { return summary }
        var inflater: GzipInflater?
        var decided = false
        var failed = false
        try readChunks(fd, name: name) { chunk in
            summary.fileBytes += Int64(chunk.count)
            if !decided {
                decided = true
                // 1f 8b: the gzip magic. A first read shorter than 2 bytes is a tiny file,
                // which cannot be gzip anyway.
                if chunk.count >= 2 && chunk[0] == 0x1f && chunk[1] == 0x8b {
                    summary.wasCompressed = true
                    do throws(GzipReadError) {
                        inflater = try GzipInflater(path: name, outputChunkSize: chunkSize)
                    } catch {
                        summary.gzipError = error
                        failed = true
                    }
                }
            }
            guard !failed else { return }
            if let inflater {
                do throws(GzipReadError) {
                    try inflater.feed(UnsafeRawBufferPointer(chunk)) { decompressed in
                        summary.deliveredBytes += Int64(decompressed.count)
                        body(decompressed)
                    }
                } catch {
                    summary.gzipError = error
                    failed = true
                }
            } else {
                summary.deliveredBytes += Int64(chunk.count)
                body(chunk)
            }
        }
        if let inflater, !failed {
            do {
                try inflater.finish()
            } catch {
                summary.gzipError = error
            }
        }
        return summary
    }

    /// Files smaller than this are read; mapping them gains nothing measurable.
    static let mappingThreshold: Int64 = 1 << 20
    /// The bytes mapped at a time (the resident memory a mapped read adds), and the bytes made
    /// sure of (every page touched) before they are handed on; smaller in tests.
    var windowSize = 16 << 20
    var sliceSize = 1 << 20
    /// Lets tests change the file around each slice's touch.
    var hooks: MappedSliceHooks?

    /// Reads a plain regular file from the descriptor's offset to its end through windows mapped
    /// one after another. Returns false, having read nothing, when the descriptor is not such a
    /// file or cannot be mapped; the caller then reads it.
    private func readMapped(
        _ fd: Int32, name: String, _ summary: inout Summary, _ body: (UnsafeBufferPointer<UInt8>) -> Void
    ) throws(SystemError) -> Bool {
        var status = stat()
        guard fstat(fd, &status) == 0, status.st_mode & S_IFMT == S_IFREG,
            Int64(status.st_size) >= Self.mappingThreshold
        else { return false }
        let start = Int64(lseek(fd, 0, SEEK_CUR))
        guard start >= 0 else { return false }
        // gzip (1f 8b) is inflated by the reading path; it is never mapped.
        var magic: (UInt8, UInt8) = (0, 0)
        if pread(fd, &magic, 2, off_t(start)) == 2 && magic == (0x1f, 0x8b) { return false }
        let page = Int64(sysconf(Int32(_SC_PAGESIZE)))
        // A window that cannot hold a page past a mid-page start would never advance.
        precondition(
            Int64(windowSize) >= page && sliceSize > 0, "mapped read: window \(windowSize), slice \(sliceSize)")
        var position = start
        var size = Int64(status.st_size)
        var first = true
        reading: while position < size {
            let windowStart = position - position % page
            let length = Int(min(Int64(windowSize), size - windowStart))
            var window = cmapped_window()
            guard cmapped_map(fd, off_t(windowStart), length, &window) == 0 else {
                if first { return false }
                // Out of windows or address space mid-file: the rest is read instead.
                try readRest(fd, from: position, name: name, &summary, body)
                return true
            }
            first = false
            defer { cmapped_unmap(&window) }
            var from = Int(position - windowStart)
            while from < length {
                let to = min(length, from + sliceSize)
                let slice = MappedSlice(&window, start: windowStart, from: from, to: to, descriptor: fd, hooks: hooks)
                let end = slice.end
                if end > from {
                    let bytes = UnsafeBufferPointer(start: window.base + from, count: end - from)
                    summary.fileBytes += Int64(bytes.count)
                    summary.deliveredBytes += Int64(bytes.count)
                    body(bytes)
                }
                position = windowStart + Int64(end)
                switch slice.afterwards(&window, upTo: end) {
                case .intact: break
                case .cut:
                    summary.truncatedWhileRead = true
                    break reading
                case .failed:
                    // Its bytes were handed on as zeros, and no truncation explains it.
                    throw SystemError(
                        "read", path: name, errno: EIO,
                        reason:
                            "a page could not be read while its lines were (an I/O error); the lines before it are counted"
                    )
                }
                if end < to {
                    if slice.unreadable {
                        try readRest(fd, from: position, name: name, &summary, body)
                        return true
                    }
                    break reading
                }
                from = to
            }
            // A file that is still being written is read to the end it has now, as read(2) would.
            if position >= size, fstat(fd, &status) == 0 { size = Int64(status.st_size) }
        }
        _ = lseek(fd, off_t(position), SEEK_SET)
        return true
    }

    /// Reads the rest of a plain file from `position` with read(2).
    private func readRest(
        _ fd: Int32, from position: Int64, name: String, _ summary: inout Summary,
        _ body: (UnsafeBufferPointer<UInt8>) -> Void
    ) throws(SystemError) {
        _ = lseek(fd, off_t(position), SEEK_SET)
        try readChunks(fd, name: name) { chunk in
            summary.fileBytes += Int64(chunk.count)
            summary.deliveredBytes += Int64(chunk.count)
            body(chunk)
        }
    }

    /// `ChunkReader.readToEnd` with its error typed: it throws only `SystemError`, since `body`
    /// cannot throw.
    private func readChunks(
        _ fd: Int32, name: String, _ body: (UnsafeBufferPointer<UInt8>) -> Void
    ) throws(SystemError) {
        do {
            _ = try reader.readToEnd(fd, path: name, body)
        } catch let error as SystemError {
            throw error
        } catch {
            throw SystemError("read", path: name, errno: EIO)
        }
    }
}
