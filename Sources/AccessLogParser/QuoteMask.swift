#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Stage one of the JSON scanner: where the quotes of a line that open or close strings are.
///
/// Finding string ends one by one costs a search and an unpredictable loop exit per string, and
/// an Envoy record holds about fifty strings. Marking every quote of the line first, eight bytes
/// per step without branches, lets the scanner step from quote to quote with a `tzcnt` each.
///
/// The map holds one bit per byte of the line, 64 to a word, and one more word past the end with
/// its lowest bit set, so that stepping past the last quote needs no bound check. Escaped quotes
/// (`\"`) are cleared; lines without a backslash, nearly all access-log lines, skip that step
/// after one `memchr`.
@usableFromInline
struct QuoteMask {
    @usableFromInline var words: UnsafeMutablePointer<UInt64>
    @usableFromInline var capacity: Int
    /// Whether the last line built contained a backslash anywhere.
    @usableFromInline var hasBackslash = false

    init() {
        capacity = 128
        words = .allocate(capacity: capacity)
    }

    func deallocate() {
        words.deallocate()
    }

    /// Builds the map for `p[0..<n]`.
    @inline(__always)
    mutating func build(_ p: UnsafePointer<UInt8>, _ n: Int) {
        let wordCount = (n &+ 63) &>> 6
        if wordCount &+ 1 > capacity { grow(to: wordCount &+ 1) }
        let raw = UnsafeRawPointer(p)
        var offset = 0
        var word = 0
        while offset &+ 64 <= n {
            // Safe because offset + 64 <= n: the four loads lie inside the line.
            var bits = Self.quoteBits(raw.loadUnaligned(fromByteOffset: offset, as: SIMD16<UInt8>.self))
            bits |= Self.quoteBits(raw.loadUnaligned(fromByteOffset: offset &+ 16, as: SIMD16<UInt8>.self)) &<< 16
            bits |= Self.quoteBits(raw.loadUnaligned(fromByteOffset: offset &+ 32, as: SIMD16<UInt8>.self)) &<< 32
            bits |= Self.quoteBits(raw.loadUnaligned(fromByteOffset: offset &+ 48, as: SIMD16<UInt8>.self)) &<< 48
            words[word] = bits
            word &+= 1
            offset &+= 64
        }
        if offset < n {
            var bits: UInt64 = 0
            var k = 0
            while offset &+ 8 <= n {
                bits |=
                    Self.pack(Self.quoteBytes(raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self))) &<< UInt64(k)
                offset &+= 8
                k &+= 8
            }
            if offset < n {
                var tail: UInt64 = 0
                withUnsafeMutableBytes(of: &tail) {
                    $0.baseAddress!.copyMemory(from: raw + offset, byteCount: n &- offset)
                }
                // Zero padding is not a quote, so the tail word needs no masking.
                bits |= Self.pack(Self.quoteBytes(tail)) &<< UInt64(k)
            }
            words[word] = bits
            word &+= 1
        }
        words[word] = 1
        hasBackslash = memchr(p, Int32(asciiBackslash), n) != nil
        if hasBackslash { clearEscapedQuotes(p, n) }
    }

    /// One bit per quote among sixteen bytes, in the low sixteen bits.
    @inline(__always)
    static func quoteBits(_ v: SIMD16<UInt8>) -> UInt64 {
        // Per lane, (x - 1) & ~x has its top bit set exactly when x == 0 (lanes do not borrow
        // from each other). Lane arithmetic rather than `.==` keeps this in vector registers:
        // the mask type's conversions compile to a per-lane loop.
        let x = v ^ SIMD16(repeating: asciiQuote)
        let zero = (x &- SIMD16(repeating: 1)) & ~x & SIMD16(repeating: 0x80)
        let halves = unsafeBitCast(zero, to: SIMD2<UInt64>.self)
        return pack(halves[0]) | pack(halves[1]) &<< 8
    }

    /// Gathers the top bit of each byte into the low eight bits.
    @inline(__always)
    static func pack(_ bytes: UInt64) -> UInt64 {
        ((bytes &>> 7) &* 0x0102_0408_1020_4080) &>> 56
    }

    /// The top bit of every byte of `word` (in memory order) that is a quote, and no other bit.
    @inline(__always)
    static func quoteBytes(_ word: UInt64) -> UInt64 {
        let x = UInt64(littleEndian: word) ^ 0x2222_2222_2222_2222
        // (x & 0x7f) + 0x7f cannot carry out of a byte, so unlike the usual "has zero byte"
        // trick this marks exactly the zero bytes of x, all of them.
        return ~(((x & 0x7F7F_7F7F_7F7F_7F7F) &+ 0x7F7F_7F7F_7F7F_7F7F) | x) & 0x8080_8080_8080_8080
    }

    /// Clears the marks of quotes that a backslash escapes.
    @inline(never)
    mutating func clearEscapedQuotes(_ p: UnsafePointer<UInt8>, _ n: Int) {
        var escaped = false
        for k in 0..<n {
            let c = p[k]
            if escaped {
                escaped = false
                if c == asciiQuote { words[k &>> 6] &= ~(1 &<< UInt64(k & 63)) }
            } else if c == asciiBackslash {
                escaped = true
            }
        }
    }

    @inline(never)
    mutating func grow(to wordCount: Int) {
        words.deallocate()
        capacity = max(wordCount, capacity * 2)
        words = .allocate(capacity: capacity)
    }
}

/// Steps through the quote map of a line in order.
@usableFromInline
struct QuoteCursor {
    let words: UnsafeMutablePointer<UInt64>
    var word = 0
    var bits: UInt64

    @inline(__always)
    init(_ mask: QuoteMask, count: Int) {
        self.words = mask.words
        self.bits = words[0]
    }

    /// Moves to `position`: quotes before it are skipped.
    @inline(__always)
    mutating func seek(_ position: Int) {
        word = position &>> 6
        bits = words[word] & (~0 &<< UInt64(position & 63))
    }

    /// Position of the next string-delimiting quote; at or past the line's end when there is none.
    @inline(__always)
    mutating func next() -> Int {
        // The word after the line has a bit set, so this loop always stops.
        while bits == 0 {
            word &+= 1
            bits = words[word]
        }
        let position = word &<< 6 | bits.trailingZeroBitCount
        bits &= bits &- 1
        return position
    }
}
