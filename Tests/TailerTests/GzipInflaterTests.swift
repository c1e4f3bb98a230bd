import Testing

@testable import Tailer

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// gzip test data is made by the `gzip` program, so the inflater is checked against the real
/// format rather than against itself.
func gzipped(_ text: String, in dir: TemporaryDirectory, name: String = "input") -> [UInt8] {
    let plain = dir.file(name)
    append(plain, text)
    precondition(system("gzip -n -f '\(plain)'") == 0)
    return contents(plain + ".gz")
}

@Suite struct GzipInflaterTests {
    let dir = TemporaryDirectory()

    func inflate(_ bytes: [UInt8], chunk: Int = 7) -> (String, GzipReadError?) {
        var out: [UInt8] = []
        do {
            let inflater = try GzipInflater(path: "test.gz", outputChunkSize: 4096)
            try bytes.withUnsafeBytes { all in
                var start = 0
                // Fed in small uneven pieces: a streaming reader must not care where reads end.
                while start < all.count {
                    let end = min(all.count, start + chunk)
                    try inflater.feed(UnsafeRawBufferPointer(rebasing: all[start..<end])) { out += $0 }
                    start = end
                }
            }
            try inflater.finish()
            return (String(decoding: out, as: UTF8.self), nil)
        } catch let error as GzipReadError {
            return (String(decoding: out, as: UTF8.self), error)
        } catch {
            Issue.record("unexpected \(error)")
            return ("", nil)
        }
    }

    @Test func oneMember() {
        let text = (0..<2000).map { "line \($0)\n" }.joined()
        let (out, error) = inflate(gzipped(text, in: dir), chunk: 1000)
        #expect(error == nil)
        #expect(out == text)
    }

    @Test func multipleMembersAreReadOneAfterAnother() {
        let joined = gzipped("first member\n", in: dir, name: "a") + gzipped("second member\n", in: dir, name: "b")
        let (out, error) = inflate(joined)
        #expect(error == nil)
        #expect(out == "first member\nsecond member\n")
    }

    @Test func zeroPaddingAfterTheLastMemberIsIgnored() {
        let (out, error) = inflate(gzipped("x\n", in: dir) + [UInt8](repeating: 0, count: 100))
        #expect(error == nil && out == "x\n")
    }

    @Test func aTruncatedFileDeliversWhatCameBeforeAndSaysWhere() {
        let text = (0..<20_000).map { "request \($0) done\n" }.joined()
        let whole = gzipped(text, in: dir)
        let cut = Array(whole[0..<(whole.count / 2)])
        let (out, error) = inflate(cut, chunk: 4096)
        #expect(error?.compressedOffset == Int64(cut.count))
        #expect(error?.description.contains("truncated") == true)
        // Everything inflated is a prefix of the original, and holds many complete lines.
        #expect(text.hasPrefix(out))
        #expect(out.split(separator: "\n").count > 1000)
    }

    @Test func corruptDataIsReportedWithItsOffset() {
        var bytes = gzipped((0..<500).map { "row \($0)\n" }.joined(), in: dir)
        for index in 30..<60 { bytes[index] ^= 0xff }
        let (_, error) = inflate(bytes, chunk: 4096)
        #expect(error != nil)
        #expect((error?.compressedOffset ?? 0) > 0)
    }

    @Test func notGzipAtAll() {
        let (_, error) = inflate(Array("plain text\n".utf8))
        #expect(error != nil)
    }
}
