import Testing

@testable import Tailer

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A backlog of several megabytes (a catch-up) is read through mapped windows instead of
/// `pread`; copytruncate while those bytes are parsed must lose and double nothing.
@Suite struct MappedTailerTests {
    let dir = TemporaryDirectory()
    let clock = ManualClock()
    let recorder = Recorder()

    func tailer(_ patterns: [String]) -> Tailer {
        Tailer(patterns: patterns, configuration: steppedConfiguration(), events: recorder, clock: clock)
    }

    /// About 20 MB of numbered lines: more than two windows.
    func backlog() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(21 << 20)
        var k = 0
        while out.count < 20 << 20 {
            out += Array("{\"line\":\(k),\"path\":\"/api/v1/items/\(k &* 7919 % 100_003)\",\"code\":200}\n".utf8)
            k += 1
        }
        return out
    }

    @Test func aLargeBacklogIsReadThroughMappedWindowsByteForByte() throws {
        let log = dir.file("access.log")
        let content = backlog()
        append(log, bytes: content)
        let tailer = tailer([log])
        pollUntilQuiet(tailer)
        // Compared first: a failed expectation on two 20 MB arrays would try to diff them.
        let same = recorder.bytes.values.first == content
        #expect(same)
        #expect(recorder.largestChunk <= TailerConfiguration().readBufferSize)
        let file = try #require(tailer.inputs.first?.generations.first)
        #expect(file.windowsMapped >= Int(Int64(content.count) / Int64(FileWatcher.mappingWindow)))
        #expect(tailer.status[0].linesRead == UInt64(content.count(where: { $0 == 0x0A })))
    }

    @Test func aSmallBacklogIsStillRead() throws {
        let log = dir.file("access.log")
        append(log, "line 1\n")
        let tailer = tailer([log])
        pollUntilQuiet(tailer)
        #expect(recorder.text == "line 1\n")
        #expect(try #require(tailer.inputs.first?.generations.first).windowsMapped == 0)
    }

    /// logrotate's copytruncate while a piece of the window is being parsed: the piece reads as
    /// zeros from the cut on. The unfinished line is taken back and read again from the copy,
    /// so what arrives is the file's content, whole and once, then the new file's.
    @Test func copytruncateWhileAMappedPieceIsParsedLosesAndDoublesNothing() throws {
        let log = dir.file("access.log")
        let content = backlog()
        append(log, bytes: content)
        var cut = false
        recorder.beforeRead = { _, delivered in
            guard !cut, delivered >= 3 << 20 else { return }
            cut = true
            append(dir.file("access.log.1"), bytes: contents(log))
            truncate(log, 0)
            append(log, "x\n")
        }
        let tailer = tailer([log])
        pollUntilQuiet(tailer)
        #expect(cut)
        let delivered = recorder.bytes.values.first ?? []
        let clean = !delivered.contains(0)
        #expect(clean)
        let whole = delivered == content + Array("x\n".utf8)
        #expect(whole, "\(delivered.count) bytes delivered of \(content.count + 2)")
        #expect(recorder.withdrawn > 0)
        #expect(tailer.status[0].truncations == 1)
    }

    /// Cut between two turns, with no copy: the read ends at the cut without a fault reaching
    /// anyone, and the file is read again from its new start.
    @Test func aCutBetweenTurnsEndsTheMappedReadAtTheCut() throws {
        let log = dir.file("access.log")
        let content = backlog()
        append(log, bytes: content)
        let tailer = tailer([log])
        tailer.poll()
        let first = recorder.bytes.values.first?.count ?? 0
        #expect(first > 0 && first < content.count)
        truncate(log, 0)
        append(log, "y\n")
        pollUntilQuiet(tailer)
        let delivered = recorder.bytes.values.first ?? []
        let clean = !delivered.contains(0)
        #expect(clean)
        let prefix = delivered.prefix(first).elementsEqual(content.prefix(first))
        #expect(prefix)
        #expect(delivered.suffix(2) == Array("y\n".utf8))
        #expect(recorder.events.contains(.truncated(InputID(rawValue: 1), UInt64(content.count - first))))
    }
}
