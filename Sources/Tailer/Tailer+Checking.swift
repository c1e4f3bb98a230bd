#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

// Checking an input: has its file grown, shrunk, been deleted, or been replaced at its path?
extension Tailer {
    func check(_ input: FollowedInput, now: MonotonicInstant) {
        input.needsCheck = false
        input.backingOff = false
        var changed = checkOpenFiles(input, now: now)
        changed = checkPath(input, now: now) || changed
        if input.generations.isEmpty && input.pathGone && !input.isLiteral { input.releaseRequested = true }
        schedule(input, now: now, changed: changed)
    }

    /// `fstat` of the open files: growth, deletion, and truncation of the one being read.
    private func checkOpenFiles(_ input: FollowedInput, now: MonotonicInstant) -> Bool {
        var changed = false
        for (index, generation) in input.generations.enumerated() {
            let status: FileStatus
            do {
                status = try generation.status()
            } catch {
                report(error, for: input)
                continue
            }
            if status.linkCount == 0 && !generation.isDeleted {
                generation.isDeleted = true
                changed = true
            }
            let modified = status.modificationTime != generation.modificationTime
            generation.modificationTime = status.modificationTime
            guard generation.kind == .regular else {
                // A FIFO has no size to compare: just try reading.
                input.needsRead = true
                continue
            }
            if index == 0 {
                do {
                    // Smaller than what was read, or, having been written to, no longer starting
                    // with the same bytes (truncated and written past the old position already).
                    // Not the size alone: the rewrite may have brought it back to the same size.
                    var wasTruncated = status.size < generation.offset
                    if !wasTruncated && generation.offset > 0 && (modified || status.size != generation.largestSize) {
                        wasTruncated = try generation.contentWasReplaced()
                    }
                    if wasTruncated {
                        try truncated(input, generation, size: status.size)
                        changed = true
                        continue
                    }
                } catch {
                    report(error, for: input)
                }
            }
            if status.size > generation.largestSize {
                generation.largestSize = status.size
                changed = true
            }
            if index == 0 && status.size > generation.offset { input.needsRead = true }
        }
        return changed
    }

    /// `stat` of the path: is a new file there (rotation, re-creation), or nothing?
    private func checkPath(_ input: FollowedInput, now: MonotonicInstant) -> Bool {
        let status: FileStatus
        do {
            status = try FileStatus.of(path: input.path)
        } catch {
            switch error.errno {
            case ENOENT, ENOTDIR:
                // Renamed away, deleted, or not there yet: not an error for a follower.
                markPathMissing(input)
                input.pathGone = true
            default:
                // EACCES on a directory on the way, ELOOP, EIO: what is open is still read.
                report(error, for: input)
                if input.generations.isEmpty { retryLater(input, now: now) }
            }
            return false
        }
        input.pathGone = false
        switch status.kind {
        case .directory, .other:
            markPathMissing(input)
            report(
                SystemError(
                    "stat", path: input.path, errno: status.kind == .directory ? EISDIR : EINVAL,
                    reason: "is a \(status.kind.name), not a file to follow"), for: input)
            if input.generations.isEmpty { retryLater(input, now: now) }
            return false
        case .regular, .fifo:
            input.pathMissing = false
        }
        if input.generations.contains(where: { $0.key == status.key }) {
            input.lastError = nil
            input.retryDelay = nil
            return false
        }
        if let owner = owners[status.key], owner != input.id {
            // Another input follows this file under another name.
            return false
        }
        return openNewFile(input, now: now)
    }

    /// Opens the file now at the input's path and queues it.
    private func openNewFile(_ input: FollowedInput, now: MonotonicInstant) -> Bool {
        let watcher: FileWatcher
        do {
            watcher = try FileWatcher.open(path: input.path)
        } catch {
            if error.errno == ENOENT {
                markPathMissing(input)  // gone between stat and open
                input.pathGone = true
            } else {
                report(error, for: input)
                retryLater(input, now: now)
            }
            return false
        }
        // The name may have moved on between stat and open: judge the file actually opened. A
        // file already read to its end that is back at the path (a rename undone) is not new.
        if input.isOpen(watcher.key) || input.hasFinished(watcher) { return false }
        if let owner = owners[watcher.key], owner != input.id { return false }
        input.lastError = nil
        input.retryDelay = nil
        if input.generations.isEmpty {
            refreshCanonicalPath(input)
            if !input.announced {
                for generation in initialGenerations(for: input, current: watcher, now: now) {
                    adopt(generation, by: input)
                }
                input.announced = true
                let first = input.generations[0]
                events.opened(input.id, path: first.path, identity: first.identity, labels: input.labels)
                if let catchUp = input.pendingCatchUp {
                    input.pendingCatchUp = nil
                    deliver(catchUp, to: input)
                }
            } else {
                // The path came back after its file was deleted or moved away; files that had
                // the name in between (rotated before this check) come first.
                for sibling in generationsBetween(input, excluding: watcher.key) { adopt(sibling, by: input) }
                adopt(watcher, by: input)
                let first = input.generations[0]
                input.counters.rotations &+= 1
                events.rotated(input.id, path: first.path, identity: first.identity)
            }
        } else {
            // Rotation: the open files are read to their ends first, then any generation that
            // had the name in between, then this one. The rotation wait counts from now.
            input.generations[0].idleSince = nil
            let between = generationsBetween(input, excluding: watcher.key)
            noteCompressedGenerations(after: input.generations.last, before: between.first ?? watcher, of: input)
            for sibling in between { adopt(sibling, by: input) }
            adopt(watcher, by: input)
        }
        input.needsRead = true
        return true
    }

    /// The path names nothing to follow now. On the transition, the rotation wait of the open
    /// file starts over: an idle file renamed away gets the full wait for late writes.
    func markPathMissing(_ input: FollowedInput) {
        if !input.pathMissing { input.generations.first?.idleSince = nil }
        input.pathMissing = true
    }

    func adopt(_ watcher: FileWatcher, by input: FollowedInput) {
        input.generations.append(watcher)
        owners[watcher.key] = input.id
        statisticsDirty = true
    }

    /// Files that had the input's name after its newest open file and before the file now at
    /// the path: siblings whose names extend the path's name, not known to the input, modified no
    /// earlier than the newest open file, oldest first. Modification time, not change time:
    /// renaming `.1` to `.2` (logrotate's numbering) changes the latter but not the former.
    func generationsBetween(_ input: FollowedInput, excluding current: FileKey) -> [FileWatcher] {
        let horizon: Int64
        if let newest = input.generations.last {
            guard newest.kind == .regular else { return [] }
            // Refreshed: late writes after the rename moved it (on failure, the last known).
            if let status = try? newest.status() { newest.modificationTime = status.modificationTime }
            horizon = newest.modificationTime
        } else if let finished = input.lastFinishedModificationTime {
            horizon = finished
        } else {
            return []  // the input's first file: only what is at the path now
        }
        let candidates: [(path: String, status: FileStatus)]
        do {
            candidates = try rotatedSiblings(of: input.canonicalPath)
        } catch {
            report(error, for: input)
            return []
        }
        var found: [FileWatcher] = []
        for candidate in candidates {
            if let newest = input.generations.last, candidate.status.key == newest.key { newest.path = candidate.path }
            guard candidate.status.key != current, !input.isOpen(candidate.status.key),
                owners[candidate.status.key] == nil, candidate.status.modificationTime >= horizon
            else { continue }
            do {
                let watcher = try FileWatcher.open(path: candidate.path)
                guard watcher.key == candidate.status.key, !input.hasFinished(watcher) else { continue }
                found.append(watcher)
            } catch {
                // Compressed and deleted by now, most likely: it cannot be read any more.
                report(error, for: input)
            }
        }
        return found.sorted { ($0.modificationTime, $0.path) < ($1.modificationTime, $1.path) }
    }

    /// The file shrank under the read position (or was rewritten past it): read what the copy
    /// copytruncate left holds past the read position, account for what is lost anyway, and
    /// read the file again from 0.
    private func truncated(_ input: FollowedInput, _ file: FileWatcher, size: Int64) throws(SystemError) {
        var readUpTo = file.offset
        if let copy = copytruncateCopy(of: file, input: input), copy.largestSize > file.offset {
            // The copy is the file as it was up to the copy: its bytes past the read position
            // are the ones the truncation took, and they continue what was delivered.
            copy.continueReading(from: file)
            drainCopy(copy, into: input)
            readUpTo = copy.offset
            input.rememberFinished(copy)  // a later rotation must not take it for a generation
        }
        // Bytes seen in the file past what was read and what the copy held: gone.
        let missed = UInt64(max(0, file.largestSize - readUpTo))
        input.counters.truncations &+= 1
        input.counters.possiblyMissedBytes &+= missed
        statisticsDirty = true
        events.truncated(input.id, possiblyMissed: missed)
        try file.restart(size: size)
        input.needsRead = true
    }

    /// Reads a copytruncate copy to its end in one go: it no longer grows, and it is at most
    /// what the tailer was behind when the truncation came.
    private func drainCopy(_ copy: FileWatcher, into input: FollowedInput) {
        let id = input.id
        let events = self.events
        while true {
            let outcome = copy.read(into: buffer, budget: Int.max) { events.read($0, from: id) }
            input.counters.bytesRead &+= UInt64(outcome.delivered)
            input.counters.linesRead &+= UInt64(outcome.lines)
            input.counters.skippedBytes &+= UInt64(outcome.skipped)
            if let error = outcome.error {
                report(error, for: input)
                return
            }
            if outcome.reachedEnd { return }
        }
    }

    /// The copy copytruncate left next to `file`: a sibling that starts with the bytes the file
    /// started with before it was truncated (the largest, if several do), opened.
    private func copytruncateCopy(of file: FileWatcher, input: FollowedInput) -> FileWatcher? {
        let fingerprint = file.fingerprint
        guard fingerprint.length > 0 else { return nil }
        let candidates: [(path: String, status: FileStatus)]
        do {
            candidates = try rotatedSiblings(of: input.canonicalPath)
        } catch {
            report(error, for: input)
            return nil
        }
        var best: FileWatcher?
        for candidate in candidates
        where candidate.status.key != file.key && owners[candidate.status.key] == nil
            && candidate.status.size >= Int64(fingerprint.length)
            && candidate.status.size > (best?.largestSize ?? 0)
        {
            // A candidate that cannot be opened or read is not the copy: skip it.
            guard let copy = try? FileWatcher.open(path: candidate.path), copy.kind == .regular,
                (try? fingerprint.matches(descriptor: copy.descriptor, path: copy.path)) == true
            else { continue }
            best = copy
        }
        return best
    }

    // MARK: Scheduling

    /// Backoff after a failed open: the error was reported once; try again later.
    func retryLater(_ input: FollowedInput, now: MonotonicInstant) {
        let bounds = configuration.retryBackoff
        let delay = input.retryDelay.map { min($0 * 2, bounds.upperBound) } ?? bounds.lowerBound
        input.retryDelay = delay
        input.backingOff = true
        input.nextCheck = now.advanced(by: delay)
    }

    /// When to look at the input again on its own (events can always bring it forward).
    private func schedule(_ input: FollowedInput, now: MonotonicInstant, changed: Bool) {
        if input.backingOff { return }  // retryLater has set the next check
        if isWatched(input) {
            input.nextCheck = now.advanced(by: configuration.rescanInterval)
            return
        }
        if changed || input.needsRead || input.isDraining {
            input.checkInterval = configuration.pollInterval
        } else {
            input.checkInterval = min(
                max(input.checkInterval * 2, configuration.pollInterval), configuration.maximumIdlePollInterval)
        }
        input.nextCheck = now.advanced(by: input.checkInterval)
    }

    /// Whether inotify reports changes to the input's directory.
    func isWatched(_ input: FollowedInput) -> Bool {
        #if os(Linux)
            guard let inotify else { return false }
            return inotify.isWatching(directoryName(input.canonicalPath))
        #else
            return false
        #endif
    }
}
