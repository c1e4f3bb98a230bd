// MARK: - Restoring saved histograms

extension NativeHistogram {
    /// Rebuilds a histogram from its parts, as saved by a previous run.
    ///
    /// Returns nil when the parts could not have come from a histogram: settings that do not
    /// validate, bucket lists not strictly increasing by index or with zero
    /// counts, or bucket counts adding up to more than `count`.
    public init?(
        schema: Int, zeroThreshold: Double, maxBuckets: Int, zeroCount: UInt64, count: UInt64, sum: Double,
        positiveBuckets: [NativeBucket], negativeBuckets: [NativeBucket]
    ) {
        guard
            let settings = try? NativeHistogramSettings(
                schema: schema, zeroThreshold: zeroThreshold, maxBuckets: maxBuckets)
        else { return nil }
        var total = zeroCount
        for list in [positiveBuckets, negativeBuckets] {
            for (k, bucket) in list.enumerated() {
                guard bucket.count > 0, k == 0 || list[k - 1].index < bucket.index else { return nil }
                let (added, overflow) = total.addingReportingOverflow(bucket.count)
                guard !overflow else { return nil }
                total = added
            }
        }
        guard total <= count else { return nil }
        self.init(settings: settings)
        self.zeroCount = zeroCount
        self.count = count
        self.sum = sum
        self.positive = NativeBucketList(positiveBuckets)
        self.negative = NativeBucketList(negativeBuckets)
    }
}
