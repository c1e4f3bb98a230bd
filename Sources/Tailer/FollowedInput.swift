/// One followed path and the files that have had its name: the unit the caller sees as an input.
///
/// `generations` is the queue of open files in the order they had the name: the first is being
/// read; later ones (a rotation's new file, and any generation found between) wait until it is
/// drained. Reading them strictly in order keeps an input's bytes in the order they were written.
final class FollowedInput {
    let id: InputID
    /// The path as discovered (a glob match or a literal argument); followed by name.
    let path: String
    /// `path` with symbolic links resolved, where rotation actually happens; the key for inotify
    /// events (which name the real directory) and for spotting two names of one file.
    var canonicalPath: String
    let isLiteral: Bool
    let labels: [String: String]
    /// Whether the first file found is read from its end (present at the first scan, `--from
    /// tail`, not resuming).
    var startsAtTail: Bool

    var generations: [FileWatcher] = []
    /// Compressed generations found when resuming, read before `generations`.
    var pendingCatchUp: Tailer.CompressedCatchUp?
    /// `opened` has been reported.
    var announced = false
    /// The path currently names nothing to follow (missing, or not a file): an open file is
    /// drained and let go after the rotation wait.
    var pathMissing = false
    /// The path does not exist at all (as opposed to naming a directory or a symlink loop): a
    /// matched input with nothing open is then released. One that names something unreadable
    /// stays, so that it is reported once rather than found, reported and released at every scan.
    var pathGone = false

    // Scheduling, all on the tailer's thread.
    var needsCheck = true
    var needsRead = false
    /// The last read stopped at the budget, not at the end.
    var hasBacklog = false
    var nextCheck: MonotonicInstant
    /// Polling: the current interval, doubled while the file is idle.
    var checkInterval: Duration
    /// The current backoff after failures; nil once the input succeeds.
    var retryDelay: Duration?
    /// The last check failed and scheduled its retry.
    var backingOff = false
    var lastError: SystemError?
    var releaseRequested = false
    var isReleased = false

    /// Files of this input already read and closed, with their fingerprints, so that a rotated
    /// name still on disk is not taken for a new generation. The fingerprint tells such a file
    /// from a new one that got its inode after it was deleted. Bounded: kubelet keeps 5 files
    /// per container, logrotate a handful more, and older ones are excluded by modification
    /// time anyway.
    /// `size` is kept for files too short for a complete fingerprint: a few leading bytes
    /// could match a new file by chance, the same bytes *and* the same size hardly.
    private(set) var finished: [(key: FileKey, fingerprint: Fingerprint, size: Int64?)] = []
    /// The identity of the last file read, for status once nothing is open.
    var lastIdentity: FileIdentity?
    /// Modification time of the last file read to its end: files rotated after it while none
    /// was open are generations still to read.
    var lastFinishedModificationTime: Int64?
    var counters = InputCounters()

    init(
        id: InputID, path: String, canonicalPath: String, isLiteral: Bool, labels: [String: String],
        startsAtTail: Bool, now: MonotonicInstant, checkInterval: Duration
    ) {
        self.id = id
        self.path = path
        self.canonicalPath = canonicalPath
        self.isLiteral = isLiteral
        self.labels = labels
        self.startsAtTail = startsAtTail
        self.nextCheck = now
        self.checkInterval = checkInterval
    }

    /// In the middle of a rotation or a deletion: an old file is open that must be drained
    /// and then let go, which is decided on each read.
    var isDraining: Bool {
        generations.count > 1 || (!generations.isEmpty && (pathMissing || generations[0].isDeleted))
    }

    var wantsRead: Bool { !generations.isEmpty && (needsRead || hasBacklog || isDraining) }

    func isOpen(_ key: FileKey) -> Bool {
        generations.contains { $0.key == key }
    }

    /// Whether `file` is one this input has already read to its end.
    func hasFinished(_ file: FileWatcher) -> Bool {
        guard let entry = finished.last(where: { $0.key == file.key }) else { return false }
        if let size = entry.size, (try? file.status().size) != size { return false }
        // A prefix that cannot be read counts as a new file: reading twice beats never reading.
        return (try? entry.fingerprint.matches(descriptor: file.descriptor, path: file.path)) ?? false
    }

    /// Fingerprints of the files read and closed, newest last.
    var finishedFingerprints: [Fingerprint] { finished.map(\.fingerprint) }

    func rememberFinished(_ file: FileWatcher) {
        // A deleted file cannot come back: a file with its inode later is a new one.
        guard !file.isDeleted else { return }
        if finished.count == 16 { finished.removeFirst() }
        finished.append((file.key, file.fingerprint, file.fingerprintIsComplete ? nil : file.offset))
    }
}

/// Per-input counters, also summed into the tailer's totals.
struct InputCounters: Sendable {
    var bytesRead: UInt64 = 0
    var linesRead: UInt64 = 0
    var skippedBytes: UInt64 = 0
    var rotations: UInt64 = 0
    var truncations: UInt64 = 0
    var possiblyMissedBytes: UInt64 = 0
}
