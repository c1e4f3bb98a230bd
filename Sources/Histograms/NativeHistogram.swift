/// One populated bucket of a native histogram.
public struct NativeBucket: Sendable, Hashable {
    /// The bucket index: bucket `i` covers magnitudes in `(base^(i-1), base^i]`.
    public var index: Int32
    /// The number of observations in the bucket; never 0 in a histogram's bucket lists.
    public var count: UInt64

    public init(index: Int32, count: UInt64) {
        self.index = index
        self.count = count
    }
}

/// A Prometheus native histogram with a standard exponential schema (-4 ... 8).
///
/// Buckets are sparse: only populated buckets are stored, in two lists sorted by index, one for
/// positive and one for negative observations (a negative bucket `i` covers values in
/// `[-base^i, -base^(i-1))`). Observations with `|v| <= zeroThreshold` go to the zero bucket.
///
/// When an observation populates a new bucket and the histogram then has more than
/// `maxBuckets` populated buckets (positive and negative together), the resolution is halved
/// (schema - 1, each pair of buckets merged) until it fits, or until schema -4, which is kept
/// even if it does not fit. The resolution is never raised again; counts are never dropped.
///
/// Special values follow the native histogram specification: NaN increments ``count`` and makes
/// ``sum`` NaN but goes into no bucket; `+Inf` and `-Inf` go into the overflow bucket after the
/// one holding the largest finite `Double` on their side.
///
/// - Complexity: ``observe(_:)`` finds the index with one table lookup and one comparison,
///   and the bucket by subtraction when it is in the longest run of consecutive populated
///   buckets (the core of a latency distribution), by binary search otherwise. It allocates only
///   when it populates a new bucket.
public struct NativeHistogram: Sendable, Hashable {
    /// The current schema: ``NativeHistogramSettings/schema`` at creation, lower after
    /// resolution reductions or a merge with a lower-resolution histogram.
    public internal(set) var schema: Int

    /// Observations `v` with `|v| <= zeroThreshold` are in the zero bucket. Only a merge with a
    /// histogram with a wider zero bucket raises it.
    public internal(set) var zeroThreshold: Double

    /// The most populated buckets kept before halving the resolution.
    public let maxBuckets: Int

    /// The number of observations in the zero bucket.
    public internal(set) var zeroCount: UInt64 = 0

    /// The number of observations, NaN included; the bucket counts add up to less when NaN was
    /// observed.
    public internal(set) var count: UInt64 = 0

    /// The sum of all observed values.
    public internal(set) var sum: Double = 0

    /// Buckets for positive observations.
    var positive = NativeBucketList()

    /// Buckets for negative observations.
    var negative = NativeBucketList()

    /// Populated buckets for positive observations, sorted by index.
    public var positiveBuckets: [NativeBucket] { positive.buckets }

    /// Populated buckets for negative observations, sorted by index (so by increasing
    /// magnitude, that is by decreasing value).
    public var negativeBuckets: [NativeBucket] { negative.buckets }

    /// Creates an empty histogram.
    public init(settings: NativeHistogramSettings = .default) {
        self.schema = settings.schema
        self.zeroThreshold = settings.zeroThreshold
        self.maxBuckets = settings.maxBuckets
    }

    /// The number of populated buckets, positive and negative; the zero bucket is not counted.
    public var populatedBucketCount: Int { positive.buckets.count + negative.buckets.count }

    /// The growth factor from one bucket to the next at the current schema, `2^(2^-schema)`
    /// (rounded down to a `Double`).
    public var base: Double { Self.base(schema: schema) }

    /// `2^(2^-schema)`: 1.0905 at schema 3, 2 at schema 0, 65536 at schema -4.
    public static func base(schema: Int) -> Double {
        upperBound(ofBucket: 1, schema: schema)
    }

    /// Counts `value` in its bucket and adds it to ``sum``.
    public mutating func observe(_ value: Double) {
        // Cannot overflow: 2^64 observations at a billion per second would take 584 years.
        count &+= 1
        sum += value
        if value > zeroThreshold {
            let index = Self.storedIndex(Self.uncheckedBucketIndex(for: value, schema: schema))
            if positive.increment(index) {
                didPopulateBucket()
            }
        } else if value < -zeroThreshold {
            let index = Self.storedIndex(Self.uncheckedBucketIndex(for: -value, schema: schema))
            if negative.increment(index) {
                didPopulateBucket()
            }
        } else if !value.isNaN {
            zeroCount &+= 1
        }
    }

    /// Narrows a computed index to its stored width.
    static func storedIndex(_ index: Int) -> Int32 {
        // Fits: indexes are within ±(1074 * 256 + 1), far inside Int32 (which the protobuf
        // spans use too).
        Int32(truncatingIfNeeded: index)
    }

    @inline(never)
    private mutating func didPopulateBucket() {
        reduceResolutionToFitBucketLimit()
    }

    /// Halves the resolution until at most ``maxBuckets`` buckets are populated or the schema
    /// is -4.
    mutating func reduceResolutionToFitBucketLimit() {
        while populatedBucketCount > maxBuckets, schema > NativeHistogramSettings.schemaRange.lowerBound {
            reduceResolution(to: schema - 1)
        }
    }

    /// Converts the histogram to the lower resolution `target` by merging each run of
    /// `2^(schema - target)` buckets into one.
    ///
    /// Exact: every boundary of the lower schema is a boundary of the higher one, so each
    /// observation ends up in the bucket it would have been counted in at `target`.
    mutating func reduceResolution(to target: Int) {
        precondition(target <= schema, "a histogram's resolution can only be reduced")
        guard target < schema else {
            return
        }
        positive.reduceResolution(by: schema - target)
        negative.reduceResolution(by: schema - target)
        schema = target
    }
}
