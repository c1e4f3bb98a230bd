import Testing

@testable import Tailer

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Saving positions in one tailer and resuming in the next, as across a restart.
@Suite struct TailerResumeTests {
    let dir = TemporaryDirectory()
    let clock = ManualClock()

    /// Runs a tailer over `patterns` until quiet, resuming from `positions` when given; returns
    /// what it delivered, its events and its positions at the end.
    func session(
        _ patterns: [String], resumingFrom positions: [SavedPosition]? = nil,
        start: TailerConfiguration.StartPosition = .head
    ) -> (Recorder, [SavedPosition]) {
        let recorder = Recorder()
        let tailer = Tailer(
            patterns: patterns, configuration: steppedConfiguration(start: start), events: recorder, clock: clock)
        if let positions { tailer.resume(from: positions) }
        pollUntilQuiet(tailer)
        return (recorder, tailer.savedPositions())
    }

    @Test func theSameFileResumesAtItsSavedOffset() {
        let log = dir.file("access.log")
        append(log, "1\n2\n")
        let (_, saved) = session([log])
        #expect(saved.count == 1 && saved[0].offset == 4)
        append(log, "3\n")
        let (second, _) = session([log], resumingFrom: saved)
        #expect(second.text == "3\n")
    }

    @Test func anUnfinishedLineIsReadAgainWhole() {
        let log = dir.file("access.log")
        append(log, "1\nhal")
        let (first, saved) = session([log])
        #expect(first.text == "1\nhal")
        #expect(saved[0].offset == 2)
        append(log, "f\n")
        let (second, _) = session([log], resumingFrom: saved)
        #expect(second.text == "half\n")
    }

    @Test func aFileRotatedWhileStoppedIsDrainedFromItsOffsetThenTheNewOne() {
        let log = dir.file("0.log")
        append(log, "1\n")
        let (_, saved) = session([log])
        append(log, "2\n")
        rename(log, dir.file("0.log.20240101-120000"))
        append(log, "3\n")
        let (second, _) = session([log], resumingFrom: saved)
        #expect(second.text == "2\n3\n")
        let id = InputID(rawValue: 1)
        #expect(second.events == [.opened(id, dir.file("0.log.20240101-120000")), .endOfFile(id), .rotated(id, log)])
    }

    @Test func severalRotationsWhileStoppedAreReadInOrder() {
        let log = dir.file("0.log")
        append(log, "1\n")
        let (_, saved) = session([log])
        append(log, "2\n")
        rename(log, dir.file("0.log.20240101-120000"))
        append(log, "3\n")
        rename(log, dir.file("0.log.20240101-120010"))
        append(log, "4\n")
        let (second, _) = session([log], resumingFrom: saved)
        #expect(second.text == "2\n3\n4\n")
    }

    @Test func aReusedInodeWithOtherContentStartsAtZero() {
        let log = dir.file("access.log")
        append(log, "original first line\n")
        let (_, saved) = session([log])
        // Same device and inode, different content: what a reused inode looks like.
        truncate(log, 0)
        append(log, "new file, new first line\n")
        let (second, _) = session([log], resumingFrom: saved)
        #expect(second.text == "new file, new first line\n")
    }

    /// kubelet gzips older generations: the saved file is found by its decompressed first bytes
    /// and read from its offset, then the compressed and plain generations after it.
    @Test func aKubeletGenerationCompressedWhileStoppedIsReadFromItsOffset() {
        let log = dir.file("0.log")
        append(log, "1\n")
        let (_, saved) = session([log])
        append(log, "2\n")
        rename(log, dir.file("0.log.20240101-120000"))
        append(log, "3\n")
        rename(log, dir.file("0.log.20240101-120010"))
        append(log, "4\n")
        rename(log, dir.file("0.log.20240101-120020"))
        // The new file first, so that it cannot get a compressed file's freed inode.
        append(log, "5\n")
        #expect(system("gzip '\(dir.file("0.log.20240101-120000"))' '\(dir.file("0.log.20240101-120010"))'") == 0)
        let (second, _) = session([log], resumingFrom: saved)
        #expect(second.text == "2\n3\n4\n5\n")
        #expect(second.errors.isEmpty)
        let id = InputID(rawValue: 1)
        #expect(second.events.filter { $0 == .endOfFile(id) }.count == 3)
    }

    /// Under fast rotation the saved file can be gone and its inode taken by the new file: the
    /// fingerprint tells, and the saved file is looked for among the rotated ones.
    @Test func aSavedInodeNowHeldByANewFileStillFindsTheRotatedOne() throws {
        let log = dir.file("0.log")
        append(log, "first line of the old file\n")
        let (_, saved) = session([log])
        append(log, "2\n")
        rename(log, dir.file("0.log.20240101-120000"))
        append(log, "a new file\n")
        #expect(system("gzip '\(dir.file("0.log.20240101-120000"))'") == 0)
        let now = try FileStatus.of(path: log)
        let reused = SavedPosition(
            path: log,
            identity: FileIdentity(
                device: now.key.device, inode: now.key.inode, fingerprint: saved[0].identity.fingerprint),
            offset: saved[0].offset)
        let (second, _) = session([log], resumingFrom: [reused])
        #expect(second.text == "2\na new file\n")
    }

    /// A saved position applies to the first file of its path in this run, not to one that
    /// comes back after the input was released.
    @Test func aPositionIsUsedOnce() {
        let log = dir.file("0.log")
        append(log, "1\n")
        let (_, saved) = session([dir.file("*.log")])
        append(log, "2\n")
        let recorder = Recorder()
        let tailer = Tailer(
            patterns: [dir.file("*.log")], configuration: steppedConfiguration(), events: recorder, clock: clock)
        tailer.resume(from: saved)
        pollUntilQuiet(tailer)
        #expect(recorder.text == "2\n")
        // Renamed away (drained, released), and a new file under the old name later.
        rename(log, dir.file("0.log.20240101-120000"))
        for _ in 0..<3 {
            clock.advance(by: .seconds(11))
            pollUntilQuiet(tailer)
        }
        append(log, "3\n")
        pollUntilQuiet(tailer)
        let all = recorder.bytes.keys.sorted().map { recorder.text($0) }.joined()
        #expect(recorder.events.contains(.closed(InputID(rawValue: 1))), "\(recorder.events)")
        #expect(all == "2\n3\n", "the rotated file was not read again from the saved offset")
    }

    /// A file empty when its position was saved has no fingerprint to find it by. If it is found
    /// only compressed, it is the generation after the one read before it.
    @Test func anEmptySavedFileIsFoundAfterThePreviousGeneration() {
        let log = dir.file("0.log")
        append(log, "read before\n")
        let recorder = Recorder()
        let tailer = Tailer(patterns: [log], configuration: steppedConfiguration(), events: recorder, clock: clock)
        pollUntilQuiet(tailer)
        // Rotated; the new file is empty when the position is taken.
        rename(log, dir.file("0.log.20240101-120000"))
        _ = system("touch '\(log)'")
        for _ in 0..<3 {
            clock.advance(by: .seconds(6))
            pollUntilQuiet(tailer)
        }
        let saved = tailer.savedPositions()
        #expect(saved.first?.fingerprintLength == 0)
        #expect(saved.first?.previousFingerprint != nil)
        tailer.close()
        // While stopped: the empty file fills, is rotated, and both old generations are gzipped.
        append(log, "unread\n")
        rename(log, dir.file("0.log.20240101-120010"))
        append(log, "current\n")
        #expect(
            system("gzip '\(dir.file("0.log.20240101-120000"))' '\(dir.file("0.log.20240101-120010"))'") == 0)
        let (second, _) = session([log], resumingFrom: saved)
        #expect(second.text == "unread\ncurrent\n")
    }

    /// The input's first file, empty when saved: what was compressed after the position was
    /// taken was written after it, so it is unread.
    @Test func anEmptyFirstFileIsFoundByWhatWasCompressedAfterTheSave() {
        let log = dir.file("0.log")
        append(log, "older, never followed\n")
        rename(log, dir.file("0.log.20240101-115950"))
        #expect(system("gzip '\(dir.file("0.log.20240101-115950"))'") == 0)
        _ = system("touch '\(log)'")
        let (_, saved) = session([log])
        usleep(20_000)  // a later modification time than the position's
        append(log, "unread\n")
        rename(log, dir.file("0.log.20240101-120000"))
        append(log, "new\n")
        #expect(system("gzip '\(dir.file("0.log.20240101-120000"))'") == 0)
        let (second, _) = session([log], resumingFrom: saved)
        #expect(second.text == "unread\nnew\n")
    }

    /// An empty file has no fingerprint; where the file system records birth times, a new file
    /// that got the saved inode is still told apart from it.
    @Test func aReusedInodeOfAnEmptyFileIsToldApartByBirthTime() throws {
        let log = dir.file("0.log")
        _ = system("touch '\(log)'")
        let (_, saved) = session([log])
        guard let birth = saved.first?.birth else { return }  // no birth times here: nothing to check
        usleep(20_000)
        append(log, "unread\n")
        rename(log, dir.file("0.log.20240101-120000"))
        append(log, "new\n")
        #expect(system("gzip '\(dir.file("0.log.20240101-120000"))'") == 0)
        var reused = saved[0]
        let now = try FileStatus.of(path: log)
        reused.inode = now.key.inode  // the new file got the saved inode number
        reused.birth = birth - 1_000_000_000  // ...but the saved file was born earlier
        let (second, _) = session([log], resumingFrom: [reused])
        #expect(second.text == "unread\nnew\n")
    }

    /// A hand-edited state file: a negative offset or fingerprint length is no position at all.
    @Test func nonsensePositionsAreIgnored() {
        let log = dir.file("access.log")
        append(log, "1\n2\n")
        let (_, saved) = session([log])
        var bad = saved[0]
        bad.offset = -5
        var worse = saved[0]
        worse.fingerprintLength = -3
        for position in [bad, worse] {
            let (second, _) = session([log], resumingFrom: [position])
            #expect(second.text == "1\n2\n")
        }
    }

    @Test func aCompressedFileWithoutKubeletsNameCannotBeResumedAndSaysSo() {
        let log = dir.file("access.log")
        append(log, "1\n")
        let (_, saved) = session([log])
        append(log, "lost to compression\n")
        rename(log, dir.file("access.log.1"))
        append(log, "3\n")
        #expect(system("gzip '\(dir.file("access.log.1"))'") == 0)
        let (second, _) = session([log], resumingFrom: saved)
        #expect(second.text == "3\n")
        #expect(second.errors.count == 1)
        #expect(second.errors.first?.operation == "resume")
    }

    @Test func filesWithoutAPositionAreReadFromTheirHeadWhenResuming() {
        let known = dir.file("known.log")
        append(known, "a\n")
        let (_, saved) = session([dir.file("*.log")], start: .tail)
        append(dir.file("appeared-while-stopped.log"), "b\n")
        let (second, _) = session([dir.file("*.log")], resumingFrom: saved, start: .tail)
        #expect(second.text(second.input(named: "appeared-while-stopped.log")!) == "b\n")
        #expect(second.bytes[second.input(named: "known.log")!] == nil)
    }

    @Test func positionsRoundTripThroughCodable() throws {
        let position = SavedPosition(
            path: "/var/log/pods/a_b_c/d/0.log",
            identity: FileIdentity(device: 2049, inode: 77, fingerprint: Fingerprint(length: 256, hash: 0xdead_beef)),
            offset: 123_456)
        #expect(position.identity.fingerprint.hash == 0xdead_beef)
        #expect(position.key == FileKey(device: 2049, inode: 77))
    }
}
