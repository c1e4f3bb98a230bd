import CByteScan
import CFileBirth

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// One open file that an input reads: a generation of the path it follows.
///
/// The watcher owns the descriptor and the read position; it has no buffer of its own (reads go
/// into the tailer's one buffer). Holding the descriptor is what lets a renamed or deleted file
/// be drained: its inode lives until the last descriptor is closed.
final class FileWatcher {
    let descriptor: Int32
    let key: FileKey
    let kind: FileStatus.Kind
    /// Where the file was last seen: the followed path, or its rotated name once found.
    var path: String
    private(set) var fingerprint: Fingerprint
    /// False while the file is too short for its fingerprint to be final.
    private(set) var fingerprintIsComplete: Bool
    /// Position in the file: every byte before it has been delivered or skipped.
    private(set) var offset: Int64 = 0
    /// Position just after the last newline delivered (or any position known to start a line):
    /// the offset to save, so that a restart reads an unfinished line whole.
    private(set) var lineStartOffset: Int64 = 0
    /// Whether `offset` is at the start of a line (the last byte consumed was a newline, or
    /// nothing was consumed): NUL padding is skipped only there.
    private var atLineStart = true
    /// The largest size seen since the file was opened or last truncated.
    var largestSize: Int64
    /// Modification time when last checked (orders generations).
    var modificationTime: Int64
    /// Set once the file is known to be deleted (no links left).
    var isDeleted = false
    /// kubelet generations that came after this file and were compressed before the tailer
    /// opened them, to read once this file is finished.
    var compressedAfter: [String] = []
    /// When reading first found nothing new, for the rotation wait; nil while data flows.
    var idleSince: MonotonicInstant?

    /// When the file was created (nanoseconds since the epoch), if the file system says.
    let birth: Int64?

    var identity: FileIdentity {
        FileIdentity(device: key.device, inode: key.inode, fingerprint: fingerprint, birth: birth)
    }

    /// Bytes known to be in the file and not read yet.
    var lag: Int64 { kind == .regular ? max(0, largestSize - offset) : 0 }

    private init(descriptor: Int32, path: String, status: FileStatus, fingerprint: Fingerprint, complete: Bool) {
        self.descriptor = descriptor
        self.path = path
        self.key = status.key
        self.kind = status.kind
        self.fingerprint = fingerprint
        self.fingerprintIsComplete = complete
        self.largestSize = status.size
        self.modificationTime = status.modificationTime
        let birth = cfilebirth_nanoseconds(descriptor)
        self.birth = birth >= 0 ? birth : nil
    }

    deinit {
        closeDescriptor(descriptor)
    }

    /// Opens `path` for following. Only regular files and FIFOs are accepted: a directory or a
    /// device is refused with an error naming what it is.
    static func open(path: String) throws(SystemError) -> FileWatcher {
        let fd = openForFollowing(path)
        guard fd >= 0 else { throw SystemError("open", path: path, errno: errno) }
        let status: FileStatus
        do {
            status = try FileStatus.of(descriptor: fd, path: path)
        } catch {
            closeDescriptor(fd)
            throw error
        }
        switch status.kind {
        case .regular:
            do {
                let (fingerprint, complete) = try Fingerprint.read(descriptor: fd, path: path)
                return FileWatcher(
                    descriptor: fd, path: path, status: status, fingerprint: fingerprint, complete: complete)
            } catch {
                closeDescriptor(fd)
                throw error
            }
        case .fifo:
            // A FIFO is a stream: nothing to fingerprint, no size, no rotation by content.
            return FileWatcher(
                descriptor: fd, path: path, status: status, fingerprint: Fingerprint(length: 0, hash: 0), complete: true
            )
        case .directory, .other:
            closeDescriptor(fd)
            throw SystemError(
                "open", path: path, errno: status.kind == .directory ? EISDIR : EINVAL,
                reason: "is a \(status.kind.name), not a file to follow")
        }
    }

    /// Fresh `fstat` of the open file.
    func status() throws(SystemError) -> FileStatus {
        try FileStatus.of(descriptor: descriptor, path: path)
    }

    /// Moves the read position without reading (start at tail, resume). `lineStart` says whether
    /// a line is known to start there.
    func seek(to position: Int64, lineStart: Bool) {
        offset = position
        atLineStart = lineStart
        if lineStart { lineStartOffset = position }
    }

    /// Positions at the end of the file, or at the start of its unfinished last line: the last
    /// newline is looked for in the final 64 KiB; if there is none there, reading starts at the
    /// end and the unfinished line's head is not delivered.
    func seekToTail(size: Int64) {
        guard kind == .regular, size > 0 else { return seek(to: 0, lineStart: true) }
        let window = Int(min(size, 64 * 1024))
        var lineStart: Int64?
        withUnsafeTemporaryAllocation(byteCount: window, alignment: 16) { buffer in
            let n = preadRetrying(descriptor, buffer.baseAddress!, window, size - Int64(window))
            guard n > 0 else { return }
            let bytes = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
            if let newline = bytes.lastIndex(of: UInt8(ascii: "\n")) {
                lineStart = size - Int64(window) + Int64(newline) + 1
            }
        }
        if let lineStart {
            seek(to: lineStart, lineStart: true)
        } else if size == Int64(window) {
            // The whole file is one unfinished line: it starts at 0.
            seek(to: 0, lineStart: true)
        } else {
            seek(to: size, lineStart: false)
        }
    }

    /// Takes over another file's read position (a copy of it), so that reading goes on where
    /// the other stopped, in the same line.
    func continueReading(from other: FileWatcher) {
        offset = other.offset
        atLineStart = other.atLineStart
        lineStartOffset = other.lineStartOffset
    }

    /// Back to the first byte after a truncation; the fingerprint is taken again from the new
    /// content.
    func restart(size: Int64) throws(SystemError) {
        seek(to: 0, lineStart: true)
        largestSize = size
        guard kind == .regular else { return }
        let fresh = try Fingerprint.read(descriptor: descriptor, path: path)
        fingerprint = fresh.fingerprint
        fingerprintIsComplete = fresh.isComplete
    }

    /// Whether the file no longer starts with the bytes it started with: it was truncated and
    /// written again past the old read position before the shrink could be seen. A provisional
    /// fingerprint is extended on the way when it still matches.
    func contentWasReplaced() throws(SystemError) -> Bool {
        guard kind == .regular, fingerprint.length > 0 || !fingerprintIsComplete else { return false }
        if fingerprintIsComplete {
            return try !fingerprint.matches(descriptor: descriptor, path: path)
        }
        let old = fingerprint
        let replaced: Bool = try Fingerprint.withPrefix(descriptor: descriptor, path: path) { prefix in
            guard old.matches(prefix: prefix) else { return true }
            let fresh = Fingerprint.of(prefix: prefix)
            fingerprint = fresh.fingerprint
            fingerprintIsComplete = fresh.isComplete
            return false
        }
        return replaced
    }

    /// What one ``read(into:budget:deliver:)`` did.
    struct ReadOutcome {
        /// Bytes the position moved: delivered plus skipped.
        var consumed: Int64 = 0
        var delivered: Int64 = 0
        /// NUL padding and holes skipped at line starts.
        var skipped: Int64 = 0
        var lines: Int64 = 0
        /// The last read found nothing more (end of file, or an empty FIFO).
        var reachedEnd = false
        var error: SystemError?
    }

    /// Reads up to `budget` bytes into `buffer`, handing each chunk to `deliver`.
    ///
    /// A regular file is read with `pread` at ``offset``; a short read means the end of what is
    /// there now, which saves the extra `read` returning 0. A FIFO is read with `read`, and
    /// EAGAIN (no data, writer present) is its end.
    ///
    /// Runs of NUL bytes that start at a line start are skipped and counted, not delivered:
    /// they are never log content, and they are what a writer that does not append leaves
    /// after a truncation (it goes on writing at its old offset, and the file reads as zeros up
    /// to there) and what a sparse file is made of. A long run is jumped over with
    /// `SEEK_DATA`, so a 10 GB hole costs one system call, not 10 GB of reads.
    func read(
        into buffer: UnsafeMutableRawBufferPointer, budget: Int, deliver: (UnsafeBufferPointer<UInt8>) -> Void
    ) -> ReadOutcome {
        var outcome = ReadOutcome()
        var remaining = budget
        let base = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
        while remaining > 0 {
            let wanted = min(buffer.count, remaining)
            let n =
                kind == .regular
                ? preadRetrying(descriptor, buffer.baseAddress!, wanted, offset)
                : readRetrying(descriptor, buffer.baseAddress!, wanted)
            if n < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK {
                    outcome.reachedEnd = true
                } else {
                    outcome.error = SystemError(kind == .regular ? "pread" : "read", path: path, errno: errno)
                }
                return outcome
            }
            if n == 0 {
                outcome.reachedEnd = true
                return outcome
            }
            remaining -= n
            if !fingerprintIsComplete && kind == .regular {
                updateFingerprint(chunkAt: offset, UnsafeRawBufferPointer(start: base, count: n))
            }
            let endedInPadding = consume(UnsafeBufferPointer(start: base, count: n), &outcome, deliver)
            if endedInPadding && n == wanted { skipHole(&outcome) }
            if kind == .regular && n < wanted {
                outcome.reachedEnd = true
                return outcome
            }
        }
        return outcome
    }

    /// Keeps a provisional fingerprint in step with what is read, so that it always covers the
    /// bytes already delivered: a truncation followed by new content would otherwise match an
    /// empty or short fingerprint and go unnoticed. A chunk read at 0 holds the head itself;
    /// otherwise (a file that was still shorter than a line) the head is read again.
    private func updateFingerprint(chunkAt position: Int64, _ chunk: UnsafeRawBufferPointer) {
        if position == 0 {
            (fingerprint, fingerprintIsComplete) = Fingerprint.of(prefix: chunk)
        } else if let fresh = try? Fingerprint.read(descriptor: descriptor, path: path) {
            // On failure the old fingerprint stays: the next check reads the head and reports.
            (fingerprint, fingerprintIsComplete) = fresh
        }
    }

    /// Delivers `chunk` minus NUL runs at line starts; returns whether it ended inside such a run.
    private func consume(
        _ chunk: UnsafeBufferPointer<UInt8>, _ outcome: inout ReadOutcome,
        _ deliver: (UnsafeBufferPointer<UInt8>) -> Void
    ) -> Bool {
        let base = chunk.baseAddress!
        let count = chunk.count
        var segmentStart = 0
        var searchFrom = 0
        var endedInPadding = false
        while searchFrom < count, let found = memchr(base + searchFrom, 0, count - searchFrom) {
            let nul = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
            let startsLine = nul == segmentStart ? (segmentStart == 0 ? atLineStart : true) : base[nul - 1] == 0x0A
            guard startsLine else {
                searchFrom = nul + 1
                continue
            }
            emit(UnsafeBufferPointer(rebasing: chunk[segmentStart..<nul]), &outcome, deliver)
            var end = nul
            while end < count && base[end] == 0 { end += 1 }
            outcome.skipped += Int64(end - nul)
            outcome.consumed += Int64(end - nul)
            offset += Int64(end - nul)
            atLineStart = true
            lineStartOffset = offset
            segmentStart = end
            searchFrom = end
            endedInPadding = end == count
        }
        if segmentStart < count {
            emit(UnsafeBufferPointer(rebasing: chunk[segmentStart..<count]), &outcome, deliver)
        }
        return endedInPadding
    }

    private func emit(
        _ segment: UnsafeBufferPointer<UInt8>, _ outcome: inout ReadOutcome,
        _ deliver: (UnsafeBufferPointer<UInt8>) -> Void
    ) {
        guard !segment.isEmpty else { return }
        deliver(segment)
        // Vector compares: a byte-at-a-time loop here cost a quarter of a busy reader's time.
        let lines = Int64(cbytescan_count_byte(segment.baseAddress!, segment.count, 0x0A))
        if lines > 0, let last = segment.lastIndex(of: 0x0A) {
            lineStartOffset = offset + Int64(last) + 1
        }
        outcome.lines += lines
        outcome.delivered += Int64(segment.count)
        outcome.consumed += Int64(segment.count)
        offset += Int64(segment.count)
        atLineStart = segment[segment.count - 1] == 0x0A
    }

    /// After a full buffer of padding, jumps to the next data with `SEEK_DATA`. ENXIO means no
    /// data follows: the rest of the file (as big as it is now) is a hole. File systems without
    /// `SEEK_DATA` answer EINVAL; then the zeros are simply read.
    private func skipHole(_ outcome: inout ReadOutcome) {
        #if os(Linux)
            guard kind == .regular else { return }
            // SEEK_DATA is 3 in <linux/fs.h>; Glibc's Swift module leaves it out (it is behind
            // _GNU_SOURCE in <unistd.h>).
            let seekData: Int32 = 3
            let next = lseek(descriptor, off_t(offset), seekData)
            var target = Int64(next)
            if next < 0 {
                guard errno == ENXIO, let size = try? status().size else { return }
                target = size
            }
            guard target > offset else { return }
            outcome.skipped += target - offset
            outcome.consumed += target - offset
            offset = target
            lineStartOffset = target
        #endif
    }
}
