/// An open-addressing map from byte strings to `UInt32`, with the keys copied into one arena.
///
/// Used for label interning: lookups by raw bytes, no `String` per lookup, no allocation unless
/// a key is new (amortised arena and table growth).
final class ByteTable: @unchecked Sendable {
    // @unchecked Sendable: a table lives inside a `Mutex`-protected state (a shard's or the
    // registry's) and is only touched with that lock held.
    private struct Slot {
        var hash: UInt64 = 0
        var offset: UInt32 = 0
        var length: UInt32 = 0
        /// `UInt32.max` marks an empty slot.
        var value: UInt32 = .max
    }

    private var slots: UnsafeMutablePointer<Slot>
    private var mask: Int
    private var arena = GrowingBuffer<UInt8>(capacity: 256)
    private(set) var count = 0

    init(capacity: Int = 16) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        mask = size - 1
        slots = .allocate(capacity: size)
        slots.initialize(repeating: Slot(), count: size)
    }

    deinit {
        slots.deallocate()
    }

    /// The value stored for `bytes`, if any.
    @inline(__always)
    func find(_ bytes: UnsafeBufferPointer<UInt8>, hash: UInt64) -> UInt32? {
        var index = Int(truncatingIfNeeded: hash) & mask
        while true {
            let slot = slots[index]
            if slot.value == .max { return nil }
            if slot.hash == hash && Int(slot.length) == bytes.count
                && (bytes.count == 0 || bytesEqual(bytes.baseAddress!, arena.base + Int(slot.offset), bytes.count))
            {
                return slot.value
            }
            index = (index &+ 1) & mask
        }
    }

    /// Stores `value` for `bytes`, which must not be in the table yet.
    func insert(_ bytes: UnsafeBufferPointer<UInt8>, hash: UInt64, value: UInt32) {
        if (count + 1) * 2 > mask + 1 { grow() }
        let offset = arena.count
        arena.append(bytes)
        var index = Int(truncatingIfNeeded: hash) & mask
        while slots[index].value != .max { index = (index &+ 1) & mask }
        slots[index] = Slot(hash: hash, offset: UInt32(offset), length: UInt32(bytes.count), value: value)
        count += 1
    }

    /// Empties the table, keeping its memory.
    func removeAll() {
        slots.update(repeating: Slot(), count: mask + 1)
        arena.count = 0
        count = 0
    }

    private func grow() {
        let oldSize = mask + 1
        let old = slots
        let newSize = oldSize * 2
        slots = .allocate(capacity: newSize)
        slots.initialize(repeating: Slot(), count: newSize)
        mask = newSize - 1
        for k in 0..<oldSize where old[k].value != .max {
            var index = Int(truncatingIfNeeded: old[k].hash) & mask
            while slots[index].value != .max { index = (index &+ 1) & mask }
            slots[index] = old[k]
        }
        old.deallocate()
    }
}
