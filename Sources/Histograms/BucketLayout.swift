/// The upper bounds of a classic (fixed-bucket) Prometheus histogram.
///
/// A layout holds one or more finite, strictly increasing upper bounds; the `+Inf` bucket is
/// implicit, so a layout with `n` bounds has `n + 1` buckets. Bounds are inclusive, as
/// Prometheus' `le` ("less than or equal") defines them: an observation equal to a bound counts
/// in that bound's bucket.
///
/// Layouts are built once per metric family (at configuration time) and shared by every series
/// of the family; copying one is a reference-count increment.
public struct BucketLayout: Sendable {
    /// The finite upper bounds, strictly increasing. The implicit `+Inf` bound is not included.
    public let upperBounds: [Double]

    /// `smallIntegerBuckets[n]` is the bucket index of the integer `n`.
    ///
    /// Most observations are integer milliseconds or bytes, so a lookup here replaces the search
    /// for the common small values. Empty when the layout has more than `UInt8.max - 1` bounds.
    private let smallIntegerBuckets: [UInt8]

    /// How many integers (from 0) ``smallIntegerBuckets`` covers at most; 4 KiB per layout.
    static let smallIntegerLimit = 4096

    /// Creates a layout from finite upper bounds in strictly increasing order.
    ///
    /// A trailing `+Inf` is accepted and dropped, because configurations often copy bucket lists
    /// that spell out the implicit bucket. `-0.0` is stored as `0.0` so that it is exposed as
    /// `le="0"`.
    ///
    /// - Throws: ``BucketLayoutError`` naming the first offending bound.
    public init(upperBounds: [Double]) throws(BucketLayoutError) {
        var bounds = upperBounds
        if bounds.last == .infinity {
            bounds.removeLast()
        }
        guard !bounds.isEmpty else {
            throw .empty
        }
        for index in bounds.indices {
            let bound = bounds[index]
            guard bound.isFinite else {
                throw .nonFiniteBound(index: index, value: bound)
            }
            if bound == 0 {
                bounds[index] = 0
            }
            if index > 0, !(bounds[index - 1] < bound) {
                throw .notIncreasing(index: index, previous: bounds[index - 1], value: bound)
            }
        }
        self.init(validated: bounds)
    }

    /// Creates a layout from bounds the caller has already validated.
    private init(validated bounds: [Double]) {
        self.upperBounds = bounds
        self.smallIntegerBuckets = Self.makeSmallIntegerBuckets(bounds)
    }

    /// The number of finite bounds; the histogram has one more bucket, for `+Inf`.
    public var count: Int { upperBounds.count }

    /// Envoy's default histogram buckets, in milliseconds: `0.5, 1, 5, 10, 25, 50, 100, 250, 500,
    /// 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000`.
    ///
    /// Istio's `istio_request_duration_milliseconds` and the byte-size histograms use these
    /// unless a pod overrides them, so a layout built from them lines up with existing dashboards.
    public static let envoyMilliseconds = BucketLayout(validated: [
        0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000,
        1_800_000, 3_600_000,
    ])

    /// ``envoyMilliseconds`` divided by 1000, for families measured in seconds:
    /// `0.0005, 0.001, 0.005, ..., 3600`.
    ///
    /// Division is correctly rounded, so each bound is the same `Double` as its decimal literal
    /// (`0.0005`, `0.25`, ...), and a duration of `n` ms observed as `Double(n) / 1000` lands on
    /// a bound exactly when `n` equals that bound in milliseconds.
    public static let envoySeconds = BucketLayout(
        validated: envoyMilliseconds.upperBounds.map { $0 / 1000 })

    /// Returns this layout with `boundary` added as an exact bound, or this layout unchanged if
    /// it already has that bound.
    ///
    /// logmetrics uses this to make the slow-request threshold (for example 1000 ms, or 1.0 s in
    /// a seconds layout) an exact `le`, so that the count of requests at or under the threshold
    /// can be read off the histogram without interpolation.
    ///
    /// - Throws: ``BucketLayoutError/nonFiniteBound(index:value:)`` if `boundary` is NaN or
    ///   infinite.
    public func inserting(boundary: Double) throws(BucketLayoutError) -> BucketLayout {
        let position = bucketIndex(for: boundary)
        guard boundary.isFinite else {
            throw .nonFiniteBound(index: position, value: boundary)
        }
        if position < upperBounds.count, upperBounds[position] == boundary {
            return self
        }
        var bounds = upperBounds
        // `bucketIndex` is the first bound >= boundary, so inserting there keeps the order strict.
        bounds.insert(boundary == 0 ? 0 : boundary, at: position)
        return BucketLayout(validated: bounds)
    }

    /// Where each bucket of a histogram kept with `oldBounds` goes in this layout: element `i`
    /// (`oldBounds.count` for `+Inf`) is the index of this layout's first bucket whose bound is at
    /// least old bucket `i`'s.
    ///
    /// Moving counts this way keeps every cumulative count exact at a bound both layouts have, so
    /// a reload or a restart that adds or removes bounds resets no `le` series that goes on. At a
    /// bound only this layout has, the carried-over part is a lower bound: the old observations
    /// that fell below it are counted at the next bound up, where the old layout had them.
    public func bucketMapping(from oldBounds: [Double]) -> [Int] {
        oldBounds.map { bucketIndex(for: $0) } + [count]
    }

    /// The index of the bucket that counts `value`: the index of the first bound `>= value`, or
    /// ``count`` (the `+Inf` bucket) if there is none.
    ///
    /// NaN has no bound above it and lands in the `+Inf` bucket, as in Prometheus' Go client.
    ///
    /// - Complexity: Up to 128 bounds, one pass over the bounds with no data-dependent branch
    ///   (it vectorizes); O(log ``count``) above. No allocation.
    public func bucketIndex(for value: Double) -> Int {
        upperBounds.withUnsafeBufferPointer { bounds in
            if bounds.count <= Self.linearScanLimit {
                // The bounds below `value` are a prefix, so counting them gives the index.
                // A binary search over Envoy's 19 bounds mispredicts about one branch in two on
                // latency data; counting all of them costs a quarter of that. `!(x >= value)`
                // rather than `x < value` so that NaN counts every bound, and the Bool's 0/1
                // byte is added directly because a `? 1 : 0` is compiled into a branch.
                var below = 0
                for bound in bounds {
                    below &+= Int(unsafeBitCast(!(bound >= value), to: UInt8.self))
                }
                return below
            }
            var low = 0
            var high = bounds.count
            while low < high {
                let middle = (low + high) >> 1
                // In bounds because low <= middle < high <= bounds.count.
                if bounds[middle] >= value {
                    high = middle
                } else {
                    low = middle + 1
                }
            }
            return low
        }
    }

    /// Layouts with at most this many bounds are searched by the branch-free scan; past it, the
    /// scan's linear cost overtakes the mispredictions of a binary search.
    static let linearScanLimit = 128

    /// The index of the bucket that counts the integer `value`; the same result as
    /// `bucketIndex(for: Double(value))`, answered by a table lookup for `0 ..< 4096`.
    public func bucketIndex(for value: Int) -> Int {
        // Negative values become huge as UInt and take the general path.
        if UInt(bitPattern: value) < UInt(smallIntegerBuckets.count) {
            return Int(smallIntegerBuckets[value])
        }
        return bucketIndex(for: Double(value))
    }

    private static func makeSmallIntegerBuckets(_ bounds: [Double]) -> [UInt8] {
        guard bounds.count < Int(UInt8.max), let last = bounds.last, last >= 0 else {
            return []
        }
        // Past the last bound every integer is in the +Inf bucket, so the table can stop there.
        let size = last >= Double(smallIntegerLimit - 1) ? smallIntegerLimit : Int(last) + 2
        var table = [UInt8](repeating: 0, count: size)
        var bucket = 0
        for value in 0..<size {
            while bucket < bounds.count, bounds[bucket] < Double(value) {
                bucket += 1
            }
            // Fits because bucket <= bounds.count < UInt8.max.
            table[value] = UInt8(truncatingIfNeeded: bucket)
        }
        return table
    }
}

// MARK: - Equatable, Hashable

extension BucketLayout: Hashable {
    /// Layouts are equal when their bounds are; the lookup table is derived from them.
    public static func == (lhs: BucketLayout, rhs: BucketLayout) -> Bool {
        lhs.upperBounds == rhs.upperBounds
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(upperBounds)
    }
}

// MARK: - CustomStringConvertible

extension BucketLayout: CustomStringConvertible {
    public var description: String {
        "BucketLayout(\(upperBounds.map { "\($0)" }.joined(separator: ", ")), +Inf)"
    }
}
