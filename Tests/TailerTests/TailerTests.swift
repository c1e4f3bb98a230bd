import Testing

@testable import Tailer

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The tailer stepped by hand: polling mode, a manual clock, no sleeps.
@Suite struct TailerTests {
    let dir = TemporaryDirectory()
    let clock = ManualClock()
    let recorder = Recorder()

    func tailer(_ patterns: [String], _ configure: (inout TailerConfiguration) -> Void = { _ in }) -> Tailer {
        var configuration = steppedConfiguration()
        configure(&configuration)
        return Tailer(patterns: patterns, configuration: configuration, events: recorder, clock: clock)
    }

    @Test func followsGrowthAndReportsOpenedOnce() {
        let log = dir.file("access.log")
        append(log, "a\n")
        let tailer = tailer([log])
        pollUntilQuiet(tailer)
        append(log, "b\n")
        pollUntilQuiet(tailer)
        #expect(recorder.text == "a\nb\n")
        #expect(recorder.events == [.opened(InputID(rawValue: 1), log)])
        let status = tailer.status[0]
        #expect(status.offset == 4 && status.lagBytes == 0 && status.linesRead == 2 && status.bytesRead == 4)
        #expect(status.identity?.fingerprint.length == 2)
    }

    @Test func startsAtTheTailOfFilesPresentAtTheFirstScanOnly() {
        append(dir.file("old.log"), "skipped\n")
        let tailer = tailer([dir.file("*.log")]) { $0.startPosition = .tail }
        pollUntilQuiet(tailer)
        append(dir.file("old.log"), "kept\n")
        append(dir.file("new.log"), "from the head\n")
        pollUntilQuiet(tailer)
        #expect(recorder.text(recorder.input(named: "old.log")!) == "kept\n")
        #expect(recorder.text(recorder.input(named: "new.log")!) == "from the head\n")
    }

    @Test func tailStartsAtAnUnfinishedLastLineSoItIsReadWhole() {
        let log = dir.file("access.log")
        append(log, "done\nhalf")
        let tailer = tailer([log]) { $0.startPosition = .tail }
        pollUntilQuiet(tailer)
        append(log, " a line\n")
        pollUntilQuiet(tailer)
        #expect(recorder.text == "half a line\n")
    }

    @Test func rotationByRenameDrainsLateWritesBeforeTheNewFile() {
        let log = dir.file("0.log")
        let rotated = dir.file("0.log.20240101-120000")
        append(log, "1\n")
        let tailer = tailer([log])
        pollUntilQuiet(tailer)
        rename(log, rotated)
        // The writer has not reopened yet: it still writes to the renamed file.
        append(rotated, "2\n")
        pollUntilQuiet(tailer)
        append(rotated, "3\n")
        append(log, "4\n")  // reopened
        pollUntilQuiet(tailer)
        append(log, "5\n")
        pollUntilQuiet(tailer)
        #expect(recorder.text == "1\n2\n3\n4\n5\n")
        let id = InputID(rawValue: 1)
        #expect(recorder.events == [.opened(id, log), .endOfFile(id), .rotated(id, log)])
        #expect(tailer.status[0].rotations == 1)
    }

    /// kubelet rotated twice before the tailer looked, and compressed the generation in between:
    /// it is found compressed, after the open file and before the current one.
    @Test func aGenerationCompressedBeforeItWasOpenedIsReadFromTheGzip() {
        let log = dir.file("0.log")
        append(log, "one\n")
        let tailer = tailer([log])
        pollUntilQuiet(tailer)
        append(log, "two\n")
        rename(log, dir.file("0.log.20240101-120000"))
        append(log, "three\n")
        rename(log, dir.file("0.log.20240101-120010"))
        append(log, "four\n")
        #expect(
            system("gzip '\(dir.file("0.log.20240101-120000"))' '\(dir.file("0.log.20240101-120010"))'") == 0)
        for _ in 0..<3 {
            clock.advance(by: .seconds(6))
            pollUntilQuiet(tailer)
        }
        #expect(recorder.text == "one\ntwo\nthree\nfour\n")
    }

    @Test func anEmptyNewFileKeepsTheOldOneOpenUntilTheRotationWaitPasses() {
        let log = dir.file("app.log")
        append(log, "1\n")
        let tailer = tailer([log])
        pollUntilQuiet(tailer)
        rename(log, dir.file("app.log.1"))
        append(log, "")  // created empty: logrotate `create` before the app reopens
        pollUntilQuiet(tailer)
        append(dir.file("app.log.1"), "2\n")
        clock.advance(by: .seconds(4))
        pollUntilQuiet(tailer)
        #expect(tailer.status[0].identity?.inode != nil)
        #expect(!recorder.events.contains(.endOfFile(InputID(rawValue: 1))))
        clock.advance(by: .seconds(6))
        pollUntilQuiet(tailer)
        #expect(recorder.events.contains(.endOfFile(InputID(rawValue: 1))))
        append(log, "3\n")
        pollUntilQuiet(tailer)
        #expect(recorder.text == "1\n2\n3\n")
    }

    @Test func generationsRotatedBetweenTwoChecksAreReadInOrder() {
        let log = dir.file("0.log")
        append(log, "a\n")
        let tailer = tailer([log])
        pollUntilQuiet(tailer)
        // Three rotations before the tailer looks again.
        for (index, text) in ["b\n", "c\n", "d\n"].enumerated() {
            append(log, text)
            rename(log, dir.file("0.log.2024010\(index + 1)-120000"))
        }
        append(log, "e\n")
        pollUntilQuiet(tailer)
        #expect(recorder.text == "a\nb\nc\nd\ne\n")
        #expect(tailer.status[0].rotations == 3)
    }

    @Test func olderRotatedFilesAreNotTakenForNewGenerations() {
        let log = dir.file("0.log")
        append(dir.file("0.log.20230101-000000"), "ancient\n")
        append(log, "a\n")
        let tailer = tailer([log])
        pollUntilQuiet(tailer)
        append(log, "b\n")
        rename(log, dir.file("0.log.20240101-000000"))
        append(log, "c\n")
        pollUntilQuiet(tailer)
        #expect(recorder.text == "a\nb\nc\n")
    }

    @Test func copytruncateReadsWhatTheCopyHoldsPastTheOffsetThenRestartsAtZero() {
        let log = dir.file("access.log")
        append(log, "line 1\n")
        let tailer = tailer([log])
        pollUntilQuiet(tailer)
        append(log, "line 2\nline 3\n")  // written, not read before the rotation
        // logrotate copytruncate: copy, then truncate.
        append(dir.file("access.log.1"), bytes: contents(log))
        truncate(log, 0)
        append(log, "x\n")
        pollUntilQuiet(tailer)
        #expect(recorder.text == "line 1\nline 2\nline 3\nx\n")
        #expect(recorder.events.contains(.truncated(InputID(rawValue: 1), 0)))
        #expect(tailer.status[0].truncations == 1)
        #expect(tailer.status[0].linesRead == 4)
    }

    @Test func bytesSeenPastTheCopyAreCountedAsMissed() {
        let log = dir.file("access.log")
        append(log, "line 1\n")
        let tailer = tailer([log]) { $0.readBudgetPerTurn = 1 }
        pollUntilQuiet(tailer)
        append(dir.file("access.log.1"), bytes: contents(log))  // the copy
        append(log, "line 2\n")  // written after the copy...
        tailer.check(tailer.inputs[0], now: clock.now())  // ...and seen...
        truncate(log, 0)  // ...before the truncation
        pollUntilQuiet(tailer)
        #expect(recorder.text == "line 1\n")
        #expect(recorder.events.contains(.truncated(InputID(rawValue: 1), 7)))
        #expect(tailer.totals.possiblyMissedBytes == 7)
    }

    @Test func truncationWithoutACopyReportsTheBytesSeenButNotRead() {
        let log = dir.file("access.log")
        append(log, "line 1\n")
        let tailer = tailer([log]) { $0.readBudgetPerTurn = 4096 }
        pollUntilQuiet(tailer)
        append(log, "line 2\n")
        // A check sees the growth; the truncation comes before the read.
        tailer.check(tailer.inputs[0], now: clock.now())
        truncate(log, 0)
        pollUntilQuiet(tailer)
        #expect(recorder.events.contains(.truncated(InputID(rawValue: 1), 7)))
    }

    @Test func aTruncationHiddenByRegrowthIsCaughtByTheFingerprint() {
        let log = dir.file("access.log")
        append(log, "first generation line\n")
        let tailer = tailer([log])
        pollUntilQuiet(tailer)
        truncate(log, 0)
        append(log, "second generation, written past the old offset\n")
        pollUntilQuiet(tailer)
        #expect(recorder.text == "first generation line\nsecond generation, written past the old offset\n")
        #expect(tailer.status[0].truncations == 1)
    }

    @Test func aDeletedMatchedFileIsDrainedThenReleased() {
        let log = dir.file("a.log")
        append(log, "1\n")
        let tailer = tailer([dir.file("*.log")])
        pollUntilQuiet(tailer)
        let fd = open(log, O_WRONLY | O_APPEND)
        unlink(log)
        _ = "2\n".withCString { write(fd, $0, 2) }  // written after the unlink, before the check
        close(fd)
        pollUntilQuiet(tailer)
        let id = InputID(rawValue: 1)
        #expect(recorder.text == "1\n2\n")
        #expect(recorder.events == [.opened(id, log), .endOfFile(id), .closed(id)])
        #expect(tailer.status.isEmpty)
        #expect(tailer.totals.bytesRead == 4)
    }

    @Test func aDeletedLiteralPathWaitsForItsNextFile() {
        let log = dir.file("a.log")
        append(log, "1\n")
        let tailer = tailer([log])
        pollUntilQuiet(tailer)
        unlink(log)
        pollUntilQuiet(tailer)
        append(log, "2\n")
        pollUntilQuiet(tailer)
        let id = InputID(rawValue: 1)
        #expect(recorder.text == "1\n2\n")
        #expect(recorder.events == [.opened(id, log), .endOfFile(id), .rotated(id, log)])
    }

    @Test func aSymlinkAndItsTargetAreOneInput() {
        let pods = dir.makeDirectory("pods/default_web-0_0c7e6a0e-1111-2222-3333-444455556666/nginx")
        let containers = dir.makeDirectory("containers")
        append(pods + "/0.log", "x\n")
        let link = containers + "/web-0_default_nginx-" + String(repeating: "ab", count: 32) + ".log"
        symlink(pods + "/0.log", link)
        let tailer = tailer([containers + "/*.log", dir.file("pods/*/*/*.log")])
        pollUntilQuiet(tailer)
        #expect(recorder.bytes.count == 1)
        #expect(recorder.text == "x\n")
        let labels = recorder.labels.values.first
        #expect(labels == ["namespace": "default", "pod": "web-0", "container": "nginx", "workload": "web"])
    }

    @Test func budgetsShareTurnsFairly() {
        let big = dir.file("big.log")
        let small = dir.file("small.log")
        append(big, String(repeating: "b", count: 99) + "\n")
        for _ in 0..<99 { append(big, String(repeating: "b", count: 99) + "\n") }
        append(small, "s\n")
        let tailer = tailer([big, small]) {
            $0.readBudgetPerTurn = 1000
            $0.readBufferSize = 4096
        }
        tailer.poll()
        // One turn: the big file gave at most its budget, the small one was read too.
        #expect(recorder.bytes[InputID(rawValue: 1)]?.count == 1000)
        #expect(recorder.text(InputID(rawValue: 2)) == "s\n")
        #expect(tailer.hasBacklog)
        pollUntilQuiet(tailer)
        #expect(recorder.bytes[InputID(rawValue: 1)]?.count == 10_000)
        #expect(recorder.largestChunk <= 4096)
    }

    @Test func chunksNeverExceedTheOneSharedBuffer() {
        let log = dir.file("access.log")
        append(log, String(repeating: "0123456789", count: 10_000) + "\n")
        let tailer = tailer([log]) { $0.readBufferSize = 8192 }
        pollUntilQuiet(tailer)
        #expect(recorder.largestChunk == 8192)
        #expect(recorder.bytes.values.first?.count == 100_001)
    }

    @Test func statisticsArePublishedForOtherThreads() {
        let log = dir.file("access.log")
        append(log, "a\nb\n")
        let tailer = tailer([log])
        pollUntilQuiet(tailer)
        let snapshot = tailer.statistics.snapshot()
        #expect(snapshot.totals.filesFollowed == 1)
        #expect(snapshot.totals.linesRead == 2)
        #expect(snapshot.totals.usesInotify == false)
        #expect(snapshot.inputs.first?.path == log)
    }

    @Test func lagCountsBytesNotYetRead() {
        let log = dir.file("access.log")
        append(log, "a\n")
        let tailer = tailer([log]) { $0.readBudgetPerTurn = 1 }
        tailer.poll()
        #expect(tailer.status[0].offset == 1)
        #expect(tailer.status[0].lagBytes == 1)
        #expect(tailer.totals.lagBytes == 1)
    }

    @Test func idleFilesAreCheckedLessOftenWhenPolling() {
        let log = dir.file("access.log")
        append(log, "a\n")
        let tailer = tailer([log]) {
            $0.pollInterval = .milliseconds(250)
            $0.maximumIdlePollInterval = .seconds(2)
            $0.rescanInterval = .seconds(60)
        }
        pollUntilQuiet(tailer)
        for _ in 0..<8 {
            clock.advance(by: .seconds(3))
            tailer.poll()
        }
        #expect(tailer.inputs[0].checkInterval == .seconds(2))
        append(log, "b\n")
        clock.advance(by: .seconds(3))
        pollUntilQuiet(tailer)
        #expect(tailer.inputs[0].checkInterval == .milliseconds(250))
        #expect(recorder.text == "a\nb\n")
    }

    @Test func closeReleasesEverythingWithoutEvents() {
        let log = dir.file("access.log")
        append(log, "a\n")
        let tailer = tailer([log])
        pollUntilQuiet(tailer)
        let before = recorder.events.count
        tailer.close()
        #expect(tailer.poll() == 0)
        #expect(recorder.events.count == before)
        #expect(tailer.status.isEmpty)
    }
}
