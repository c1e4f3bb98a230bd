import Foundation
import Testing

@testable import Tailer

/// Inputs that are not well-behaved log files. Each has a defined outcome: reported once,
/// retried without spinning, nothing already delivered lost, memory bounded.
@Suite struct BadInputScenarioTests {
    let dir = TemporaryDirectory()
    let clock = ManualClock()
    let recorder = Recorder()

    func tailer(_ patterns: [String], _ configure: (inout TailerConfiguration) -> Void = { _ in }) -> Tailer {
        var configuration = steppedConfiguration()
        configure(&configuration)
        return Tailer(patterns: patterns, configuration: configuration, events: recorder, clock: clock)
    }

    @Test func aFileReplacedByADirectoryIsDrainedReportedOnceAndFollowedAgainWhenItIsBack() {
        let log = dir.file("access.log")
        append(log, "1\n")
        let tailer = tailer([log])
        pollUntilQuiet(tailer)
        let fd = open(log, O_WRONLY | O_APPEND)
        unlink(log)
        mkdir(log, 0o755)
        _ = "2\n".withCString { write(fd, $0, 2) }  // the old file still gets a last line
        close(fd)
        for _ in 0..<5 {
            clock.advance(by: .seconds(1))
            pollUntilQuiet(tailer)
        }
        #expect(recorder.text == "1\n2\n")
        #expect(recorder.errors.count == 1)
        #expect(recorder.errors.first?.errno == EISDIR)
        #expect(recorder.events.contains(.endOfFile(InputID(rawValue: 1))))
        rmdir(log)
        append(log, "3\n")
        clock.advance(by: .seconds(10))
        pollUntilQuiet(tailer)
        #expect(recorder.text == "1\n2\n3\n")
        #expect(recorder.errors.count == 1)
    }

    @Test func aDirectoryMatchedByAGlobIsReportedOnceAcrossRescans() {
        mkdir(dir.file("not-a-file.log"), 0o755)
        append(dir.file("real.log"), "x\n")
        let tailer = tailer([dir.file("*.log")])
        for _ in 0..<10 {
            clock.advance(by: .seconds(30))
            pollUntilQuiet(tailer)
        }
        #expect(recorder.errors.count == 1)
        #expect(recorder.errors.first?.errno == EISDIR)
        #expect(recorder.text(recorder.input(named: "real.log")!) == "x\n")
    }

    @Test func permissionsRemovedMidReadKeepTheOpenFileAndBlockOnlyTheNextOne() throws {
        let log = dir.file("access.log")
        append(log, "1\n")
        let tailer = tailer([log])
        try withFileAccessOfNobody { pollUntilQuiet(tailer) }
        // Permissions go: the open descriptor keeps its access (POSIX), so reading goes on.
        chmod(log, 0)
        append(log, "2\n")
        try withFileAccessOfNobody { pollUntilQuiet(tailer) }
        #expect(recorder.text == "1\n2\n")
        // Rotation to a file that cannot be read: reported once, retried with backoff.
        rename(log, log + ".1")
        append(log, "3\n")
        chmod(log, 0)
        try withFileAccessOfNobody {
            for _ in 0..<20 {
                clock.advance(by: .milliseconds(500))
                pollUntilQuiet(tailer)
            }
        }
        #expect(recorder.errors.map(\.errno) == [EACCES])
        #expect(recorder.errors.first?.operation == "open")
        // Readable again: followed from its head at the next retry.
        chmod(log, 0o644)
        try withFileAccessOfNobody {
            clock.advance(by: .seconds(10))
            pollUntilQuiet(tailer)
            clock.advance(by: .seconds(10))
            pollUntilQuiet(tailer)
        }
        #expect(recorder.text == "1\n2\n3\n")
        #expect(recorder.errors.count == 1)
    }

    @Test func aFIFOIsReadAsAStream() throws {
        let fifo = dir.file("pipe.log")
        try #require(mkfifo(fifo, 0o644) == 0)
        let tailer = tailer([fifo])
        pollUntilQuiet(tailer)
        // A writer comes, writes, goes; another comes later.
        for round in 0..<3 {
            let writer = open(fifo, O_WRONLY | O_NONBLOCK)
            try #require(writer >= 0)
            let text = "round \(round)\n"
            _ = text.withCString { write(writer, $0, strlen($0)) }
            pollUntilQuiet(tailer)
            close(writer)
            pollUntilQuiet(tailer)
        }
        #expect(recorder.text == "round 0\nround 1\nround 2\n")
        #expect(recorder.errors.isEmpty)
        #expect(tailer.status[0].lagBytes == 0)
        #expect(recorder.events == [.opened(InputID(rawValue: 1), fifo)])
    }

    @Test func aSymlinkLoopIsReportedOnceAndRetriedWithBackoffNotSpun() throws {
        let a = dir.file("a.log")
        let b = dir.file("b.log")
        symlink(b, a)
        symlink(a, b)
        let tailer = tailer([a, dir.file("*.log")]) {
            $0.retryBackoff = .seconds(1) ... .seconds(30)
        }
        for _ in 0..<50 { tailer.poll() }
        #expect(Set(recorder.errors.map(\.errno)) == [ELOOP])
        // Each path once (the literal and the two matches), not once per poll.
        #expect(recorder.errors.count == 2)
        // And backing off: the next attempt is in the future, doubling.
        let input = try #require(tailer.inputs.first)
        #expect(input.nextCheck > clock.now())
        clock.advance(by: .seconds(1))
        tailer.poll()
        clock.advance(by: .seconds(2))
        tailer.poll()
        #expect(input.retryDelay == .seconds(4))
        #expect(recorder.errors.count == 2)
    }

    @Test func aLineWrittenInPiecesIsDeliveredInPiecesAndSavedBeforeItsStart() {
        let log = dir.file("access.log")
        let tailer = tailer([log])
        append(log, "{\"a\":1}\n{\"b\":")
        pollUntilQuiet(tailer)
        #expect(tailer.savedPositions().first?.offset == 8)
        append(log, "2")
        pollUntilQuiet(tailer)
        append(log, "}\n")
        pollUntilQuiet(tailer)
        #expect(recorder.text == "{\"a\":1}\n{\"b\":2}\n")
        #expect(tailer.savedPositions().first?.offset == 16)
        #expect(tailer.status[0].linesRead == 2)
    }

    @Test func aDeviceIsReportedNotRead() {
        let tailer = tailer(["/dev/null"])
        pollUntilQuiet(tailer)
        pollUntilQuiet(tailer)
        #expect(recorder.errors.count == 1)
        #expect(recorder.errors.first?.description.contains("special file") == true)
    }

    @Test func zerosLeftByANonAppendingWriterAfterTruncationAreSkipped() {
        let log = dir.file("access.log")
        // The writer opened without O_APPEND: after a truncation it writes at its old offset.
        let writer = open(log, O_WRONLY | O_CREAT, 0o644)
        defer { close(writer) }
        let first = Array(String(repeating: "a", count: 99).utf8) + [0x0A]
        for _ in 0..<100 { _ = first.withUnsafeBytes { write(writer, $0.baseAddress, $0.count) } }
        let tailer = tailer([log])
        pollUntilQuiet(tailer)
        ftruncate(writer, 0)
        let after = Array("after the truncation\n".utf8)
        _ = after.withUnsafeBytes { write(writer, $0.baseAddress, $0.count) }  // lands at 10,000
        pollUntilQuiet(tailer)
        #expect(recorder.text.hasSuffix("a\nafter the truncation\n"))
        #expect(!recorder.text.contains("\0"))
        #expect(tailer.status[0].skippedBytes == 10_000)
        #expect(tailer.status[0].truncations == 1)
    }

    /// 10 GB of apparent size, nearly all hole: skipped with `SEEK_DATA`, in bounded memory and
    /// time (a sparse file takes no space, so this runs everywhere).
    @Test func aTenGigabyteSparseFileIsReadInBoundedMemory() throws {
        try followSparseFile(gigabytes: 10)
    }

    private func followSparseFile(gigabytes: Int64) throws {
        let log = dir.file("sparse.log")
        append(log, "first\n")
        let size = gigabytes << 30
        let fd = open(log, O_WRONLY)
        let tail = Array("last\n".utf8)
        tail.withUnsafeBytes { _ = pwrite(fd, $0.baseAddress, $0.count, off_t(size)) }
        close(fd)
        let before = residentBytes()
        let started = Date()
        let tailer = tailer([log])
        pollUntilQuiet(tailer, limit: 100_000)
        let seconds = Date().timeIntervalSince(started)
        #expect(recorder.text == "first\nlast\n")
        #expect(tailer.status[0].skippedBytes == UInt64(size - 6))
        #expect(tailer.status[0].offset == size + 5)
        #expect(residentBytes() - before < 32 << 20, "resident memory grew by \(residentBytes() - before) bytes")
        #expect(seconds < 5, "took \(seconds) s")
    }
}

/// Runs `body` with this thread's file-system identity set to `nobody`, when running as root
/// (which reads everything regardless of permissions). `setfsuid` acts on the calling thread
/// only, so tests running in parallel keep their identity; it is looked up with `dlsym` because
/// Glibc's Swift module does not declare it.
@discardableResult
func withFileAccessOfNobody<T>(_ body: () throws -> T) throws -> T {
    guard geteuid() == 0 else { return try body() }
    typealias SetFileSystemUser = @convention(c) (UInt32) -> Int32
    let symbol = try #require(dlsym(UnsafeMutableRawPointer(bitPattern: 0), "setfsuid"))
    let setfsuid = unsafeBitCast(symbol, to: SetFileSystemUser.self)
    _ = setfsuid(65534)
    defer { _ = setfsuid(0) }
    return try body()
}
