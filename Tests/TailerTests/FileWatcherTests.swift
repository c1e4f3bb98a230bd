import Testing

@testable import Tailer

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

@Suite struct FileWatcherTests {
    let dir = TemporaryDirectory()

    /// Reads the whole file through a watcher, returning what was delivered and the outcome.
    func readAll(_ watcher: FileWatcher, bufferSize: Int = 4096) -> ([UInt8], FileWatcher.ReadOutcome) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 16)
        defer { buffer.deallocate() }
        var delivered: [UInt8] = []
        var total = FileWatcher.ReadOutcome()
        while true {
            let outcome = watcher.read(into: buffer, budget: 1 << 30) { delivered.append(contentsOf: $0) }
            total.consumed += outcome.consumed
            total.delivered += outcome.delivered
            total.skipped += outcome.skipped
            total.lines += outcome.lines
            if outcome.reachedEnd || outcome.error != nil { return (delivered, total) }
        }
    }

    @Test func nulPaddingAtLineStartsIsSkippedAndCounted() throws {
        let log = dir.file("padded.log")
        append(log, bytes: Array("a\n".utf8) + [0, 0, 0] + Array("b\n".utf8) + [0] + Array("c".utf8))
        let watcher = try FileWatcher.open(path: log)
        let (delivered, outcome) = readAll(watcher)
        #expect(String(decoding: delivered, as: UTF8.self) == "a\nb\nc")
        #expect(outcome.skipped == 4)
        #expect(outcome.lines == 2)
        #expect(watcher.offset == 9)
        // "c" is unfinished: a saved position stops before it.
        #expect(watcher.lineStartOffset == 8)
    }

    @Test func nulBytesInsideALineAreDelivered() throws {
        let log = dir.file("inside.log")
        append(log, bytes: Array("a".utf8) + [0, 0] + Array("b\n".utf8))
        let watcher = try FileWatcher.open(path: log)
        let (delivered, outcome) = readAll(watcher)
        #expect(delivered == Array("a".utf8) + [0, 0] + Array("b\n".utf8))
        #expect(outcome.skipped == 0)
    }

    @Test func paddingIsRecognisedAcrossReadBoundaries() throws {
        let log = dir.file("boundary.log")
        // The padding starts exactly at the second buffer.
        append(
            log,
            bytes: Array(String(repeating: "x", count: 15).utf8) + [0x0A] + [UInt8](repeating: 0, count: 40) + [
                0x79, 0x0A,
            ])
        let watcher = try FileWatcher.open(path: log)
        let (delivered, outcome) = readAll(watcher, bufferSize: 16)
        #expect(delivered == Array(String(repeating: "x", count: 15).utf8) + [0x0A, 0x79, 0x0A])
        #expect(outcome.skipped == 40)
    }

    @Test func aHoleIsJumpedNotRead() throws {
        let log = dir.file("sparse.log")
        append(log, "head\n")
        let fd = open(log, O_WRONLY)
        let tail = Array("tail\n".utf8)
        tail.withUnsafeBytes { _ = pwrite(fd, $0.baseAddress, $0.count, 64 << 20) }
        close(fd)
        let watcher = try FileWatcher.open(path: log)
        let (delivered, outcome) = readAll(watcher, bufferSize: 64 * 1024)
        #expect(String(decoding: delivered, as: UTF8.self) == "head\ntail\n")
        #expect(outcome.skipped == Int64(64 << 20) - 5)
        #expect(watcher.offset == Int64(64 << 20) + 5)
    }

    @Test func tailPositionIsTheStartOfTheUnfinishedLine() throws {
        let log = dir.file("tail.log")
        append(log, "one\ntwo\nthr")
        let watcher = try FileWatcher.open(path: log)
        watcher.seekToTail(size: 11)
        #expect(watcher.offset == 8)
        let unfinished = dir.file("one-line.log")
        append(unfinished, "no newline yet")
        let whole = try FileWatcher.open(path: unfinished)
        whole.seekToTail(size: 14)
        #expect(whole.offset == 0)
    }

    @Test func directoriesAndDevicesAreRefused() {
        #expect(throws: SystemError.self) { try FileWatcher.open(path: dir.path) }
        do {
            _ = try FileWatcher.open(path: "/dev/null")
            Issue.record("opened a character device")
        } catch {
            #expect(error.errno == EINVAL)
            #expect(error.description.contains("special file"))
        }
    }
}
