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
final class SeriesKeyTable: @unchecked Sendable {
    // @unchecked Sendable: a table lives inside a `Mutex`-protected state (a shard's or the
    // registry's) and is only touched with that lock held.
    let width: Int
    private var keys: UnsafeMutablePointer<UInt32>
    private var values: UnsafeMutablePointer<UInt32>
    private var hashes: UnsafeMutablePointer<UInt64>
    private var mask: Int
    private(set) var count = 0

    init(width: Int, capacity: Int = 64) {
        self.width = max(width, 1)
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        mask = size - 1
        keys = .allocate(capacity: size * self.width)
        values = .allocate(capacity: size)
        values.initialize(repeating: .max, count: size)
        hashes = .allocate(capacity: size)
    }

    deinit {
        keys.deallocate()
        values.deallocate()
        hashes.deallocate()
    }

    @inline(__always)
    func find(_ key: SeriesKey, hash: UInt64) -> UInt32? {
        var index = Int(truncatingIfNeeded: hash) & mask
        while true {
            let value = values[index]
            if value == .max { return nil }
            if hashes[index] == hash && matches(index, key) { return value }
            index = (index &+ 1) & mask
        }
    }

    @inline(__always)
    private func matches(_ index: Int, _ key: SeriesKey) -> Bool {
        let base = keys + index * width
        let ids = key.ids.span
        for k in 0..<key.count where base[k] != ids[k] { return false }
        return true
    }

    func insert(_ key: SeriesKey, hash: UInt64, value: UInt32) {
        if (count + 1) * 2 > mask + 1 { grow() }
        place(key, hash: hash, value: value)
        count += 1
    }

    private func place(_ key: SeriesKey, hash: UInt64, value: UInt32) {
        var index = Int(truncatingIfNeeded: hash) & mask
        while values[index] != .max { index = (index &+ 1) & mask }
        let base = keys + index * width
        for k in 0..<key.count { base[k] = key.ids[k] }
        values[index] = value
        hashes[index] = hash
    }

    func removeAll() {
        values.update(repeating: .max, count: mask + 1)
        count = 0
    }

    private func grow() {
        let oldSize = mask + 1
        let oldKeys = keys
        let oldValues = values
        let oldHashes = hashes
        let newSize = oldSize * 2
        keys = .allocate(capacity: newSize * width)
        values = .allocate(capacity: newSize)
        values.initialize(repeating: .max, count: newSize)
        hashes = .allocate(capacity: newSize)
        mask = newSize - 1
        for k in 0..<oldSize where oldValues[k] != .max {
            var key = SeriesKey(count: width)
            for w in 0..<width { key.ids[w] = oldKeys[k * width + w] }
            key.count = width
            place(key, hash: oldHashes[k], value: oldValues[k])
        }
        oldKeys.deallocate()
        oldValues.deallocate()
        oldHashes.deallocate()
    }
}
