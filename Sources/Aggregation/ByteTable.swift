/// An open-addressing map from byte strings to `UInt32`, with the keys copied into one arena.
///
/// A slot is eight bytes: where its entry starts in the arena, and 32 bits of the key's hash. The
/// entry holds the rest of the hash, the value, the length and the key's bytes together, so a
/// lookup touches the small slot array and then one place in the arena: on the per-line path,
/// where the log streaming through the cache has pushed the table out, that is one miss, not
/// the two a slot holding the value and pointing at the key would cost.
///
/// Used for label interning: lookups by raw bytes, no `String` per lookup, no allocation unless
/// a key is new (amortised arena and table growth).
final class ByteTable: @unchecked Sendable {
    // @unchecked Sendable: a table lives inside a `Mutex`-protected state (a shard's or the
    // registry's) and is only touched with that lock held.

    /// `UInt64.max` marks an empty slot (no entry starts at the arena's last possible offset).
    private var slots: UnsafeMutablePointer<UInt64>
    private var mask: Int
    private var arena = GrowingBuffer<UInt8>(capacity: 256)
    private(set) var count = 0
    /// Bytes the entries take, keys and headers.
    var byteCount: Int { arena.count }

    /// An entry: the hash (8 bytes), the value (4), the key's length (4), then the key.
    private static let header = 16

    init(capacity: Int = 16) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        mask = size - 1
        slots = .allocate(capacity: size)
        slots.initialize(repeating: .max, count: size)
    }

    deinit {
        slots.deallocate()
    }

    @inline(__always)
    private static func tag(_ hash: UInt64) -> UInt64 { hash & 0xFFFF_FFFF_0000_0000 }

    /// The value stored for `bytes`, if any.
    @inline(__always)
    func find(_ bytes: UnsafeBufferPointer<UInt8>, hash: UInt64) -> UInt32? {
        var index = Int(truncatingIfNeeded: hash) & mask
        let tag = Self.tag(hash)
        while true {
            let slot = slots[index]
            if slot == .max { return nil }
            if slot & 0xFFFF_FFFF_0000_0000 == tag {
                let entry = UnsafeRawPointer(arena.base) + Int(truncatingIfNeeded: slot & 0xFFFF_FFFF)
                if Int(entry.loadUnaligned(fromByteOffset: 12, as: UInt32.self)) == bytes.count
                    && entry.loadUnaligned(as: UInt64.self) == hash
                    && (bytes.count == 0
                        || bytesEqual(
                            bytes.baseAddress!, (entry + Self.header).assumingMemoryBound(to: UInt8.self), bytes.count))
                {
                    return entry.loadUnaligned(fromByteOffset: 8, as: UInt32.self)
                }
            }
            index = (index &+ 1) & mask
        }
    }

    /// Stores `value` for `bytes`, which must not be in the table yet.
    func insert(_ bytes: UnsafeBufferPointer<UInt8>, hash: UInt64, value: UInt32) {
        if (count + 1) * 2 > mask + 1 { grow() }
        let offset = arena.count
        precondition(offset + Self.header + bytes.count < Int(UInt32.max), "a key table's arena holds at most 4 GiB")
        withUnsafeTemporaryAllocation(byteCount: Self.header, alignment: 8) { header in
            header.storeBytes(of: hash, as: UInt64.self)
            header.storeBytes(of: value, toByteOffset: 8, as: UInt32.self)
            header.storeBytes(of: UInt32(bytes.count), toByteOffset: 12, as: UInt32.self)
            arena.append(UnsafeBufferPointer(header.bindMemory(to: UInt8.self)))
        }
        arena.append(bytes)
        var index = Int(truncatingIfNeeded: hash) & mask
        while slots[index] != .max { index = (index &+ 1) & mask }
        slots[index] = Self.tag(hash) | UInt64(offset)
        count += 1
    }

    /// Empties the table, keeping its memory.
    func removeAll() {
        slots.update(repeating: .max, count: mask + 1)
        arena.count = 0
        count = 0
    }

    private func grow() {
        let oldSize = mask + 1
        let old = slots
        let newSize = oldSize * 2
        slots = .allocate(capacity: newSize)
        slots.initialize(repeating: .max, count: newSize)
        mask = newSize - 1
        for k in 0..<oldSize where old[k] != .max {
            let entry = UnsafeRawPointer(arena.base) + Int(truncatingIfNeeded: old[k] & 0xFFFF_FFFF)
            var index = Int(truncatingIfNeeded: entry.loadUnaligned(as: UInt64.self)) & mask
            while slots[index] != .max { index = (index &+ 1) & mask }
            slots[index] = old[k]
        }
        old.deallocate()
    }
}
