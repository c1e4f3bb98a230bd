/// An immutable open-addressing table from JSON key bytes to fields.
///
/// Lookup hashes the first and last eight bytes of the key and its length, and for keys up to 16
/// bytes compares those same words, so most lookups cost two loads, a multiply and two compares:
/// no string comparison chains and no allocation.
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
    }

    @usableFromInline let entries: UnsafeMutablePointer<Entry>
    @usableFromInline let mask: Int
    @usableFromInline let keyBytes: UnsafeMutablePointer<UInt8>
    let keyByteCount: Int

    /// Builds a table for `keys`. A key listed twice keeps its first field.
    public init(_ keys: [(key: String, field: AccessLogField, hint: UInt8)]) {
        var size = 16
        while size < keys.count * 4 { size <<= 1 }
        mask = size - 1
        entries = .allocate(capacity: size)
        entries.initialize(repeating: Entry(), count: size)
        let allBytes = keys.flatMap { Array($0.key.utf8) }
        keyByteCount = allBytes.count
        keyBytes = .allocate(capacity: max(1, allBytes.count))
        keyBytes.initialize(from: allBytes, count: allBytes.count)
        var offset = 0
        for (key, field, hint) in keys {
            let utf8 = Array(key.utf8)
            defer { offset += utf8.count }
            guard !utf8.isEmpty else { continue }
            let p = UnsafePointer(keyBytes + offset)
            if lookupEntry(p, utf8.count) != nil { continue }
            let (head, tail) = Self.words(p, utf8.count)
            var index = Int(truncatingIfNeeded: Self.hash(head, tail, utf8.count)) & mask
            while entries[index].length >= 0 { index = (index + 1) & mask }
            entries[index] = Entry(
                head: head, tail: tail, length: Int32(utf8.count), keyOffset: Int32(offset),
                field: field.rawValue, hint: hint)
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

    @inlinable @inline(__always)
    func lookupEntry(_ p: UnsafePointer<UInt8>, _ n: Int) -> UnsafeMutablePointer<Entry>? {
        let (head, tail) = Self.words(p, n)
        var index = Int(truncatingIfNeeded: Self.hash(head, tail, n)) & mask
        while true {
            let entry = entries + index
            let length = Int(entry.pointee.length)
            if length < 0 { return nil }
            if length == n && entry.pointee.head == head && entry.pointee.tail == tail
                && (n <= 16 || Self.middleEquals(p, keyBytes + Int(entry.pointee.keyOffset), n))
            {
                return entry
            }
            index = (index &+ 1) & mask
        }
    }

    @usableFromInline
    static func middleEquals(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        var i = 8
        while i < n &- 8 {
            if a[i] != b[i] { return false }
            i &+= 1
        }
        return true
    }

    /// The field mapped to the key `p[0..<n]`, with the key's preset hint bits.
    @inlinable @inline(__always)
    public func lookup(_ p: UnsafePointer<UInt8>, _ n: Int) -> (field: AccessLogField, hint: UInt8)? {
        guard let entry = lookupEntry(p, n) else { return nil }
        return (AccessLogField(rawValue: entry.pointee.field), entry.pointee.hint)
    }
}
