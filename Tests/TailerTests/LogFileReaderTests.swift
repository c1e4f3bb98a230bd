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
/// truncated while it is read ends where it was cut instead of killing the process.
@Suite struct MappedLogFileReaderTests {
    let dir = TemporaryDirectory()

    /// `count` numbered lines of about 40 bytes, different enough that a misplaced byte shows.
    func lines(_ count: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count * 40)
        for k in 0..<count { out += Array("line \(k) \(String(k &* 2_654_435_761 % 1_000_003, radix: 16))\n".utf8) }
        return out
    }

    @Test func aLargeFileIsReadByteForByte() throws {
        let content = lines(200_000)
        #expect(content.count > 3 * LogFileReader.sliceSize)
        append(dir.file("big.log"), bytes: content)
        var out: [UInt8] = []
        var calls = 0
        let summary = try LogFileReader().read(path: dir.file("big.log")) {
            out += $0
            calls += 1
        }
        #expect(out == content)
        #expect(summary.fileBytes == Int64(content.count) && summary.deliveredBytes == Int64(content.count))
        #expect(calls == (content.count + LogFileReader.sliceSize - 1) / LogFileReader.sliceSize)
    }

    @Test func aDescriptorIsReadFromItsOffset() throws {
        let content = lines(100_000)
        append(dir.file("offset.log"), bytes: content)
        let fd = open(dir.file("offset.log"), O_RDONLY)
        defer { close(fd) }
        let skip = 1_500_003
        lseek(fd, off_t(skip), SEEK_SET)
        var out: [UInt8] = []
        _ = try LogFileReader().read(descriptor: fd, name: "offset.log") { out += $0 }
        #expect(out == Array(content[skip...]))
        #expect(lseek(fd, 0, SEEK_CUR) == off_t(content.count))
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
        let summary = try LogFileReader().read(path: dir.file("big.gz")) { out += $0 }
        #expect(summary.wasCompressed && summary.gzipError == nil)
        #expect(out == Array(text.utf8))
    }

    /// Truncated to `cut` bytes once the first slice is delivered: the read ends at the cut (or
    /// where it already was), with the file's own bytes only, and no SIGBUS.
    func readTruncated(to cut: Int) throws -> (delivered: [UInt8], content: [UInt8]) {
        let content = lines(300_000)
        let path = dir.file("cut-\(cut).log")
        append(path, bytes: content)
        var out: [UInt8] = []
        _ = try LogFileReader().read(path: path) { chunk in
            // Copied first: bytes that were handed on and then cut away read as zeros.
            let first = out.isEmpty
            out += chunk
            if first { #expect(truncate(path, off_t(cut)) == 0) }
        }
        return (out, content)
    }

    @Test func aFileTruncatedWhileMappedEndsWhereItWasCut() throws {
        // Not on a page boundary: the rest of the page holding the new end reads as zeros.
        let cut = 5 * LogFileReader.sliceSize / 2 + 100
        let (out, content) = try readTruncated(to: cut)
        #expect(out == Array(content[0..<cut]))
    }

    @Test func aFileTruncatedBelowWhatWasReadEndsThere() throws {
        let (out, content) = try readTruncated(to: 1000)
        #expect(out == Array(content[0..<LogFileReader.sliceSize]))
    }

    @Test func aFileEmptiedWhileMappedEndsThere() throws {
        let (out, content) = try readTruncated(to: 0)
        #expect(out == Array(content[0..<LogFileReader.sliceSize]))
    }
}
