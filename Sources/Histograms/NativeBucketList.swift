/// The populated buckets of one side of a native histogram, sorted by index, with a shortcut
/// for the longest run of consecutive indexes.
///
/// Latency and size distributions populate a contiguous core of buckets that receives nearly
/// all observations, with sparse tails. An index inside the run is found by subtraction; only
/// the others need a binary search, whose branches mispredict about every other step. The run is
/// recomputed whenever the list's indexes change (a new bucket, a resolution reduction, a
/// merge), which is rare next to observations.
struct NativeBucketList: Sendable {
    /// Populated buckets, strictly increasing by index, no zero counts.
    private(set) var buckets: [NativeBucket] = []
    /// The index of the first bucket of the longest run of consecutive indexes.
    private var runFirstIndex = 0
    /// The position of that bucket in `buckets`.
    private var runPosition = 0
    /// The number of buckets in the run; 0 for an empty list.
    private var runLength = 0

    init() {}

    init(_ buckets: [NativeBucket]) {
        self.buckets = buckets
        findLongestRun()
    }

    /// Adds one observation to bucket `index`; returns true if that populated a new bucket.
    mutating func increment(_ index: Int32) -> Bool {
        let offset = Int(index) - runFirstIndex
        // Negative offsets become huge as UInt and fail the test, like offsets past the run.
        if UInt(bitPattern: offset) < UInt(runLength) {
            buckets[runPosition + offset].count &+= 1
            return false
        }
        return incrementOutsideRun(index)
    }

    private mutating func incrementOutsideRun(_ index: Int32) -> Bool {
        let position = firstPosition(notBelow: index)
        if position < buckets.count, buckets[position].index == index {
            buckets[position].count &+= 1
            return false
        }
        insert(index, at: position)
        return true
    }

    @inline(never)
    private mutating func insert(_ index: Int32, at position: Int) {
        buckets.insert(NativeBucket(index: index, count: 1), at: position)
        findLongestRun()
    }

    /// The position of the first bucket whose index is `>= index`, or `buckets.count`.
    private func firstPosition(notBelow index: Int32) -> Int {
        buckets.withUnsafeBufferPointer { buckets in
            var low = 0
            var high = buckets.count
            while low < high {
                let middle = (low + high) >> 1
                // In bounds because low <= middle < high <= buckets.count.
                if buckets[middle].index < index {
                    low = middle + 1
                } else {
                    high = middle
                }
            }
            return low
        }
    }

    private mutating func findLongestRun() {
        runFirstIndex = 0
        runPosition = 0
        runLength = 0
        var start = 0
        for position in buckets.indices {
            let continuesRun = position > 0 && buckets[position].index == buckets[position - 1].index + 1
            if !continuesRun {
                start = position
            }
            if position - start + 1 > runLength {
                runPosition = start
                runLength = position - start + 1
                runFirstIndex = Int(buckets[start].index)
            }
        }
    }

    /// Maps every index to `ceil(index / 2^steps)`, adding up the buckets that merge.
    mutating func reduceResolution(by steps: Int) {
        guard steps > 0, !buckets.isEmpty else {
            return
        }
        // The mapping is monotonic, so merged buckets stay sorted and each output bucket is the
        // sum of a run of adjacent input buckets: compact in place.
        var written = 0
        for position in buckets.indices {
            let bucket = buckets[position]
            let index = NativeHistogram.reducedIndex(bucket.index, by: steps)
            if written > 0, buckets[written - 1].index == index {
                buckets[written - 1].count &+= bucket.count
            } else {
                buckets[written] = NativeBucket(index: index, count: bucket.count)
                written += 1
            }
        }
        buckets.removeLast(buckets.count - written)
        findLongestRun()
    }

    /// Adds `other`'s counts bucket by bucket.
    mutating func add(_ other: NativeBucketList) {
        guard !other.buckets.isEmpty else {
            return
        }
        guard !buckets.isEmpty else {
            self = other
            return
        }
        let left = buckets
        let right = other.buckets
        var result: [NativeBucket] = []
        result.reserveCapacity(left.count + right.count)
        var l = 0
        var r = 0
        while l < left.count, r < right.count {
            if left[l].index < right[r].index {
                result.append(left[l])
                l += 1
            } else if right[r].index < left[l].index {
                result.append(right[r])
                r += 1
            } else {
                result.append(NativeBucket(index: left[l].index, count: left[l].count &+ right[r].count))
                l += 1
                r += 1
            }
        }
        result.append(contentsOf: left[l...])
        result.append(contentsOf: right[r...])
        buckets = result
        findLongestRun()
    }

    /// Removes the lowest `count` buckets.
    mutating func removeFirst(_ count: Int) {
        guard count > 0 else {
            return
        }
        buckets.removeFirst(count)
        findLongestRun()
    }
}

// MARK: - Equatable, Hashable

extension NativeBucketList: Hashable {
    /// Lists are equal when their buckets are; the run is derived from them.
    static func == (lhs: NativeBucketList, rhs: NativeBucketList) -> Bool {
        lhs.buckets == rhs.buckets
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(buckets)
    }
}
