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
