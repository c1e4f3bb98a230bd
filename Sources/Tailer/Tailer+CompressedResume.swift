import CByteScan

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
        let paths = compressed.map { joinPath(directory, $0) }
        let wanted = saved.identity.fingerprint
        if wanted.length > 0 {
            // Newest first: if two generations began alike, replaying fewer is the safer mistake.
            guard let index = paths.indices.reversed().first(where: { Self.begins(paths[$0], with: wanted) })
            else { return nil }
            return CompressedCatchUp(files: Array(paths[index...]), skip: saved.offset)
        }
        // The file was empty when saved, so its fingerprint matches anything: find it as the
        // generation after the one read before it...
        if let previous = saved.previousFingerprint, previous.length > 0 {
            guard let index = paths.indices.reversed().first(where: { Self.begins(paths[$0], with: previous) })
            else { return nil }
            return CompressedCatchUp(files: Array(paths[(index + 1)...]), skip: 0)
        }
        // ...or, when it was the input's first, as what was compressed after the position was
        // taken: no file written later can have been read.
        guard let savedAt = saved.savedAt else { return nil }
        let cutoff = Int64(savedAt * 1e9)
        let later = paths.filter { ((try? FileStatus.of(path: $0))?.modificationTime ?? 0) > cutoff }
        return later.isEmpty ? nil : CompressedCatchUp(files: later, skip: 0)
    }

    /// At a rotation noticed late: kubelet generations rotated after `older` (an open file, now
    /// under its rotated name) and before `newer`, already compressed, so that no uncompressed
    /// sibling holds them. They are read once `older` is finished. Generations already read
    /// (by fingerprint) are left out.
    func noteCompressedGenerations(after older: FileWatcher?, before newer: FileWatcher, of input: FollowedInput) {
        guard let older else { return }
        let directory = directoryName(input.canonicalPath)
        let base = baseName(input.canonicalPath)
        guard let names = try? directoryEntries(directory) else { return }
        // The older file's rotated name; if it was compressed too (it is still open, so still
        // readable), the compressed file that begins like it tells its timestamp.
        var olderStamp = KubernetesLogPath.rotationSuffix(of: baseName(older.path))
        if olderStamp == nil, older.fingerprint.length > 0 {
            olderStamp =
                names.filter { $0.hasPrefix(base + ".") && $0.hasSuffix(".gz") }
                .first { Self.begins(joinPath(directory, $0), with: older.fingerprint) }
                .flatMap { KubernetesLogPath.rotationSuffix(of: String($0.dropLast(3))) }
        }
        guard let olderStamp else { return }
        let newerStamp = KubernetesLogPath.rotationSuffix(of: baseName(newer.path))
        let finished = input.finishedFingerprints + [older.fingerprint]
        let missed = names.filter { name in
            guard name.hasPrefix(base + ".") && name.hasSuffix(".gz"),
                let stamp = KubernetesLogPath.rotationSuffix(of: String(name.dropLast(3)))
            else { return false }
            return stamp > olderStamp && (newerStamp.map { stamp < $0 } ?? true)
        }.sorted().map { joinPath(directory, $0) }.filter { path in
            !finished.contains { $0.length > 0 && Self.begins(path, with: $0) }
        }
        older.compressedAfter += missed
    }

    /// Whether the decompressed start of the gzip file at `path` has `fingerprint`.
    static func begins(_ path: String, with fingerprint: Fingerprint) -> Bool {
        guard let prefix = decompressedPrefix(path, count: fingerprint.length), prefix.count == fingerprint.length
        else { return false }
        return prefix.withUnsafeBytes { fingerprint.matches(prefix: $0) }
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
                    input.counters.linesRead &+= UInt64(cbytescan_count_byte(bytes.baseAddress!, bytes.count, 0x0A))
                    events.read(bytes, from: id)
                }
                if let damage = summary.gzipError {
                    report(SystemError("gunzip", path: path, errno: EIO, reason: damage.message), for: input)
                }
                if summary.truncatedWhileRead {
                    report(
                        SystemError(
                            "read", path: path, errno: EIO,
                            reason: "truncated while it was read; the line the cut fell in may be counted as malformed"),
                        for: input)
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
