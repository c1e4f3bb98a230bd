import Testing

@testable import Tailer

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

@Suite struct LogFileReaderTests {
    let dir = TemporaryDirectory()

    func read(_ path: String) throws -> (String, LogFileReader.Summary) {
        var out: [UInt8] = []
        let summary = try LogFileReader(chunkSize: 4096).read(path: path) { out += $0 }
        return (String(decoding: out, as: UTF8.self), summary)
    }

    @Test func plainFilesAreReadAsTheyAre() throws {
        append(dir.file("a.log"), "one\ntwo\n")
        let (text, summary) = try read(dir.file("a.log"))
        #expect(text == "one\ntwo\n")
        #expect(!summary.wasCompressed && summary.fileBytes == 8 && summary.deliveredBytes == 8)
    }

    @Test func gzipIsRecognisedByItsMagicNotItsName() throws {
        let text = (0..<5000).map { "line \($0)\n" }.joined()
        let compressed = gzipped(text, in: dir, name: "0.log.20240101-120000")
        append(dir.file("misnamed.log"), bytes: compressed)
        let (out, summary) = try read(dir.file("misnamed.log"))
        #expect(out == text)
        #expect(summary.wasCompressed && summary.gzipError == nil)
        #expect(summary.fileBytes == Int64(compressed.count))
    }

    @Test func aTruncatedGzipEndsTheFileWithItsErrorAfterItsCompleteLines() throws {
        let text = (0..<20_000).map { "line \($0)\n" }.joined()
        let compressed = gzipped(text, in: dir)
        append(dir.file("cut.gz"), bytes: Array(compressed[0..<(compressed.count - 100)]))
        let (out, summary) = try read(dir.file("cut.gz"))
        #expect(summary.gzipError != nil)
        #expect(summary.gzipError?.path == dir.file("cut.gz"))
        #expect(text.hasPrefix(out) && out.count > text.count / 2)
    }

    @Test func aMissingFileThrowsNamingIt() {
        do {
            _ = try read(dir.file("nope.log"))
            Issue.record("no error")
        } catch let error as SystemError {
            #expect(error.operation == "open" && error.errno == ENOENT)
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}

/// Files of a megabyte or more are read through mapped windows: the same bytes, and a file
/// truncated while it is read ends where it was cut instead of killing the process. Windows of
/// 64 KiB in slices of 16 KiB, so that the files cross many of both.
@Suite struct MappedLogFileReaderTests {
    let dir = TemporaryDirectory()

    func reader() -> LogFileReader {
        let reader = LogFileReader()
        reader.windowSize = 64 << 10
        reader.sliceSize = 16 << 10
        return reader
    }

    /// `count` numbered lines of about 17 bytes, different enough that a misplaced byte shows.
    func lines(_ count: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count * 20)
        for k in 0..<count { out += Array("line \(k) \(String(k &* 2_654_435_761 % 1_000_003, radix: 16))\n".utf8) }
        return out
    }

    @Test func aLargeFileIsReadByteForByte() throws {
        let content = lines(100_000)
        let reader = reader()
        #expect(content.count > 10 * reader.windowSize)
        append(dir.file("big.log"), bytes: content)
        var out: [UInt8] = []
        var calls = 0
        let summary = try reader.read(path: dir.file("big.log")) {
            out += $0
            calls += 1
        }
        #expect(out == content)
        #expect(summary.fileBytes == Int64(content.count) && summary.deliveredBytes == Int64(content.count))
        #expect(calls == (content.count + reader.sliceSize - 1) / reader.sliceSize)
        #expect(!summary.truncatedWhileRead)
    }

    @Test func aDescriptorIsReadFromItsOffset() throws {
        let content = lines(100_000)
        append(dir.file("offset.log"), bytes: content)
        let fd = open(dir.file("offset.log"), O_RDONLY)
        defer { close(fd) }
        let skip = 100_003  // not on a page
        lseek(fd, off_t(skip), SEEK_SET)
        var out: [UInt8] = []
        _ = try reader().read(descriptor: fd, name: "offset.log") { out += $0 }
        #expect(out == Array(content[skip...]))
        #expect(lseek(fd, 0, SEEK_CUR) == off_t(content.count))
    }

    @Test func aFileThatGrowsWhileReadIsReadToItsNewEnd() throws {
        let content = lines(100_000)
        let more = lines(20_000)
        let path = dir.file("growing.log")
        append(path, bytes: content)
        var out: [UInt8] = []
        _ = try reader().read(path: path) { chunk in
            if out.isEmpty { append(path, bytes: more) }
            out += chunk
        }
        #expect(out == content + more)
    }

    @Test func aLargeGzipFileIsStillInflated() throws {
        // Hex of a multiplicative sequence compresses poorly enough to stay over a megabyte.
        var text = ""
        var x: UInt64 = 1
        for _ in 0..<120_000 {
            x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            text += String(x, radix: 16) + String(x >> 7, radix: 16) + "\n"
        }
        let compressed = gzipped(text, in: dir)
        #expect(Int64(compressed.count) >= LogFileReader.mappingThreshold)
        append(dir.file("big.gz"), bytes: compressed)
        var out: [UInt8] = []
        let summary = try reader().read(path: dir.file("big.gz")) { out += $0 }
        #expect(summary.wasCompressed && summary.gzipError == nil)
        #expect(out == Array(text.utf8))
    }

    /// Truncated to `cut` bytes once the first slice is delivered (and copied): the read ends at
    /// the cut (or where it already was), with the file's own bytes only, and no SIGBUS.
    func readTruncated(to cut: Int) throws -> (delivered: [UInt8], content: [UInt8], summary: LogFileReader.Summary) {
        let content = lines(100_000)
        let path = dir.file("cut-\(cut).log")
        append(path, bytes: content)
        var out: [UInt8] = []
        let summary = try reader().read(path: path) { chunk in
            // Copied first: bytes that were handed on and then cut away read as zeros.
            let first = out.isEmpty
            out += chunk
            if first { #expect(truncate(path, off_t(cut)) == 0) }
        }
        return (out, content, summary)
    }

    @Test func aFileTruncatedWhileMappedEndsWhereItWasCut() throws {
        // Mid-window and not on a page boundary: the rest of the page holding the new end reads
        // as zeros, and the pages after it fault.
        let cut = 5 * (16 << 10) / 2 + 100
        let (out, content, summary) = try readTruncated(to: cut)
        #expect(out == Array(content[0..<cut]))
        #expect(!summary.truncatedWhileRead)
    }

    @Test func aFileTruncatedPastAWindowEndsWhereItWasCut() throws {
        let cut = 3 * (64 << 10) + 5000
        let (out, content, summary) = try readTruncated(to: cut)
        #expect(out == Array(content[0..<cut]))
        #expect(!summary.truncatedWhileRead)
    }

    /// Cut below bytes already handed on, while they were held: the reader cannot tell whether
    /// the cut came after they were parsed (here it did) or while (the rest of the page holding
    /// the new end would have read as zeros, with no fault), so it says so.
    @Test func aFileTruncatedBelowWhatWasReadEndsThere() throws {
        let (out, content, summary) = try readTruncated(to: 1000)
        #expect(out == Array(content[0..<(16 << 10)]))
        #expect(summary.truncatedWhileRead)
    }

    @Test func aFileEmptiedWhileMappedEndsThere() throws {
        let (out, content, summary) = try readTruncated(to: 0)
        #expect(out == Array(content[0..<(16 << 10)]))
        #expect(summary.truncatedWhileRead)
    }

    /// A read that starts mid-page has slices that share a page with the one before. Cut at the
    /// start of that page between two slices, the second slice's touch faults below where it
    /// begins: the bytes handed on before were the file's own, and no cut under them is reported.
    @Test func aCutBelowAMidPageSliceStartIsNotTakenForACutUnderReadBytes() throws {
        let content = lines(100_000)
        let path = dir.file("mid-page.log")
        append(path, bytes: content)
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        let skip = 100
        lseek(fd, off_t(skip), SEEK_SET)
        let cut = 16 << 10  // the page holding the second slice's first byte, with 4 KiB pages
        let reader = reader()
        reader.hooks = MappedSliceHooks(beforeTouch: { from in
            if from > skip { #expect(truncate(path, off_t(cut)) == 0) }
        })
        var out: [UInt8] = []
        let summary = try reader.read(descriptor: fd, name: "mid-page.log") { out += $0 }
        #expect(out == Array(content[skip..<(skip + (16 << 10))]))
        #expect(!summary.truncatedWhileRead)
    }

    /// A page that faults though the file reaches it again by the time its size is looked at
    /// (here: cut and written back at once) is read with read(2), from where the mapping stopped.
    @Test func aFaultTheFileStillReachesIsReadAgainWithRead() throws {
        let content = lines(100_000)
        let path = dir.file("fault-then-read.log")
        append(path, bytes: content)
        let reader = reader()
        let slice = reader.sliceSize
        var restored = false
        reader.hooks = MappedSliceHooks(afterTouch: { fault in
            guard fault >= 0, !restored else { return }
            restored = true
            let fd = open(path, O_WRONLY)
            defer { close(fd) }
            let written = content[slice...].withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(slice)) }
            #expect(written == content.count - slice)
        })
        var out: [UInt8] = []
        let summary = try reader.read(path: path) { chunk in
            let first = out.isEmpty
            out += chunk
            if first { #expect(truncate(path, off_t(slice)) == 0) }
        }
        #expect(restored)
        #expect(out == content)
        #expect(!summary.truncatedWhileRead)
        #expect(summary.deliveredBytes == Int64(content.count))
    }

    /// A page lost under bytes being parsed, while the file still reaches it, is an error: those
    /// bytes were handed on as zeros, and no truncation explains it.
    @Test func aFaultUnderReadBytesTheFileStillReachesIsAnError() throws {
        let content = lines(100_000)
        let path = dir.file("fault-under.log")
        append(path, bytes: content)
        var calls = 0
        #expect(throws: SystemError.self) {
            _ = try reader().read(path: path) { chunk in
                calls += 1
                guard calls == 1 else { return }
                #expect(truncate(path, 5000) == 0)
                _ = chunk.reduce(0, &+)  // faults in the pages past the cut
                let fd = open(path, O_WRONLY)
                defer { close(fd) }
                _ = content[5000...].withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 5000) }
            }
        }
        #expect(calls == 1)
    }

    /// Cut while a slice handed on is still being read: the bytes past the cut read as zeros,
    /// which the summary says, and the read stops there.
    @Test func aCutUnderBytesBeingReadIsReported() throws {
        let content = lines(100_000)
        let path = dir.file("cut-under.log")
        append(path, bytes: content)
        let cut = 5000
        var out: [UInt8] = []
        let summary = try reader().read(path: path) { chunk in
            if out.isEmpty { #expect(truncate(path, off_t(cut)) == 0) }
            out += chunk
        }
        // Pages wholly past the cut fault; with 4 KiB pages the slice's last two do.
        #expect(summary.truncatedWhileRead || sysconf(Int32(_SC_PAGESIZE)) > 8192)
        #expect(out.count == 16 << 10)
        #expect(Array(out[0..<cut]) == Array(content[0..<cut]))
        #expect(out[cut...].allSatisfy { $0 == 0 })
    }
}

/// The SIGBUS handler passes on what is not its own as the previous action would have taken it,
/// each scenario in a process of its own (`Tests/MappedFileProbe`).
@Suite struct MappedFileSignalTests {
    let dir = TemporaryDirectory()

    /// The probe beside the test executable in the build directory.
    static let probe: String = {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return ".build/debug/mapped-file-probe" }
        let executable = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return executable.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
            + "/mapped-file-probe"
    }()

    /// The probe's wait status for `scenario`.
    func run(_ scenario: String) throws -> Int32 {
        let path = dir.file("\(scenario).bin")
        append(path, bytes: [UInt8](repeating: 0x61, count: 64 << 10))
        var pid: pid_t = 0
        let arguments = [Self.probe, scenario, path]
        var argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let spawned = posix_spawn(&pid, Self.probe, nil, nil, &argv, environ)
        try #require(spawned == 0, "spawning \(Self.probe): errno \(spawned)")
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return status
    }

    func killedBySIGBUS(_ status: Int32) -> Bool { status & 0x7f == SIGBUS }
    func exitCode(_ status: Int32) -> Int32? { status & 0x7f == 0 ? (status >> 8) & 0xff : nil }

    @Test func aSentSIGBUSStillEndsTheProcessByDefault() throws {
        #expect(killedBySIGBUS(try run("kill-default")))
    }

    @Test func aSentSIGBUSStillIgnoredIsIgnored() throws {
        #expect(exitCode(try run("kill-ignored")) == 0)
    }

    @Test func aFaultOutsideEveryWindowStillEndsTheProcess() throws {
        #expect(killedBySIGBUS(try run("fault-default")))
        // A fault cannot be ignored: ignoring SIGBUS does not keep the process alive.
        #expect(killedBySIGBUS(try run("fault-ignored")))
    }

    /// `SA_RESETHAND`: the previous handler runs once, the next `SIGBUS` meets the default
    /// action, and mapped windows stay protected throughout.
    @Test func aPreviousHandlerRunsOnceWhenItAskedFor() throws {
        #expect(exitCode(try run("kill-reset-hand")) == 10)
        #expect(killedBySIGBUS(try run("kill-reset-hand-twice")))
    }

    @Test func aPreviousHandlerRunsWithItsMask() throws {
        #expect(exitCode(try run("kill-masked")) == 10)
    }
}
