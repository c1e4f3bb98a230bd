import CByteScan

/// Stage one of the JSON scanner: where the quotes of a line that open or close strings are.
///
/// Finding string ends one by one costs a search and an unpredictable loop exit per string, and
/// an Envoy record holds about fifty strings. Marking every quote of the line first, 64 bytes
/// at a time with vector compares (`pcmpeqb` + `pmovmskb`, see `CByteScan.h`), lets the scanner
/// step from quote to quote with a `tzcnt` each.
///
/// The map holds one bit per byte of the line, 64 to a word, and one more word past the end with
/// its lowest bit set, so that stepping past the last quote needs no bound check. Escaped quotes
/// (`\"`) are cleared; backslashes are marked in the same pass, so lines without one, nearly all
/// access-log lines, skip that step.
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
        hasBackslash = cbytescan_build_quote_map(p, n, words) != 0
        if hasBackslash { clearEscapedQuotes(p, n) }
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
