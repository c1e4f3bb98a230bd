import Histograms
import Testing

@Suite struct QuantileTests {
    private static let quantiles = [0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1]

    private static func fixed(_ bounds: [Double], observing values: [Double]) -> FixedHistogram {
        var histogram = FixedHistogram(layout: try! BucketLayout(upperBounds: bounds))
        for value in values {
            histogram.observe(value)
        }
        return histogram
    }

    private static func native(schema: Int, zeroThreshold: Double = 0x1p-128, observing values: [Double])
        -> NativeHistogram
    {
        var histogram = NativeHistogram(
            settings: try! NativeHistogramSettings(schema: schema, zeroThreshold: zeroThreshold))
        for value in values {
            histogram.observe(value)
        }
        return histogram
    }

    // MARK: - Fixed buckets

    @Test func fixedInterpolatesLinearlyLikeHistogramQuantile() {
        // Two observations in each of (0, 1], (1, 2], (2, 4] and (4, +Inf).
        let histogram = Self.fixed([1, 2, 4], observing: [0.5, 1, 1.5, 2, 3, 4, 4.5, 100])
        #expect(histogram.quantile(0.1) == 0.4)  // Lowest bucket interpolates from 0.
        #expect(histogram.quantile(0.25) == 1)
        #expect(histogram.quantile(0.5) == 2)
        #expect(histogram.quantile(0.6) == 2.8)
        #expect(histogram.quantile(0.9) == 4)  // In the +Inf bucket: the highest finite bound.
        #expect(histogram.quantile(1) == 4)
        #expect(histogram.quantile(0) == 0)
    }

    @Test func fixedLowestBucketAtOrBelowZeroReturnsItsBound() {
        let histogram = Self.fixed([-1, 0, 5], observing: [-3, -2, 4])
        #expect(histogram.quantile(0.5) == -1)
        // Rank 2.7 is 0.7 into (0, 5], the one observation past the empty (-1, 0].
        let fraction: Double = 0.9 * 3 - 2
        #expect(histogram.quantile(0.9) == 5 * fraction)
    }

    @Test func fixedSpecialCases() {
        let empty = Self.fixed([1, 2], observing: [])
        #expect(empty.quantile(0.5).isNaN)
        let histogram = Self.fixed([1, 2, 4], observing: [3])
        #expect(histogram.quantile(.nan).isNaN)
        #expect(histogram.quantile(-0.1) == -.infinity)
        #expect(histogram.quantile(1.1) == .infinity)
        // q = 0 with empty lower buckets: the lower edge of the first populated bucket.
        #expect(histogram.quantile(0) == 2)
    }

    // MARK: - Native buckets

    @Test func nativeInterpolatesExponentiallyInPositiveBuckets() {
        // Four observations in bucket 2, (2, 4], at schema 0.
        let histogram = Self.native(schema: 0, observing: [3, 3, 3, 3])
        #expect(abs(histogram.quantile(0.5) - 2.0.squareRoot() * 2) < 1e-12)  // 2^1.5
        #expect(histogram.quantile(1) == 4)
        #expect(histogram.quantile(0) == 2)
        #expect(abs(histogram.quantile(0.25) - 2.378_414_230_005_442) < 1e-12)  // 2^1.25
    }

    @Test func nativeMirrorsNegativeBuckets() {
        // Four observations in negative bucket 2, [-4, -2).
        let histogram = Self.native(schema: 0, observing: [-3, -3, -3, -3])
        #expect(histogram.quantile(0) == -4)
        #expect(abs(histogram.quantile(0.5) - -(2.0.squareRoot() * 2)) < 1e-12)
        #expect(abs(histogram.quantile(0.25) - -3.363_585_661_014_858) < 1e-12)  // -2^1.75
        #expect(histogram.quantile(1) == -2)
    }

    @Test func nativeZeroBucketInterpolatesLinearly() {
        let positive = Self.native(schema: 0, zeroThreshold: 1, observing: [0.5, 0, 3, 3])
        #expect(positive.quantile(0.25) == 0.5)  // Only positive buckets: the zero bucket is [0, 1].
        let negative = Self.native(schema: 0, zeroThreshold: 1, observing: [0.5, 0, -3, -3])
        #expect(negative.quantile(0.75) == -0.5)  // Only negative buckets: [-1, 0].
        let both = Self.native(schema: 0, zeroThreshold: 1, observing: [-3, 0.5, 0, 0, 0, 3])
        #expect(both.quantile(0.5) == 0)  // Halfway through the zero bucket's ranks, over [-1, 1].
        let onlyZeros = Self.native(schema: 3, zeroThreshold: 0, observing: [0, 0])
        #expect(onlyZeros.quantile(0.5) == 0)
    }

    @Test func nativeSpecialCases() {
        #expect(Self.native(schema: 3, observing: []).quantile(0.5).isNaN)
        #expect(Self.native(schema: 3, observing: [.nan]).quantile(0.5).isNaN)
        // NaN is counted but in no bucket; ranks above the bucketed observations get the upper
        // edge of the highest bucket.
        let withNaN = Self.native(schema: 0, observing: [3, .nan])
        #expect(withNaN.quantile(0.9) == 4)
        let overflow = Self.native(schema: 0, observing: [.infinity])
        #expect(overflow.quantile(0.5) == .greatestFiniteMagnitude)
        let histogram = Self.native(schema: 3, observing: [1, 2])
        #expect(histogram.quantile(-1) == -.infinity)
        #expect(histogram.quantile(2) == .infinity)
        #expect(histogram.quantile(.nan).isNaN)
    }

    /// The figures in the documentation: base - 1 per schema.
    @Test func documentedRelativeErrorBounds() {
        let documented: [Int: Double] = [
            8: 0.002_711, 7: 0.005_430, 6: 0.010_889, 5: 0.021_897, 4: 0.044_274, 3: 0.090_508,
            2: 0.189_207, 1: 0.414_214, 0: 1, -1: 3, -2: 15, -3: 255, -4: 65535,
        ]
        for (schema, bound) in documented {
            #expect(abs((NativeHistogram.base(schema: schema) - 1) - bound) <= 5e-7, "schema \(schema)")
        }
    }

    // MARK: - Helpers

    @Test func summaryHelpersAreTheFourQuantiles() {
        var generator = SplitMix64(seed: 0x0A11_0001)
        let values = Distribution.logNormal.samples(500, using: &generator)
        let fixed = Self.fixed(BucketLayout.envoyMilliseconds.upperBounds, observing: values)
        let native = Self.native(schema: 3, observing: values)
        for histogram in [fixed as any QuantileEstimating, native as any QuantileEstimating] {
            let summary = histogram.quantileSummary()
            #expect(
                summary
                    == QuantileSummary(p50: histogram.p50, p90: histogram.p90, p95: histogram.p95, p99: histogram.p99))
            #expect(summary.p50 == histogram.quantile(0.5))
            #expect(summary.p99 == histogram.quantile(0.99))
            #expect(summary.p50 <= summary.p90 && summary.p90 <= summary.p95 && summary.p95 <= summary.p99)
        }
    }

    // MARK: - Properties

    /// A fixed-bucket estimate lies in the bucket holding the true quantile (from 0 for the
    /// lowest bucket); in the +Inf bucket it is the highest finite bound.
    @Test(arguments: Distribution.allCases) func fixedEstimatesStayInTheTrueQuantilesBucket(distribution: Distribution)
    {
        var generator = SplitMix64(seed: 0x0A11_0002)
        let layout = BucketLayout.envoyMilliseconds
        for _ in 0..<10 {
            let values = distribution.samples(Int.random(in: 1...3000, using: &generator), using: &generator)
            let histogram = Self.fixed(layout.upperBounds, observing: values)
            let sorted = values.sorted()
            for q in Self.quantiles {
                let truth = exactQuantile(q, ofSorted: sorted)
                let estimate = histogram.quantile(q)
                let bucket = layout.bucketIndex(for: truth)
                if bucket == layout.count {
                    #expect(estimate == layout.upperBounds[layout.count - 1])
                } else {
                    let lower = bucket == 0 ? 0 : layout.upperBounds[bucket - 1]
                    let upper = layout.upperBounds[bucket]
                    #expect(lower <= estimate && estimate <= upper, "q \(q): \(estimate) for \(truth)")
                    #expect(abs(estimate - truth) <= upper - lower)
                }
            }
        }
    }

    /// A native estimate is within a factor `base` of the true quantile, on both sides of zero.
    @Test(arguments: Distribution.allCases) func nativeEstimatesAreWithinOneBucketFactor(distribution: Distribution) {
        var generator = SplitMix64(seed: 0x0A11_0003)
        for round in 0..<12 {
            let sign: Double = round.isMultiple(of: 3) ? -1 : 1
            let values = distribution.samples(Int.random(in: 1...3000, using: &generator), using: &generator)
                .map { $0 * sign }
            let histogram = Self.native(schema: [8, 5, 3, 1, 0, -2][round % 6], observing: values)
            let base = histogram.base
            let sorted = values.sorted()
            for q in Self.quantiles {
                let truth = exactQuantile(q, ofSorted: sorted)
                let estimate = histogram.quantile(q)
                if abs(truth) <= histogram.zeroThreshold {
                    #expect(abs(estimate - truth) <= 2 * histogram.zeroThreshold)
                } else {
                    // The slack covers rounding of the bucket bounds to Double.
                    let ratio = estimate / truth
                    #expect(
                        ratio >= 1 / base * (1 - 1e-12) && ratio <= base * (1 + 1e-12),
                        "schema \(histogram.schema) q \(q): \(estimate) for \(truth)")
                    #expect(abs(estimate - truth) <= (base - 1) * abs(truth) * (1 + 1e-12))
                }
            }
        }
    }
}
