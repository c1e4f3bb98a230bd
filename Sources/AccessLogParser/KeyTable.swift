/// An immutable open-addressing table from JSON key bytes to fields.
///
/// A key is identified by its length and its first and last eight bytes (overlapping for short
/// keys), which for keys up to 16 bytes hold every byte; longer keys also compare their middle.
/// Lookup is a multiply-and-shift hash over those words, so there are no string comparison
/// chains and no allocation.
///
/// Every key of a field map is in the table, wanted or not: the scanner then recognises every key
/// of a known layout and can predict the next one from the previous line.
public final class KeyTable: @unchecked Sendable {
    // @unchecked Sendable: the storage is written only in init and never mutated afterwards.

    @usableFromInline
    struct Entry {
        @usableFromInline var head: UInt64 = 0
        @usableFromInline var tail: UInt64 = 0
        @usableFromInline var length: Int32 = -1
        @usableFromInline var keyOffset: Int32 = 0
        @usableFromInline var field: UInt8 = 0
        @usableFromInline var hint: UInt8 = 0
        /// Whether the scanner should record the field's value (others are only recognised).
        @usableFromInline var wanted = false
    }

    @usableFromInline let entries: UnsafeMutablePointer<Entry>
    @usableFromInline let mask: Int
    @usableFromInline let keyBytes: UnsafeMutablePointer<UInt8>

    /// Builds a table for `keys`. A key listed twice keeps its first field.
    public init(_ keys: [(key: String, field: AccessLogField, hint: UInt8)], wanted: FieldSet = .all) {
        var size = 16
        while size < keys.count * 4 { size <<= 1 }
        mask = size - 1
        entries = .allocate(capacity: size)
        entries.initialize(repeating: Entry(), count: size)
        let allBytes = keys.flatMap { Array($0.key.utf8) }
        keyBytes = .allocate(capacity: max(1, allBytes.count))
        keyBytes.initialize(from: allBytes, count: allBytes.count)
        var offset = 0
        for (key, field, hint) in keys {
            let length = key.utf8.count
            defer { offset += length }
            guard length > 0 else { continue }
            let p = UnsafePointer(keyBytes + offset)
            let (head, tail) = Self.words(p, length)
            if find(p, length, head, tail) >= 0 { continue }
            var index = Int(truncatingIfNeeded: Self.hash(head, tail, length)) & mask
            while entries[index].length >= 0 { index = (index + 1) & mask }
            entries[index] = Entry(
                head: head, tail: tail, length: Int32(length), keyOffset: Int32(offset), field: field.rawValue,
                hint: hint, wanted: wanted.contains(field))
        }
    }

    deinit {
        entries.deallocate()
        keyBytes.deallocate()
    }

    /// The two words that identify a key: its first and last eight bytes (overlapping for short
    /// keys). For keys of at most 16 bytes they hold every byte, so equal words mean equal keys.
    @inlinable @inline(__always)
    static func words(_ p: UnsafePointer<UInt8>, _ n: Int) -> (UInt64, UInt64) {
        let raw = UnsafeRawPointer(p)
        if n >= 8 {
            // Safe because both eight-byte loads start at or after p and end at or before p + n.
            return (raw.loadUnaligned(as: UInt64.self), raw.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self))
        }
        if n >= 4 {
            return (
                UInt64(raw.loadUnaligned(as: UInt32.self)),
                UInt64(raw.loadUnaligned(fromByteOffset: n &- 4, as: UInt32.self))
            )
        }
        if n > 0 {
            return (UInt64(p[0]) | UInt64(p[n &>> 1]) &<< 8 | UInt64(p[n &- 1]) &<< 16, 0)
        }
        return (0, 0)
    }

    @inlinable @inline(__always)
    static func hash(_ head: UInt64, _ tail: UInt64, _ n: Int) -> UInt64 {
        var h = head ^ ((tail &<< 23) | (tail &>> 41)) ^ (UInt64(truncatingIfNeeded: n) &* 0x9E37_79B9_7F4A_7C15)
        h = h &* 0xFF51_AFD7_ED55_8CCD
        return h ^ (h &>> 32)
    }

    /// Whether entry `index` holds the key `p[0..<n]` whose words are `head` and `tail`.
    @inlinable @inline(__always)
    func matches(_ index: Int, _ p: UnsafePointer<UInt8>, _ n: Int, _ head: UInt64, _ tail: UInt64) -> Bool {
        let entry = entries + index
        return Int(entry.pointee.length) == n && entry.pointee.head == head && entry.pointee.tail == tail
            && (n <= 16 || Self.middleEquals(p, keyBytes + Int(entry.pointee.keyOffset), n))
    }

    /// The entry index of key `p[0..<n]`, or -1.
    @inlinable @inline(__always)
    func find(_ p: UnsafePointer<UInt8>, _ n: Int, _ head: UInt64, _ tail: UInt64) -> Int {
        var index = Int(truncatingIfNeeded: Self.hash(head, tail, n)) & mask
        while true {
            if entries[index].length < 0 { return -1 }
            if matches(index, p, n, head, tail) { return index }
            index = (index &+ 1) & mask
        }
    }

    @usableFromInline
    static func middleEquals(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        // The first and last eight bytes are already known to match; compare the rest a word at a
        // time, the last word overlapping the tail where needed.
        let ra = UnsafeRawPointer(a)
        let rb = UnsafeRawPointer(b)
        var i = 8
        while i < n &- 8 {
            let k = min(i, n &- 16)
            if ra.loadUnaligned(fromByteOffset: k, as: UInt64.self)
                != rb.loadUnaligned(fromByteOffset: k, as: UInt64.self)
            {
                return false
            }
            i &+= 8
        }
        return true
    }

    /// The field mapped to the key `p[0..<n]`, with the key's preset hint bits.
    public func lookup(_ p: UnsafePointer<UInt8>, _ n: Int) -> (field: AccessLogField, hint: UInt8)? {
        let (head, tail) = Self.words(p, n)
        let index = find(p, n, head, tail)
        guard index >= 0 else { return nil }
        return (AccessLogField(rawValue: entries[index].field), entries[index].hint)
    }
}
