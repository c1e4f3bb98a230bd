import Testing

@testable import AccessLogParser

@Suite struct LineFramerTests {
    enum Event: Equatable {
        case line(String)
        case oversized
    }

    /// Frames `input` fed in pieces cut at `cuts`, then finishes.
    func frame(_ input: [UInt8], cuts: [Int], maxLineLength: Int = 64) -> [Event] {
        var framer = LineFramer(maxLineLength: maxLineLength)
        var events: [Event] = []
        var bounds = [0] + cuts.filter { $0 > 0 && $0 < input.count }.sorted() + [input.count]
        bounds = bounds.reduce(into: []) { if $0.last != $1 { $0.append($1) } }
        input.withUnsafeBufferPointer { buffer in
            for k in 0..<(bounds.count - 1) {
                let chunk = UnsafeBufferPointer(rebasing: buffer[bounds[k]..<bounds[k + 1]])
                var cursor = 0
                while let line = framer.next(in: chunk, cursor: &cursor) {
                    events.append(Self.event(line))
                }
            }
        }
        if let last = framer.finish() { events.append(Self.event(last)) }
        return events
    }

    static func event(_ line: LineFramer.Line) -> Event {
        switch line {
        case .line(let bytes): .line(String(decoding: bytes, as: UTF8.self))
        case .oversized: .oversized
        }
    }

    @Test func splitsLinesAndStripsCR() {
        let input = Array("a\nbb\r\n\nccc\nlast".utf8)
        #expect(frame(input, cuts: []) == [.line("a"), .line("bb"), .line(""), .line("ccc"), .line("last")])
    }

    @Test func sameLinesWhereverTheReadsAreCut() {
        let text = "first line\nsecond, a bit longer line\r\n\nthird\n" + String(repeating: "x", count: 60) + "\nend"
        let input = Array(text.utf8)
        let expected = frame(input, cuts: [])
        for a in 0...input.count {
            #expect(frame(input, cuts: [a]) == expected, "cut at \(a)")
        }
        for size in 1...9 {
            #expect(
                frame(input, cuts: Array(stride(from: size, to: input.count, by: size))) == expected,
                "chunks of \(size)")
        }
    }

    @Test func oversizedLinesAreSkippedToTheirNewlineWhereverTheyAreCut() {
        let text =
            "ok\n" + String(repeating: "y", count: 100) + "\nafter\n" + String(repeating: "z", count: 65) + "\nend\n"
        let input = Array(text.utf8)
        let expected: [Event] = [.line("ok"), .oversized, .line("after"), .oversized, .line("end")]
        #expect(frame(input, cuts: []) == expected)
        for a in 0...input.count {
            #expect(frame(input, cuts: [a]) == expected, "cut at \(a)")
            #expect(frame(input, cuts: [a, a + 7, a + 50]) == expected, "cuts at \(a)+")
        }
    }

    @Test func aLineOfExactlyTheBoundIsKept() {
        let exact = String(repeating: "e", count: 64)
        #expect(frame(Array((exact + "\n").utf8), cuts: [10]) == [.line(exact)])
        #expect(frame(Array((exact + "e\n").utf8), cuts: [10]) == [.oversized])
    }

    @Test func oversizedLineWithoutNewlineAtEndOfInput() {
        let input = Array(("a\n" + String(repeating: "q", count: 200)).utf8)
        #expect(frame(input, cuts: [50, 100]) == [.line("a"), .oversized])
    }

    @Test func carryBufferGrowsOnlyAsNeeded() {
        var framer = LineFramer(maxLineLength: 1 << 20)
        let big = Array(String(repeating: "b", count: 300_000).utf8)
        big.withUnsafeBufferPointer { buffer in
            var cursor = 0
            #expect(framer.next(in: UnsafeBufferPointer(rebasing: buffer[0..<100]), cursor: &cursor) == nil)
            #expect(framer.carryCount == 100)
            cursor = 0
            #expect(framer.next(in: UnsafeBufferPointer(rebasing: buffer[100...]), cursor: &cursor) == nil)
            #expect(framer.carryCount == 300_000)
        }
        guard case .line(let line)? = framer.finish() else {
            Issue.record("expected the unfinished line at the end")
            return
        }
        #expect(line.count == 300_000)
    }
}

extension LineFramer.Line: Equatable {
    public static func == (a: Self, b: Self) -> Bool {
        switch (a, b) {
        case (.oversized, .oversized): true
        case (.line(let x), .line(let y)): Array(x) == Array(y)
        default: false
        }
    }
}
