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
        var inflater: GzipInflater?
        var decided = false
        var failed = false
        do {
            _ = try reader.readToEnd(fd, path: name) { chunk in
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
        } catch let error as SystemError {
            throw error
        } catch {
            // readToEnd only throws SystemError (its body does not throw).
            throw SystemError("read", path: name, errno: EIO)
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
}
