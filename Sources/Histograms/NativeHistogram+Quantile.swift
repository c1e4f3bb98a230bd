#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

// MARK: - QuantileEstimating

extension NativeHistogram: QuantileEstimating {
    /// Estimates the `q`-quantile the way PromQL's `histogram_quantile` does for a native
    /// histogram with a standard schema.
    ///
    /// With `rank = q * count`, buckets are visited from the lowest value up (negative buckets
    /// by decreasing magnitude, the zero bucket, positive buckets) until the cumulative count
    /// reaches `rank`; the estimate is interpolated inside that bucket at fraction
    /// `f = (rank - count below the bucket) / count in the bucket`:
    /// - in a regular bucket, *exponentially*, as recent Prometheus versions do: a positive
    ///   bucket `(base^(i-1), base^i]` gives `base^(i-1+f)`, as if the observations were spread
    ///   evenly over the buckets of a finer schema. Negative buckets mirror this. The overflow
    ///   bucket, which ends at infinity, gives its lower end, the largest finite `Double`.
    /// - in the zero bucket, linearly between `-zeroThreshold` and `zeroThreshold`, narrowed to
    ///   `[0, zeroThreshold]` when there are only positive buckets (to `[-zeroThreshold, 0]`
    ///   when only negative ones).
    ///
    /// PromQL walks from the top for `q >= 0.5`; this walks from the bottom only. The two agree
    /// except when `rank` equals a cumulative count exactly, where this returns the upper edge
    /// of the lower bucket and PromQL the lower edge of the next populated bucket. Counts of NaN
    /// observations are in `count` but in no bucket; as in PromQL, a rank beyond the bucketed
    /// observations returns the upper edge of the highest populated bucket.
    ///
    /// Special cases: NaN if nothing was observed or `q` is NaN, `-Inf` for `q < 0`, `+Inf` for
    /// `q > 1`. For `q == 0` the estimate is the lowest edge of the lowest populated bucket.
    ///
    /// Error bound: let `x` be the true quantile, the observation of rank `ceil(q * count)`,
    /// and `base = 2^(2^-schema)` at the histogram's current ``schema``. If `x` is in a regular
    /// bucket, the estimate is in the same bucket, so `estimate / x` is between `1 / base` and
    /// `base`, and `|estimate - x| <= (base - 1) * |x|`: 9.05% at schema 3, 4.43% at schema 4,
    /// 0.27% at schema 8 (the module documentation lists every schema). If `x` is in the zero
    /// bucket, then `|estimate - x| <= 2 * zeroThreshold`.
    public func quantile(_ q: Double) -> Double {
        if q.isNaN {
            return .nan
        }
        if q < 0 {
            return -.infinity
        }
        if q > 1 {
            return .infinity
        }
        guard count > 0 else {
            return .nan
        }
        let rank = q * Double(count)
        var below: UInt64 = 0
        for bucket in negativeBuckets.reversed() {
            let cumulative = below &+ bucket.count
            if Double(cumulative) >= rank {
                let fraction = (rank - Double(below)) / Double(bucket.count)
                // Fraction 0 is the most negative end, -base^i.
                return -magnitude(inBucket: Int(bucket.index), at: 1 - fraction)
            }
            below = cumulative
        }
        let (zeroLower, zeroUpper) = zeroBucketRange
        if zeroCount > 0 {
            let cumulative = below &+ zeroCount
            if Double(cumulative) >= rank {
                let fraction = (rank - Double(below)) / Double(zeroCount)
                return zeroLower + (zeroUpper - zeroLower) * fraction
            }
            below = cumulative
        }
        for bucket in positiveBuckets {
            let cumulative = below &+ bucket.count
            if Double(cumulative) >= rank {
                let fraction = (rank - Double(below)) / Double(bucket.count)
                return magnitude(inBucket: Int(bucket.index), at: fraction)
            }
            below = cumulative
        }
        // Only NaN observations are left above the rank.
        if let highest = positiveBuckets.last {
            return Self.upperBound(ofBucket: Int(highest.index), schema: schema)
        }
        if zeroCount > 0 {
            return zeroUpper
        }
        if let highest = negativeBuckets.first {
            return -Self.upperBound(ofBucket: Int(highest.index) - 1, schema: schema)
        }
        return .nan
    }

    /// The range the zero bucket is assumed to spread over for interpolation.
    private var zeroBucketRange: (lower: Double, upper: Double) {
        if negativeBuckets.isEmpty, !positiveBuckets.isEmpty {
            return (0, zeroThreshold)
        }
        if positiveBuckets.isEmpty, !negativeBuckets.isEmpty {
            return (-zeroThreshold, 0)
        }
        return (-zeroThreshold, zeroThreshold)
    }

    /// `base^(index - 1 + fraction)`, kept inside the bucket's `Double` bounds.
    private func magnitude(inBucket index: Int, at fraction: Double) -> Double {
        let lower = Self.upperBound(ofBucket: index - 1, schema: schema)
        let upper = Self.upperBound(ofBucket: index, schema: schema)
        guard upper.isFinite else {
            return lower
        }
        // log2 of the bound is (index - 1 + fraction) * 2^-schema; interpolating the exponent
        // linearly is interpolating the value exponentially. The clamp absorbs exp2 rounding.
        let exponent = (Double(index - 1) + fraction) * Double(sign: .plus, exponent: -schema, significand: 1)
        return min(max(exp2(exponent), lower), upper)
    }
}
