#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

// Saving and resuming read positions.
extension Tailer {
    /// Resumes from positions saved by a previous run (``savedPositions()``). Call before the
    /// first ``poll()``; it applies to inputs found after it.
    ///
    /// For each path with a saved position, when its first file is opened:
    /// - the file at the path has the saved device, inode and fingerprint: read from the saved
    ///   offset (from 0 if the file is now shorter than that);
    /// - it has the saved device and inode but another fingerprint: the inode was reused by a
    ///   new file; read it from 0;
    /// - another file: the saved one was rotated while stopped. A sibling with the saved device
    ///   and inode (such as `0.log.20240101-120000`) and a matching fingerprint is read from the
    ///   saved offset, then any generations after it, then the current file from 0. A rotated
    ///   file already compressed (`.gz`) is a new inode and cannot be matched: that is reported,
    ///   and whatever it held past the saved offset is not read, unless it is a kubelet generation
    ///   (`<N>.log.<YYYYMMDD-HHMMSS>.gz`): then it is found by its decompressed first bytes and
    ///   read from the saved offset, with the generations after it.
    ///
    /// Once resuming, every file without a saved position is read from its head: it appeared
    /// while stopped (``TailerConfiguration/startPosition`` is for the first start only).
    public func resume(from positions: [SavedPosition]) {
        var byPath = resumePositions ?? [:]
        for position in positions { byPath[position.path] = position }
        resumePositions = byPath
    }

    /// Where each input's reading stands, to save and pass to ``resume(from:)`` after a
    /// restart. Taken between turns, it matches exactly the bytes delivered so far; see
    /// ``SavedPosition`` for why offsets stop at the last newline. For an input in the middle
    /// of a rotation this is the older file (read first after a restart too). FIFOs and inputs
    /// with no file open have none.
    ///
    /// - Parameter rewind: per input, how many bytes before its last newline reading must go
    ///   back to (the caller still holds them as an unfinished multi-line record). Applied when
    ///   they are all in the current file; otherwise the position stays at the newline.
    public func savedPositions(rewinding rewind: (InputID) -> Int64 = { _ in 0 }) -> [SavedPosition] {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let savedAt = Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
        return inputs.compactMap { input in
            guard !input.isReleased, let file = input.generations.first, file.kind == .regular else { return nil }
            let back = rewind(input.id)
            let offset = back > 0 && back <= file.lineStartOffset ? file.lineStartOffset - back : file.lineStartOffset
            return SavedPosition(
                path: input.path, identity: file.identity, offset: offset,
                previous: input.lastIdentity?.fingerprint, savedAt: savedAt)
        }
    }

    /// The files an input starts with, positioned: usually just `current` (from its head, or
    /// its tail at the first start), or a saved position's file and what came after it.
    func initialGenerations(for input: FollowedInput, current: FileWatcher, now: MonotonicInstant) -> [FileWatcher] {
        let found = resumePositions?[input.path] ?? resumePositions?[input.canonicalPath]
        // Used once: a path released and discovered again later in this run is a new file.
        resumePositions?[input.path] = nil
        resumePositions?[input.canonicalPath] = nil
        guard let saved = found, saved.offset >= 0,
            (0...Fingerprint.maximumLength).contains(saved.fingerprintLength)
        else {
            if input.startsAtTail {
                do {
                    current.seekToTail(size: try current.status().size)
                } catch {
                    report(error, for: input)  // and read from the head: nothing is skipped
                }
            }
            return [current]
        }
        let wanted = saved.identity
        if current.key == wanted.key && wanted.sameBirth(as: current.identity) {
            do {
                let size = try current.status().size
                if try wanted.fingerprint.matches(descriptor: current.descriptor, path: current.path) {
                    // Shorter than the saved offset: truncated while stopped; from 0.
                    if saved.offset <= size { current.seek(to: saved.offset, lineStart: true) }
                    return [current]
                }
            } catch {
                report(error, for: input)
                return [current]
            }
            // Another fingerprint: the saved file is gone and a new one got its inode (files
            // come and go fast under rotation). The saved file may still be found rotated, or
            // compressed, like any other rotated while stopped.
        }
        // Rotated while stopped: look for the saved file under a rotated name.
        do {
            if let found = try rotatedSiblings(of: input.canonicalPath).first(where: { $0.status.key == wanted.key }) {
                let old = try FileWatcher.open(path: found.path)
                if old.key == wanted.key, wanted.sameBirth(as: old.identity),
                    try wanted.fingerprint.matches(descriptor: old.descriptor, path: old.path)
                {
                    old.seek(to: min(saved.offset, found.status.size), lineStart: true)
                    // Generations between are found relative to the old file, as in a rotation.
                    adopt(old, by: input)
                    let between = generationsBetween(input, excluding: current.key)
                    input.generations.removeAll()
                    owners[old.key] = nil
                    return [old] + between + [current]
                }
            }
        } catch {
            report(error, for: input)
        }
        if let catchUp = compressedCatchUp(for: input, saved: saved) {
            // Every uncompressed rotated file is newer than a compressed one.
            input.pendingCatchUp = catchUp
            input.lastFinishedModificationTime = .min
            return generationsBetween(input, excluding: current.key) + [current]
        }
        report(
            SystemError(
                "resume", path: input.path, errno: ENOENT,
                reason: "the file read up to offset \(saved.offset) (\(wanted)) is no longer there, uncompressed "
                    + "or as a kubelet .gz; reading the current file from its head"), for: input)
        return [current]
    }
}
