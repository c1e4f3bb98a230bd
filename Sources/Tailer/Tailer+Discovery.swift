#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

// Finding inputs, releasing them, and keeping the directory watches in step.
extension Tailer {
    func rescan(now: MonotonicInstant) {
        rescanRequested = false
        nextRescan = now.advanced(by: configuration.rescanInterval)
        let discovery = pathProvider.discover()
        for error in discovery.errors { reportGlobal(error) }
        var present = Set<String>()
        for discovered in discovery.paths {
            present.insert(discovered.path)
            if inputsByPath[discovered.path] != nil { continue }
            if let alias = aliases[discovered.path], inputsByCanonicalPath[alias] != nil { continue }
            let canonical = canonicalForm(of: discovered.path)
            if inputsByCanonicalPath[canonical] != nil {
                // A second name (symlink) of a path already followed.
                aliases[discovered.path] = canonical
                continue
            }
            if !discovered.isLiteral, let status = try? FileStatus.of(path: discovered.path),
                let owner = owners[status.key], let followed = inputs.first(where: { $0.id == owner })
            {
                // The file is open under another input (a rotated name a custom provider listed,
                // a hard link): reading it again would count it twice.
                aliases[discovered.path] = followed.canonicalPath
                continue
            }
            createInput(discovered, canonicalPath: canonical, now: now)
        }
        // A matched path that is no longer matched is usually gone: look at it now rather
        // than at its next scheduled check.
        for input in inputs where !input.isLiteral && !present.contains(input.path) { input.needsCheck = true }
        aliases = aliases.filter { present.contains($0.key) }
        firstScanDone = true
        updateWatches(discoveryDirectories: discovery.directories, now: now)
    }

    /// The path with symbolic links resolved; for a path that does not exist yet, its
    /// directory resolved and its name kept.
    func canonicalForm(of path: String) -> String {
        if let resolved = try? canonicalPath(path) { return resolved }
        return joinPath(canonicalDirectory(directoryName(path)), baseName(path))
    }

    /// `realpath` of a directory, remembered: directories are resolved on every rescan.
    func canonicalDirectory(_ directory: String) -> String {
        if let known = canonicalDirectories[directory] { return known }
        guard let resolved = try? canonicalPath(directory) else { return directory }
        if canonicalDirectories.count > 100_000 { canonicalDirectories.removeAll() }
        canonicalDirectories[directory] = resolved
        return resolved
    }

    func createInput(_ discovered: DiscoveredPath, canonicalPath: String, now: MonotonicInstant) {
        let labels =
            KubernetesLogPath(path: canonicalPath)?.labels ?? KubernetesLogPath(path: discovered.path)?.labels ?? [:]
        let input = FollowedInput(
            id: InputID(rawValue: nextInputNumber), path: discovered.path, canonicalPath: canonicalPath,
            isLiteral: discovered.isLiteral, labels: labels,
            startsAtTail: !firstScanDone && resumePositions == nil && configuration.startPosition == .tail,
            now: now, checkInterval: configuration.pollInterval)
        nextInputNumber += 1
        inputs.append(input)
        inputsByPath[input.path] = input
        index(input)
        statisticsDirty = true
        check(input, now: now)
        // Only a file found during the first scan starts at its tail.
        input.startsAtTail = false
    }

    func index(_ input: FollowedInput) {
        inputsByCanonicalPath[input.canonicalPath] = input
        inputsByDirectory[directoryName(input.canonicalPath), default: []].append(input)
    }

    func unindex(_ input: FollowedInput) {
        if inputsByCanonicalPath[input.canonicalPath] === input { inputsByCanonicalPath[input.canonicalPath] = nil }
        let directory = directoryName(input.canonicalPath)
        inputsByDirectory[directory]?.removeAll { $0 === input }
        if inputsByDirectory[directory]?.isEmpty == true { inputsByDirectory[directory] = nil }
    }

    /// Re-resolves an input's real location when its file is (re)opened: a literal path may have
    /// been a dangling name, or a symlink that now points elsewhere.
    func refreshCanonicalPath(_ input: FollowedInput) {
        let canonical = canonicalForm(of: input.path)
        guard canonical != input.canonicalPath, inputsByCanonicalPath[canonical] == nil else { return }
        unindex(input)
        input.canonicalPath = canonical
        index(input)
        #if os(Linux)
            if let inotify { watch(directoryName(canonical), with: inotify, now: clock.now()) }
        #endif
    }

    /// Drops inputs whose files are gone and drained.
    func releaseRequested() {
        guard inputs.contains(where: \.releaseRequested) else { return }
        var kept: [FollowedInput] = []
        for input in inputs {
            guard input.releaseRequested else {
                kept.append(input)
                continue
            }
            input.isReleased = true
            for generation in input.generations { owners[generation.key] = nil }
            input.generations.removeAll()
            releasedCounters.add(input.counters)
            inputsByPath[input.path] = nil
            unindex(input)
            statisticsDirty = true
            // Only inputs the caller has heard of (a dangling symlink never opened anything).
            if input.announced { events.closed(input.id) }
            events.released(input.id, path: input.path)
        }
        inputs = kept
        if readCursor >= inputs.count { readCursor = 0 }
    }

    // MARK: Watches

    func updateWatches(discoveryDirectories: [String], now: MonotonicInstant) {
        #if os(Linux)
            guard let inotify else { return }
            var wanted = Set(discoveryDirectories.map(canonicalDirectory))
            for directory in inputsByDirectory.keys { wanted.insert(directory) }
            // A directory that is not there (deleted, not created yet) is stood in for by its
            // nearest ancestor that is: its creation there brings a rescan at once, not at the
            // next scheduled one.
            var standIns = Set<String>()
            for directory in wanted where !inotify.isWatching(directory) && !isDirectory(directory) {
                var ancestor = directoryName(directory)
                while ancestor != "/" && ancestor != "." && !isDirectory(ancestor) {
                    ancestor = directoryName(ancestor)
                }
                // By its real name, as the directories it may also stand for are watched.
                standIns.insert(canonicalDirectory(ancestor))
            }
            let standInsOnly = standIns.subtracting(wanted)
            wanted.formUnion(standIns)
            for directory in inotify.watchedDirectories.subtracting(wanted) { inotify.unwatch(directory) }
            for directory in wanted.subtracting(inotify.watchedDirectories).sorted() {
                guard watch(directory, with: inotify, now: now) else {
                    if self.inotify == nil { return }
                    continue
                }
                if standInsOnly.contains(directory) { continue }
                // What was created in it before the watch was in place has sent no event.
                rescanRequested = true
                for input in inputsByDirectory[directory] ?? [] { input.needsCheck = true }
            }
        #endif
    }

    #if os(Linux)
        private func isDirectory(_ path: String) -> Bool {
            (try? FileStatus.of(path: path))?.kind == .directory
        }

        /// Adds a watch; on the system's limits, switches to polling for good. Whether the
        /// directory is watched now.
        @discardableResult
        func watch(_ directory: String, with inotify: InotifyWatcher, now: MonotonicInstant) -> Bool {
            do {
                try inotify.watch(directory)
                return true
            } catch {
                switch error.errno {
                case ENOENT, ENOTDIR:
                    // Gone since it was listed, or not created yet: the next rescan looks again.
                    break
                case ENOSPC, ENOMEM:
                    reportGlobal(
                        SystemError(
                            error.operation, path: error.path, errno: error.errno,
                            reason:
                                "inotify limit reached (fs.inotify.max_user_watches); checking files by polling instead"
                        ))
                    fallBackToPolling(now: now)
                default:
                    reportGlobal(error)
                }
                return false
            }
        }

        func fallBackToPolling(now: MonotonicInstant) {
            inotify = nil
            for input in inputs {
                input.checkInterval = configuration.pollInterval
                input.nextCheck = now
            }
        }
    #endif

    /// Turns pending inotify events into checks, reads and rescans.
    func processNotifications() {
        #if os(Linux)
            guard let inotify else { return }
            do {
                try inotify.drain { event in
                    switch event {
                    case .overflow:
                        fullCheckRequested = true
                        rescanRequested = true
                    case .directoryGone(let directory):
                        rescanRequested = true
                        for input in inputsByDirectory[directory] ?? [] { input.needsCheck = true }
                    case .entry(let directory, let name, let mask):
                        handleEntryEvent(directory: directory, name: name, mask: mask)
                    }
                }
            } catch {
                reportGlobal(error)
                fullCheckRequested = true
            }
        #endif
    }

    #if os(Linux)
        private func handleEntryEvent(directory: String, name: String, mask: UInt32) {
            if let input = inputsByCanonicalPath[joinPath(directory, name)] {
                // A write may also be a truncation, so it is checked as well as read.
                input.needsCheck = true
                if mask & UInt32(IN_MODIFY) != 0 { input.needsRead = true }
            } else if mask & UInt32(IN_MODIFY) != 0 {
                // A write to a name no input has: a rotated file still being written to.
                for input in inputsByDirectory[directory] ?? [] where input.isDraining { input.needsRead = true }
            }
            // The directory's own permissions changed (the event has no name): files it now
            // lets be listed or opened are found by the next glob.
            if mask & InotifyWatcher.entryChanges != 0 || (name.isEmpty && mask & UInt32(IN_ATTRIB) != 0) {
                rescanRequested = true
                for input in inputsByDirectory[directory] ?? [] { input.needsCheck = true }
            }
        }
    #endif
}
