// Word-at-a-time byte search. Access-log lines are mostly string contents, so finding the
// next quote quickly is what sets the scanner's speed; a call to memchr per string costs more
// than it saves on the short strings (10-40 bytes) that dominate Envoy's records.

@usableFromInline let asciiQuote: UInt8 = 0x22
@usableFromInline let asciiBackslash: UInt8 = 0x5C

@usableFromInline let lowBits: UInt64 = 0x0101_0101_0101_0101
@usableFromInline let highBits: UInt64 = 0x8080_8080_8080_8080

/// Index of the first byte equal to `byte` in `p[from..<end]`, or `end` if there is none.
///
/// Reads only inside `p[from..<end]`. Sixteen bytes at a time: the vector compare and "any"
/// test compile to `pcmpeqb` + `pmovmskb` on x86-64 (and `cmeq` + `umaxv` on arm64); the
/// position inside a matching block is found with word-at-a-time arithmetic.
@inlinable @inline(__always)
func firstIndex(of byte: UInt8, in p: UnsafePointer<UInt8>, from: Int, end: Int) -> Int {
    var i = from
    let raw = UnsafeRawPointer(p)
    let vector = SIMD16<UInt8>(repeating: byte)
    while i &+ 16 <= end {
        // Safe because i + 16 <= end, and `end` is within the caller's buffer.
        if any(raw.loadUnaligned(fromByteOffset: i, as: SIMD16<UInt8>.self) .== vector) {
            // Both halves, then a select: which half holds the match is a coin toss that a
            // branch would mispredict half the time.
            let low = matchingBytes(raw.loadUnaligned(fromByteOffset: i, as: UInt64.self), byte)
            let high = matchingBytes(raw.loadUnaligned(fromByteOffset: i &+ 8, as: UInt64.self), byte)
            let inLow = low.trailingZeroBitCount &>> 3
            let inHigh = high.trailingZeroBitCount &>> 3
            return i &+ inLow &+ (inLow == 8 ? inHigh : 0)
        }
        i &+= 16
    }
    while i &+ 8 <= end {
        let found = matchingBytes(raw.loadUnaligned(fromByteOffset: i, as: UInt64.self), byte)
        if found != 0 { return i &+ (found.trailingZeroBitCount &>> 3) }
        i &+= 8
    }
    while i < end {
        if p[i] == byte { return i }
        i &+= 1
    }
    return end
}

/// The high bit of every byte of `word` that equals `byte`, counting from the first byte in
/// memory. Bits above the first match may be wrong (a borrow can ripple past it), so only the
/// lowest set bit is meaningful.
@inlinable @inline(__always)
func matchingBytes(_ word: UInt64, _ byte: UInt8) -> UInt64 {
    let x = UInt64(littleEndian: word) ^ (lowBits &* UInt64(byte))
    return (x &- lowBits) & ~x & highBits
}

/// Index of the quote that closes a JSON string whose contents start at `from`, or `nil` if
/// the string is not closed before `end`.
///
/// A quote is escaped exactly when an odd number of backslashes precede it, so there is no
/// need to look at escape sequences on the way.
@inlinable @inline(__always)
func closingQuote(in p: UnsafePointer<UInt8>, from: Int, end: Int) -> Int? {
    var i = from
    while true {
        let q = firstIndex(of: asciiQuote, in: p, from: i, end: end)
        if q == end { return nil }
        var k = q
        while k > from && p[k &- 1] == asciiBackslash { k &-= 1 }
        if (q &- k) & 1 == 0 { return q }
        i = q &+ 1
    }
}

/// Whether `p[from..<end]` contains a backslash.
@inlinable @inline(__always)
func containsBackslash(_ p: UnsafePointer<UInt8>, from: Int, end: Int) -> Bool {
    firstIndex(of: asciiBackslash, in: p, from: from, end: end) != end
}

@inlinable @inline(__always)
func isJSONWhitespace(_ c: UInt8) -> Bool {
    c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09
}

@inlinable @inline(__always)
func skipWhitespace(_ p: UnsafePointer<UInt8>, from: Int, end: Int) -> Int {
    var i = from
    while i < end && isJSONWhitespace(p[i]) { i &+= 1 }
    return i
}
