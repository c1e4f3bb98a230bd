/// A classic Prometheus histogram: observation counts per fixed bucket, plus count and sum.
///
/// Counts are kept per bucket (not cumulative), so an observation touches one counter;
/// ``cumulativeCounts()`` and ``forEachCumulativeBucket(_:)`` produce the cumulative `_bucket`
/// series that the exposition formats need.
///
/// Observation semantics follow Prometheus' Go client: a value goes to the first bucket whose
/// bound is `>= value`; `+Inf` and NaN go to the `+Inf` bucket and `-Inf` to the lowest one;
/// every observation is added to ``sum`` with ordinary floating-point addition (so a NaN or
/// infinite observation makes the sum NaN or infinite from then on, as in the client libraries).
public struct FixedHistogram: Sendable, Hashable {
    /// The bucket bounds; every histogram of a metric family shares the same layout.
    public let layout: BucketLayout

    /// Observations per bucket, not cumulative. `bucketCounts[i]` counts values in
    /// `(upperBounds[i - 1], upperBounds[i]]`; the last element is the `+Inf` bucket. There are
    /// `layout.count + 1` elements.
    public private(set) var bucketCounts: [UInt64]

    /// The number of observations; always the sum of ``bucketCounts``.
    public private(set) var count: UInt64 = 0

    /// The sum of all observed values.
    public private(set) var sum: Double = 0

    /// Creates an empty histogram with the given bounds.
    public init(layout: BucketLayout) {
        self.layout = layout
        self.bucketCounts = [UInt64](repeating: 0, count: layout.count + 1)
    }

    /// Counts `value` in its bucket and adds it to ``sum``.
    public mutating func observe(_ value: Double) {
        record(value, inBucket: layout.bucketIndex(for: value))
    }

    /// Counts the integer `value` (milliseconds, bytes); the same as observing `Double(value)`,
    /// with a table lookup instead of a search for small values.
    public mutating func observe(_ value: Int) {
        record(Double(value), inBucket: layout.bucketIndex(for: value))
    }

    private mutating func record(_ value: Double, inBucket bucket: Int) {
        // Cannot overflow: 2^64 observations at a billion per second would take 584 years.
        bucketCounts[bucket] &+= 1
        count &+= 1
        sum += value
    }

    /// Adds the observations of `other` to this histogram, as if they had been observed here.
    ///
    /// Merging is exact for the counts. For the sum it is floating-point addition, which is
    /// commutative but only approximately associative.
    ///
    /// - Throws: ``LayoutMismatchError`` if the layouts differ; this histogram is unchanged.
    public mutating func merge(_ other: FixedHistogram) throws(LayoutMismatchError) {
        guard layout == other.layout else {
            throw LayoutMismatchError(expected: layout, found: other.layout)
        }
        for index in bucketCounts.indices {
            // Cannot overflow in practice: both counts come from real observations (see `record`).
            bucketCounts[index] &+= other.bucketCounts[index]
        }
        count &+= other.count
        sum += other.sum
    }

    /// Returns the merge of this histogram and `other`; see ``merge(_:)``.
    public func merging(_ other: FixedHistogram) throws(LayoutMismatchError) -> FixedHistogram {
        var result = self
        try result.merge(other)
        return result
    }

    /// The cumulative counts, one per bucket: element `i` counts the observations `<=`
    /// `upperBounds[i]`, and the last element (the `+Inf` bucket) equals ``count``.
    public func cumulativeCounts() -> [UInt64] {
        var running: UInt64 = 0
        return bucketCounts.map { bucketCount in
            running &+= bucketCount
            return running
        }
    }

    /// Calls `body` with each bucket's upper bound and cumulative count, in increasing order of
    /// bound, ending with `(+Inf, count)`. Lets a writer render the `_bucket` lines without
    /// allocating.
    public func forEachCumulativeBucket(_ body: (_ upperBound: Double, _ cumulativeCount: UInt64) throws -> Void)
        rethrows
    {
        var running: UInt64 = 0
        for index in bucketCounts.indices {
            running &+= bucketCounts[index]
            try body(index < layout.count ? layout.upperBounds[index] : .infinity, running)
        }
    }
}
