import Histograms

/// One family's values in one shard: counts, sums and last-update times by series identifier, in
/// plain buffers so that the per-line path does no uniqueness checks and no reference counting.
///
/// Counters keep one count per series; histograms keep their bucket counts (bounds + 1 per
/// series, the last for `+Inf`) and a sum per series, in observation units.
final class FamilyStore: @unchecked Sendable {
    // @unchecked Sendable: a store belongs to one shard's state and is only touched with that
    // shard's lock held.

    let width: Int
    let hasSums: Bool
    private(set) var capacity = 0
    private(set) var counts: UnsafeMutablePointer<UInt64>
    private(set) var sums: UnsafeMutablePointer<Int64>
    private(set) var lastUpdated: UnsafeMutablePointer<UInt32>
    /// Native histograms by series, for families that keep them.
    var natives: [NativeHistogram?] = []
    /// The latest exemplars, for families that carry them: `width` slots per series.
    var exemplars: ExemplarSlots

    convenience init(width: Int, hasSums: Bool, hasExemplars: Bool = false) {
        self.init(width: width, hasSums: hasSums, exemplars: ExemplarSlots(enabled: hasExemplars))
    }

    private init(width: Int, hasSums: Bool, exemplars: ExemplarSlots) {
        self.width = width
        self.hasSums = hasSums
        self.exemplars = exemplars
        counts = ZeroedMemory.allocate(UInt64.self, capacity: 0)
        sums = ZeroedMemory.allocate(Int64.self, capacity: 0)
        lastUpdated = ZeroedMemory.allocate(UInt32.self, capacity: 0)
    }

    deinit {
        ZeroedMemory.free(counts, capacity: capacity * width)
        ZeroedMemory.free(sums, capacity: hasSums ? capacity : 0)
        ZeroedMemory.free(lastUpdated, capacity: capacity)
        exemplars.deallocate()
    }

    /// Makes room for series `id`.
    @inline(__always)
    func reserve(_ id: Int) {
        if id >= capacity { grow(to: id + 1) }
    }

    /// Doubling costs no copy and no memory not yet written (``ZeroedMemory``).
    @inline(never)
    private func grow(to series: Int) {
        let newCapacity = max(series, capacity * 2, 16)
        counts = ZeroedMemory.resize(counts, from: capacity * width, to: newCapacity * width)
        if hasSums { sums = ZeroedMemory.resize(sums, from: capacity, to: newCapacity) }
        lastUpdated = ZeroedMemory.resize(lastUpdated, from: capacity, to: newCapacity)
        capacity = newCapacity
    }

    /// Sets series `id` back to zero, for reuse of its identifier.
    func reset(_ id: Int) {
        guard id < capacity else { return }
        (counts + id * width).update(repeating: 0, count: width)
        if hasSums { sums[id] = 0 }
        lastUpdated[id] = 0
        if id < natives.count { natives[id] = nil }
        exemplars.clear((id * width)..<((id + 1) * width))
    }

    /// Adds series `old` of `other` into series `id` here: bucket `k` of `other` into bucket
    /// `mapping[k]` (the same bucket without a mapping, which needs the same width).
    func absorb(_ other: FamilyStore, _ old: Int, into id: Int, mapping: [Int]? = nil) {
        guard old < other.capacity else { return }
        guard let mapping, mapping.count == other.width, mapping.allSatisfy({ $0 < width }) else {
            guard other.width == width else { return }
            return absorb(other, old, into: id, mapping: Array(0..<width))
        }
        reserve(id)
        for k in 0..<other.width { counts[id * width + mapping[k]] &+= other.counts[old * other.width + k] }
        if hasSums && other.hasSums {
            sums[id] = sums[id].addingSaturated(other.sums[old])
        }
        lastUpdated[id] = max(lastUpdated[id], other.lastUpdated[old])
        // An exemplar belongs between its bucket's bounds; with bounds moved it may not be, and
        // the next observation brings a new one.
        if exemplars.isEnabled && other.exemplars.isEnabled && other.width == width
            && mapping.elementsEqual(0..<width)
        {
            for k in 0..<width { exemplars.absorb(other.exemplars, old * width + k, into: id * width + k) }
        }
    }

    /// A copy, for moving a shard's values elsewhere without sharing the buffers.
    func copy() -> FamilyStore {
        let copy = FamilyStore(width: width, hasSums: hasSums, exemplars: exemplars.copy())
        if capacity > 0 {
            copy.reserve(capacity - 1)
            copy.counts.update(from: counts, count: capacity * width)
            if hasSums { copy.sums.update(from: sums, count: capacity) }
            copy.lastUpdated.update(from: lastUpdated, count: capacity)
        }
        copy.natives = natives
        return copy
    }
}
