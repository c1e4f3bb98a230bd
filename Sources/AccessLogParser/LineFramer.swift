import CByteScan

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Splits a byte stream into lines, whatever the read boundaries, with a bound on line length.
///
/// Lines that lie wholly inside a fed chunk are handed out in place. Only the piece of a line that
/// straddles two chunks is copied, into a carry buffer that grows to at most ``maxLineLength``.
/// A line longer than the bound is reported once as `.oversized` and skipped up to its newline
/// without being buffered. A trailing `\r` is removed (CRLF files).
public struct LineFramer: ~Copyable {
    public enum Line {
        /// A complete line without its terminator. Valid until the next call on the framer.
        case line(UnsafeBufferPointer<UInt8>)
        /// A line longer than the bound; its bytes are skipped.
        case oversized
    }

    public static let defaultMaxLineLength = 64 * 1024

    /// May change between lines; a carried line longer than a new, lower bound is dropped as
    /// oversized when its next piece arrives.
    public var maxLineLength: Int
    private var carry: UnsafeMutablePointer<UInt8>
    private var carryCapacity: Int
    /// Bytes of an unfinished line kept from earlier chunks.
    public private(set) var carryCount = 0
    /// Whether the framer is inside an oversized line, skipping to its newline.
    public private(set) var isDiscarding = false

    public init(maxLineLength: Int = defaultMaxLineLength) {
        precondition(maxLineLength > 0)
        self.maxLineLength = maxLineLength
        carryCapacity = min(maxLineLength, 1024)
        carry = .allocate(capacity: carryCapacity)
    }

    deinit {
        carry.deallocate()
    }

    /// Returns the next line of `chunk` at or after `cursor`, advancing `cursor`, or `nil` once the
    /// rest of the chunk has been taken into the carry buffer (feed the next chunk then).
    public mutating func next(in chunk: UnsafeBufferPointer<UInt8>, cursor: inout Int) -> Line? {
        guard let base = chunk.baseAddress else { return nil }
        let n = chunk.count
        // A chunk is fed from its start, then line by line.
        if cursor == 0 { prefetched = 0 }
        while cursor < n {
            let newline = Self.newline(base, from: cursor, end: n)
            prefetch(base, upTo: min(newline &+ Self.prefetchDistance, n))
            if isDiscarding {
                if newline == n {
                    cursor = n
                    return nil
                }
                isDiscarding = false
                cursor = newline &+ 1
                continue
            }
            if carryCount > 0 {
                let total = carryCount &+ (newline &- cursor)
                if total > maxLineLength {
                    carryCount = 0
                    if newline == n {
                        isDiscarding = true
                        cursor = n
                    } else {
                        cursor = newline &+ 1
                    }
                    return .oversized
                }
                append(base + cursor, newline &- cursor)
                if newline == n {
                    cursor = n
                    return nil
                }
                cursor = newline &+ 1
                carryCount = 0
                return .line(Self.trimmed(UnsafePointer(carry), total))
            }
            let length = newline &- cursor
            if newline == n {
                if length > maxLineLength {
                    isDiscarding = true
                    cursor = n
                    return .oversized
                }
                append(base + cursor, length)
                cursor = n
                return nil
            }
            let start = cursor
            cursor = newline &+ 1
            if length > maxLineLength { return .oversized }
            return .line(Self.trimmed(base + start, length))
        }
        return nil
    }

    /// How far past the line just found the chunk is asked into the cache. A chunk mapped from a
    /// file or held in memory comes from DRAM, and with the hardware's prefetching alone the
    /// newline search waits on it.
    static let prefetchDistance = 2048
    /// How far into the current chunk the cache has been asked for.
    private var prefetched = 0

    @inline(__always)
    private mutating func prefetch(_ base: UnsafePointer<UInt8>, upTo limit: Int) {
        // One request per cache line, each line once.
        var offset = max(prefetched, limit &- Self.prefetchDistance) & ~63
        while offset < limit {
            cbytescan_prefetch(base + offset)
            offset &+= 64
        }
        prefetched = max(prefetched, offset)
    }

    /// At the end of the input: the unfinished last line (one without a newline), if any.
    public mutating func finish() -> Line? {
        isDiscarding = false
        guard carryCount > 0 else { return nil }
        let count = carryCount
        carryCount = 0
        return .line(Self.trimmed(UnsafePointer(carry), count))
    }

    /// Forgets any unfinished line, as after a truncation of the file being read.
    public mutating func reset() {
        carryCount = 0
        isDiscarding = false
    }

    private mutating func append(_ p: UnsafePointer<UInt8>, _ count: Int) {
        let needed = carryCount + count
        if needed > carryCapacity {
            var capacity = carryCapacity
            while capacity < needed { capacity *= 2 }
            capacity = min(max(capacity, needed), maxLineLength)
            let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
            grown.update(from: carry, count: carryCount)
            carry.deallocate()
            carry = grown
            carryCapacity = capacity
        }
        (carry + carryCount).update(from: p, count: count)
        carryCount = needed
    }

    @inline(__always)
    static func newline(_ base: UnsafePointer<UInt8>, from: Int, end: Int) -> Int {
        // memchr is vectorised by libc and lines are long (hundreds of bytes): worth the call.
        guard let hit = memchr(base + from, 0x0A, end - from) else { return end }
        return UnsafeRawPointer(hit) - UnsafeRawPointer(base)
    }

    @inline(__always)
    static func trimmed(_ p: UnsafePointer<UInt8>, _ count: Int) -> UnsafeBufferPointer<UInt8> {
        let length = count > 0 && p[count - 1] == 0x0D ? count - 1 : count
        return UnsafeBufferPointer(start: p, count: length)
    }
}
