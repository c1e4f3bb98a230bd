#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

// Resuming into files that were rotated and compressed while the tailer was stopped.
//
// kubelet keeps the newest rotated file of a container as it is and gzips the older ones at its
// next rotation, so a busy container rotated twice while logmetrics restarts has the file that
// was being read only as `<N>.log.<YYYYMMDD-HHMMSS>.gz`: a new inode, which the saved position
// cannot name. Its decompressed bytes are the old file's bytes, though, so it is recognised by
// the saved fingerprint and read from the saved offset, followed by the compressed generations
// after it (their timestamps order them), then the uncompressed ones, then the current file.
extension Tailer {
    /// Compressed generations of one input to read before its open files, the first from an
    /// offset.
    struct CompressedCatchUp {
        var files: [String]
        var skip: Int64
    }

    /// The compressed kubelet generations from the one holding `saved`'s file on, or nil when
    /// none matches its fingerprint.
    func compressedCatchUp(for input: FollowedInput, saved: SavedPosition) -> CompressedCatchUp? {
        let directory = directoryName(input.canonicalPath)
        let base = baseName(input.canonicalPath)
        guard let names = try? directoryEntries(directory) else { return nil }
        // kubelet's timestamps sort as text in time order.
        let compressed = names.filter { name in
            name.hasPrefix(base + ".") && name.hasSuffix(".gz")
                && KubernetesLogPath.rotationSuffix(of: String(name.dropLast(3))) != nil
        }.sorted()
        let wanted = saved.identity.fingerprint
        // An empty fingerprint (the file was empty when saved) matches anything: no evidence.
        guard wanted.length > 0 else { return nil }
        // Newest first: if two generations began alike, replaying fewer is the safer mistake.
        for (index, name) in compressed.enumerated().reversed() {
            let path = joinPath(directory, name)
            if let prefix = Self.decompressedPrefix(path, count: wanted.length), prefix.count == wanted.length,
                prefix.withUnsafeBytes({ wanted.matches(prefix: $0) })
            {
                return CompressedCatchUp(
                    files: compressed[index...].map { joinPath(directory, $0) }, skip: saved.offset)
            }
        }
        return nil
    }

    /// The first `count` decompressed bytes of a gzip file (fewer if it is shorter).
    static func decompressedPrefix(_ path: String, count: Int) -> [UInt8]? {
        guard count > 0 else { return [] }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { closeDescriptor(fd) }
        guard let inflater = try? GzipInflater(path: path, outputChunkSize: 64 * 1024) else { return nil }
        var prefix: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while prefix.count < count {
            let n = chunk.withUnsafeMutableBytes { readRetrying(fd, $0.baseAddress!, $0.count) }
            guard n > 0 else { break }
            let failed = chunk.withUnsafeBytes { bytes -> Bool in
                do throws(GzipReadError) {
                    try inflater.feed(UnsafeRawBufferPointer(rebasing: bytes[0..<n])) { prefix += $0 }
                    return false
                } catch {
                    return true
                }
            }
            if failed { return nil }
        }
        return Array(prefix.prefix(count))
    }

    /// Reads the catch-up's files through to the events, each followed by `endOfFile`.
    func deliver(_ catchUp: CompressedCatchUp, to input: FollowedInput) {
        let reader = LogFileReader(chunkSize: 256 * 1024)
        let id = input.id
        let events = self.events
        var skip = catchUp.skip
        for path in catchUp.files {
            do {
                let summary = try reader.read(path: path) { chunk in
                    var bytes = chunk
                    if skip > 0 {
                        let dropped = min(Int64(bytes.count), skip)
                        skip -= dropped
                        bytes = UnsafeBufferPointer(rebasing: bytes[Int(dropped)...])
                    }
                    guard !bytes.isEmpty else { return }
                    input.counters.bytesRead &+= UInt64(bytes.count)
                    var lines: UInt64 = 0
                    for byte in bytes where byte == 0x0A { lines &+= 1 }
                    input.counters.linesRead &+= lines
                    events.read(bytes, from: id)
                }
                if let damage = summary.gzipError {
                    report(SystemError("gunzip", path: path, errno: EIO, reason: damage.message), for: input)
                }
            } catch {
                report(error, for: input)
            }
            skip = 0
            events.endOfFile(id)
            input.counters.rotations &+= 1
        }
        statisticsDirty = true
    }
}
