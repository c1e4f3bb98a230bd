/// The label values of one series as interned identifiers, one per label of its family.
struct SeriesKey: Hashable {
    static let capacity = 32
    var ids: InlineArray<32, UInt32>
    var count: Int

    init(count: Int) {
        precondition(count <= Self.capacity)
        ids = .init(repeating: 0)
        self.count = count
    }

    @inline(__always)
    var hashValue64: UInt64 {
        var h: UInt64 = UInt64(count) &* 0x9E37_79B9_7F4A_7C15
        // Through a span: subscripting the inline array itself copied all of it (128 bytes) for
        // every identifier read.
        let ids = ids.span
        var k = 0
        while k < count {
            h = (h ^ UInt64(ids[k])) &* 0xFF51_AFD7_ED55_8CCD
            h ^= h &>> 29
            k &+= 1
        }
        return mix(h)
    }

    static func == (a: SeriesKey, b: SeriesKey) -> Bool {
        guard a.count == b.count else { return false }
        let left = a.ids.span
        let right = b.ids.span
        for k in 0..<a.count where left[k] != right[k] { return false }
        return true
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(hashValue64)
    }
}

/// An open-addressing map from series keys of one width to series identifiers.
///
/// Slots are 8 bytes: the top half of the key's hash as a tag and the number of an entry; the
/// entries hold value, the low half of the hash and key together, densely, in the order
/// inserted. A lookup reads one slot and, when the tag matches, one entry. Keeping keys, values
/// and 64-bit hashes in every slot of a half-empty table cost 40 bytes a slot for a 7-label
/// family (32 768 slots for 9 538 series: 1.3 MB, in the registry and again in each shard); this
/// costs 11 to 21 bytes of slots an entry (three quarters full at most, three eighths after a
/// doubling) and 36 for the entry.
/// Both buffers are ``ZeroedMemory``: entries not yet written take no memory.
final class SeriesKeyTable: @unchecked Sendable {
    // @unchecked Sendable: a table lives inside a `Mutex`-protected state (a shard's or the
    // registry's) and is only touched with that lock held.
    let width: Int
    /// Identifiers an entry takes: value, low half of the hash, then the key.
    private let stride: Int
    /// Per slot: the hash's top 32 bits, then entry number + 1 in the low 32; 0 for an empty slot.
    private var slots: UnsafeMutablePointer<UInt64>
    private var mask: Int
    private var entries: UnsafeMutablePointer<UInt32>
    private var entryCapacity: Int
    private(set) var count = 0

    init(width: Int, capacity: Int = 64) {
        self.width = max(width, 1)
        stride = self.width + 2
        var size = 16
        while size * 3 < capacity * 4 { size <<= 1 }
        mask = size - 1
        slots = ZeroedMemory.allocate(UInt64.self, capacity: size)
        entryCapacity = max(capacity, 8)
        entries = ZeroedMemory.allocate(UInt32.self, capacity: entryCapacity * stride)
    }

    deinit {
        ZeroedMemory.free(slots, capacity: mask + 1)
        ZeroedMemory.free(entries, capacity: entryCapacity * stride)
    }

    @inline(__always)
    private static func tag(_ hash: UInt64) -> UInt64 { hash & 0xFFFF_FFFF_0000_0000 }

    @inline(__always)
    func find(_ key: SeriesKey, hash: UInt64) -> UInt32? {
        var index = Int(truncatingIfNeeded: hash) & mask
        let tag = Self.tag(hash)
        while true {
            let slot = slots[index]
            if slot == 0 { return nil }
            if Self.tag(slot) == tag {
                // Cannot underflow: an occupied slot holds entry + 1.
                let entry = entries + (Int(truncatingIfNeeded: slot & 0xFFFF_FFFF) &- 1) &* stride
                if matches(entry + 2, key) { return entry[0] }
            }
            index = (index &+ 1) & mask
        }
    }

    @inline(__always)
    private func matches(_ stored: UnsafeMutablePointer<UInt32>, _ key: SeriesKey) -> Bool {
        let ids = key.ids.span
        for k in 0..<key.count where stored[k] != ids[k] { return false }
        return true
    }

    /// Adds `key`, which must not be in the table yet.
    func insert(_ key: SeriesKey, hash: UInt64, value: UInt32) {
        // Linear probing stays short up to three quarters full with a tag in every slot.
        if (count + 1) * 4 > (mask + 1) * 3 { growSlots() }
        if count == entryCapacity { growEntries() }
        let entry = entries + count * stride
        entry[0] = value
        entry[1] = UInt32(truncatingIfNeeded: hash)
        let ids = key.ids.span
        for k in 0..<width { entry[2 + k] = k < key.count ? ids[k] : 0 }
        place(entry: count, low: Int(truncatingIfNeeded: hash), tag: Self.tag(hash))
        count += 1
    }

    @inline(__always)
    private func place(entry: Int, low: Int, tag: UInt64) {
        var index = low & mask
        while slots[index] != 0 { index = (index &+ 1) & mask }
        slots[index] = tag | UInt64(entry + 1)
    }

    func removeAll() {
        slots.update(repeating: 0, count: mask + 1)
        count = 0
    }

    @inline(never)
    private func growSlots() {
        let size = (mask + 1) * 2
        let old = slots
        let oldSize = mask + 1
        slots = ZeroedMemory.allocate(UInt64.self, capacity: size)
        mask = size - 1
        for k in 0..<oldSize where old[k] != 0 {
            let entry = Int(truncatingIfNeeded: old[k] & 0xFFFF_FFFF) - 1
            place(entry: entry, low: Int(entries[entry * stride + 1]), tag: Self.tag(old[k]))
        }
        ZeroedMemory.free(old, capacity: oldSize)
    }

    @inline(never)
    private func growEntries() {
        entries = ZeroedMemory.resize(entries, from: entryCapacity * stride, to: entryCapacity * 2 * stride)
        entryCapacity *= 2
    }
}
