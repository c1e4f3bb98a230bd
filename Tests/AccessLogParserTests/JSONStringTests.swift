import Testing

@testable import AccessLogParser

@Suite struct JSONStringTests {
    func decoded(_ raw: String) -> [UInt8] {
        var out: [UInt8] = []
        Array(raw.utf8).withUnsafeBufferPointer { JSONString.decode($0, into: &out) }
        return out
    }

    @Test func standardEscapes() {
        #expect(decoded(#"\"\\\/\b\f\n\r\t"#) == [0x22, 0x5C, 0x2F, 0x08, 0x0C, 0x0A, 0x0D, 0x09])
    }

    @Test func unicode() {
        #expect(decoded(#"\u0041\u00e9\u20AC\uD834\uDD1E"#) == Array("Aé€𝄞".utf8))
        #expect(decoded(#"\uDD1E\uD834"#) == Array("\u{FFFD}\u{FFFD}".utf8))
        #expect(decoded(#"\uD834\u0041"#) == Array("\u{FFFD}A".utf8))
        #expect(decoded(#"\u00"#) == Array(#"\u00"#.utf8), "a cut \\u escape is kept as written")
        #expect(decoded(#"\uZZZZ"#) == Array(#"\uZZZZ"#.utf8))
    }

    @Test func octal() {
        #expect(decoded(#"\377\000\042\134"#) == [0xFF, 0x00, 0x22, 0x5C])
        #expect(decoded(#"\477"#) == Array(#"\477"#.utf8), "only \\0xx-\\3xx are bytes")
        #expect(decoded(#"\37"#) == Array(#"\37"#.utf8))
    }

    @Test func unknownEscapesAndTrailingBackslashAreKept() {
        #expect(decoded(#"\x41\q"#) == Array(#"\x41\q"#.utf8))
        #expect(decoded(#"abc\"#) == Array(#"abc\"#.utf8))
    }
}
