import CByteScan
import Testing

@testable import AccessLogParser

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

@Suite struct QuoteMaskTests {
    /// The quotes that delimit strings, found one byte at a time.
    static func expectedQuotes(_ bytes: [UInt8]) -> [Int] {
        var result: [Int] = []
        var escaped = false
        for (k, c) in bytes.enumerated() {
            if escaped {
                escaped = false
            } else if c == UInt8(ascii: "\\") {
                escaped = true
            } else if c == UInt8(ascii: "\"") {
                result.append(k)
            }
        }
        return result
    }

    static func markedQuotes(_ bytes: [UInt8]) -> (quotes: [Int], hasBackslash: Bool) {
        var mask = QuoteMask()
        defer { mask.deallocate() }
        return bytes.withUnsafeBufferPointer { buffer in
            mask.build(buffer.baseAddress!, buffer.count)
            var cursor = QuoteCursor(mask, count: buffer.count)
            var quotes: [Int] = []
            while true {
                let position = cursor.next()
                if position >= buffer.count { break }
                quotes.append(position)
            }
            return (quotes, mask.hasBackslash)
        }
    }

    /// Every length around the 64-byte blocks and the tail, with quotes and backslashes at every
    /// kind of position, including a backslash at a block's last byte escaping the next block's
    /// first quote.
    @Test func marksExactlyTheDelimitingQuotes() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        let alphabet: [UInt8] = Array("\"\\ab{}:,".utf8) + [0, 0x80, 0xFF]
        for length in 1...300 {
            for _ in 0..<8 {
                let bytes = (0..<length).map { _ in alphabet[Int(next() % UInt64(alphabet.count))] }
                let marked = Self.markedQuotes(bytes)
                #expect(marked.quotes == Self.expectedQuotes(bytes), "line \(bytes)")
                #expect(marked.hasBackslash == bytes.contains(UInt8(ascii: "\\")))
            }
        }
    }

    @Test func escapeAcrossABlockBoundary() {
        var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: 130)
        bytes[63] = UInt8(ascii: "\\")
        bytes[64] = UInt8(ascii: "\"")
        bytes[127] = UInt8(ascii: "\"")
        #expect(Self.markedQuotes(bytes).quotes == [127])
    }

    @Test func aLineWithoutQuotesEndsAtItsEnd() {
        let bytes = [UInt8](repeating: UInt8(ascii: "x"), count: 200)
        #expect(Self.markedQuotes(bytes).quotes.isEmpty)
    }

    /// Every kernel the CPU has (portable, AVX2, AVX-512) gives the same map, and none reads past
    /// the line: each line ends right before a page that may not be read.
    @Test func everyKernelMarksTheSameQuotesAndReadsOnlyTheLine() throws {
        try GuardedPage.with { end, page in
            var state: UInt64 = 0x2545_F491_4F6C_DD1D
            func next() -> UInt64 {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return state >> 33
            }
            let alphabet: [UInt8] = Array("\"\\ab{}:,".utf8) + [0, 0x80, 0xFF]
            var words = [UInt64](repeating: 0, count: page / 64 + 3)
            var kernels = 0
            for kernel in Int32(0)...2 {
                guard cbytescan_build_quote_map_using(kernel, end - 1, 1, &words) >= 0 else { continue }
                kernels += 1
                for length in Array(0...300) + [page - 1, page] {
                    for _ in 0..<4 {
                        let line = end - length
                        for k in 0..<length { line[k] = alphabet[Int(next() % UInt64(alphabet.count))] }
                        let poison: UInt64 = 0xDEAD_BEEF_DEAD_BEEF
                        for k in words.indices { words[k] = poison }
                        let backslash = cbytescan_build_quote_map_using(kernel, line, length, &words)
                        var expected = [UInt64](repeating: 0, count: (length + 63) / 64)
                        for k in 0..<length where line[k] == UInt8(ascii: "\"") {
                            expected[k / 64] |= 1 << UInt64(k % 64)
                        }
                        #expect(Array(words[0..<expected.count]) == expected, "kernel \(kernel), length \(length)")
                        #expect(words[expected.count] == 1, "kernel \(kernel): the word after the line")
                        #expect(words[expected.count + 1] == poison, "kernel \(kernel): nothing written past it")
                        #expect((backslash != 0) == (0..<length).contains { line[$0] == UInt8(ascii: "\\") })
                    }
                }
            }
            #expect(kernels >= 1)
        }
    }

    /// The newline counters (what the tailer counts lines with) agree with a plain count at every
    /// length and alignment, for every kernel the CPU has.
    @Test func everyByteCounterCountsExactly() {
        var state: UInt64 = 0x1234_5678_9ABC_DEF1
        let bytes: [UInt8] = (0..<2000).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return [0x0A, 0x0A, 0x61, 0x00, 0xFF][Int(state >> 61) % 5]
        }
        bytes.withUnsafeBufferPointer { buffer in
            for kernel in Int32(0)...2 {
                guard cbytescan_count_byte_using(kernel, buffer.baseAddress!, 0, 0x0A) >= 0 else { continue }
                for start in 0..<70 {
                    for length in [0, 1, 31, 32, 33, 63, 64, 65, 254, 255, 256, 511, 1000, 1900] {
                        let expected = bytes[start..<(start + length)].filter { $0 == 0x0A }.count
                        #expect(
                            cbytescan_count_byte_using(kernel, buffer.baseAddress! + start, length, 0x0A) == expected,
                            "kernel \(kernel), start \(start), length \(length)")
                    }
                }
            }
            #expect(cbytescan_count_byte(buffer.baseAddress!, 2000, 0xFF) == bytes.filter { $0 == 0xFF }.count)
        }
    }
}
