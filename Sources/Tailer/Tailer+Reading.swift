// Reading an input: drain its open files in order, letting each go once it is finished.
extension Tailer {
    /// Reads `input` up to its budget. Returns bytes consumed.
    func read(_ input: FollowedInput, now: MonotonicInstant) -> Int64 {
        input.needsRead = false
        input.hasBacklog = false
        var budget = configuration.readBudgetPerTurn
        var consumed: Int64 = 0
        while let current = input.generations.first {
            // Looked at *before* reading: if a newer file already has data, the writer has
            // switched to it, so once this read reaches the old file's end, that is its end for
            // good (a writer does not go back).
            let writerMovedOn = input.generations.count > 1 && newerFileHasData(input)
            let wasDeleted = current.isDeleted
            let id = input.id
            let events = self.events
            let outcome = current.read(into: buffer, budget: budget) { events.read($0, from: id) }
            consumed += outcome.consumed
            budget -= Int(outcome.consumed)
            account(outcome, to: input)
            if let error = outcome.error {
                // EIO and the like: keep the file and try again at the next check.
                report(error, for: input)
                break
            }
            if outcome.consumed > 0 {
                current.idleSince = nil
                current.largestSize = max(current.largestSize, current.offset)
            }
            guard outcome.reachedEnd else {
                input.hasBacklog = true
                break
            }
            if current.idleSince == nil { current.idleSince = now }
            let idleLongEnough = now >= current.idleSince!.advanced(by: configuration.rotateWait)
            let finished =
                input.generations.count > 1
                ? writerMovedOn || wasDeleted || idleLongEnough
                : wasDeleted || (input.pathMissing && idleLongEnough)
            guard finished else { break }
            finishCurrentFile(of: input)
            if budget <= 0 {
                input.hasBacklog = !input.generations.isEmpty
                break
            }
        }
        return consumed
    }

    private func newerFileHasData(_ input: FollowedInput) -> Bool {
        for newer in input.generations.dropFirst() {
            if newer.largestSize > 0 { return true }
            if let status = try? newer.status(), status.size > 0 {
                newer.largestSize = status.size
                return true
            }
        }
        return false
    }

    private func account(_ outcome: FileWatcher.ReadOutcome, to input: FollowedInput) {
        guard outcome.consumed > 0 else { return }
        input.counters.bytesRead &+= UInt64(outcome.delivered)
        input.counters.linesRead &+= UInt64(outcome.lines)
        input.counters.skippedBytes &+= UInt64(outcome.skipped)
        statisticsDirty = true
    }

    /// The file being read is done: tell the caller, close it, and go on with the next one.
    private func finishCurrentFile(of input: FollowedInput) {
        let finished = input.generations.removeFirst()
        owners[finished.key] = nil
        input.rememberFinished(finished)
        input.lastIdentity = finished.identity
        input.lastFinishedModificationTime = finished.modificationTime
        statisticsDirty = true
        events.endOfFile(input.id)
        if !finished.compressedAfter.isEmpty {
            deliver(CompressedCatchUp(files: finished.compressedAfter, skip: 0), to: input)
        }
        if let next = input.generations.first {
            input.counters.rotations &+= 1
            events.rotated(input.id, path: next.path, identity: next.identity)
        } else if !input.isLiteral && input.pathGone {
            input.releaseRequested = true
        } else {
            // Look for the path's next file soon.
            input.needsCheck = true
        }
    }
}
