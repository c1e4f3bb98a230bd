// MARK: - QuantileEstimating

extension FixedHistogram: QuantileEstimating {
    /// Estimates the `q`-quantile the way PromQL's `histogram_quantile` does for a classic
    /// histogram, so that `logmetrics report` and a dashboard agree.
    ///
    /// With `rank = q * count`, the estimate comes from the first bucket whose cumulative count
    /// reaches `rank`, interpolating linearly inside it:
    /// - the lowest bucket interpolates from 0 when its bound is above 0; when its bound is
    ///   `<= 0`, that bound is returned;
    /// - a rank that lands in the `+Inf` bucket returns the highest finite bound.
    ///
    /// Special cases: NaN if the histogram is empty or `q` is NaN, `-Inf` for `q < 0`, `+Inf` for
    /// `q > 1`. For `q == 0` the estimate is the lower edge of the lowest populated bucket
    /// (Prometheus divides 0 by 0 there and returns NaN when the lowest bucket is empty).
    ///
    /// Error bound: let `x` be the true quantile, the observation of rank `ceil(q * count)`.
    /// The estimate lies in the same bucket as `x`, between its lower edge (0 for the lowest
    /// bucket) and its bound, so the error is at most the width of that bucket. Two buckets are
    /// open-ended: if `x` is in the `+Inf` bucket the estimate is the highest finite bound (below
    /// `x` by an unbounded amount), and if `x` is negative and in the lowest bucket, the estimate
    /// is at least 0.
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
        let bounds = layout.upperBounds
        let rank = q * Double(count)
        var below: UInt64 = 0
        for bucket in bounds.indices {
            let inBucket = bucketCounts[bucket]
            let cumulative = below &+ inBucket
            // `inBucket > 0` only matters for rank 0, where an empty bucket would divide 0 by 0.
            if inBucket > 0, Double(cumulative) >= rank {
                if bucket == 0, bounds[0] <= 0 {
                    return bounds[0]
                }
                let lower = bucket == 0 ? 0 : bounds[bucket - 1]
                let upper = bounds[bucket]
                let fraction = (rank - Double(below)) / Double(inBucket)
                return lower + (upper - lower) * fraction
            }
            below = cumulative
        }
        // The rank is in the +Inf bucket, which has no upper edge to interpolate towards.
        return bounds[bounds.count - 1]
    }
}
