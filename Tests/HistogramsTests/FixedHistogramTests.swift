import Histograms
import Testing

@Suite struct FixedHistogramTests {
    private let smallLayout = try! BucketLayout(upperBounds: [1, 2, 4])

    @Test func startsEmpty() {
        let histogram = FixedHistogram(layout: smallLayout)
        #expect(histogram.bucketCounts == [0, 0, 0, 0])
        #expect(histogram.count == 0)
        #expect(histogram.sum == 0)
        #expect(histogram.cumulativeCounts() == [0, 0, 0, 0])
    }

    @Test func countsEachObservationInItsBucket() {
        var histogram = FixedHistogram(layout: smallLayout)
        for value in [0.5, 1, 1.5, 2, 3, 4, 4.5, 100] {
            histogram.observe(value)
        }
        #expect(histogram.bucketCounts == [2, 2, 2, 2])
        #expect(histogram.count == 8)
        #expect(histogram.sum == 116.5)
        #expect(histogram.cumulativeCounts() == [2, 4, 6, 8])
    }

    @Test func integerObservationsMatchDoubleObservations() {
        var viaInt = FixedHistogram(layout: .envoyMilliseconds)
        var viaDouble = FixedHistogram(layout: .envoyMilliseconds)
        for value in [-3, 0, 1, 5, 6, 999, 1000, 1001, 4095, 4096, 3_600_000, 3_600_001, Int.max] {
            viaInt.observe(value)
            viaDouble.observe(Double(value))
        }
        #expect(viaInt == viaDouble)
    }

    @Test func specialValuesFollowTheGoClient() {
        var histogram = FixedHistogram(layout: smallLayout)
        histogram.observe(-.infinity)
        #expect(histogram.bucketCounts == [1, 0, 0, 0])
        histogram.observe(.infinity)
        #expect(histogram.bucketCounts == [1, 0, 0, 1])
        #expect(histogram.sum.isNaN)  // -Inf + Inf
        histogram.observe(.nan)
        #expect(histogram.bucketCounts == [1, 0, 0, 2])
        #expect(histogram.count == 3)
    }

    @Test func forEachCumulativeBucketEndsWithInfinityAndCount() {
        var histogram = FixedHistogram(layout: smallLayout)
        for value in [0.5, 3, 3, 9] {
            histogram.observe(value)
        }
        var seen: [(Double, UInt64)] = []
        histogram.forEachCumulativeBucket { seen.append(($0, $1)) }
        #expect(seen.map(\.0) == [1, 2, 4, .infinity])
        #expect(seen.map(\.1) == [1, 1, 3, 4])
        #expect(seen.map(\.1) == histogram.cumulativeCounts())
    }

    // MARK: - Merge

    @Test func mergeAddsCountsAndSums() throws {
        var left = FixedHistogram(layout: smallLayout)
        var right = FixedHistogram(layout: smallLayout)
        left.observe(1)
        left.observe(3)
        right.observe(3)
        right.observe(10)
        try left.merge(right)
        #expect(left.bucketCounts == [1, 0, 2, 1])
        #expect(left.count == 4)
        #expect(left.sum == 17)
    }

    @Test func mergeRejectsADifferentLayout() throws {
        var histogram = FixedHistogram(layout: .envoyMilliseconds)
        histogram.observe(3)
        let before = histogram
        let other = FixedHistogram(layout: try BucketLayout.envoyMilliseconds.inserting(boundary: 750))
        #expect(throws: LayoutMismatchError(expected: .envoyMilliseconds, found: other.layout)) {
            try histogram.merge(other)
        }
        #expect(histogram == before)
    }

    /// Merging shards in any grouping and order gives the same histogram, and loses nothing.
    @Test(arguments: Distribution.allCases) func mergeIsAssociativeAndCommutative(distribution: Distribution) throws {
        var generator = SplitMix64(seed: 0xF1ED_0001)
        for _ in 0..<10 {
            var shards: [FixedHistogram] = []
            var all: [Double] = []
            for _ in 0..<3 {
                var shard = FixedHistogram(layout: .envoyMilliseconds)
                // Integer milliseconds keep every sum exact, so sums can be compared with ==.
                let values = distribution.samples(Int.random(in: 0..<300, using: &generator), using: &generator)
                    .map { $0.rounded() }
                for value in values {
                    shard.observe(value)
                }
                all += values
                shards.append(shard)
            }
            let (a, b, c) = (shards[0], shards[1], shards[2])
            let leftFirst = try a.merging(b).merging(c)
            let rightFirst = try a.merging(b.merging(c))
            #expect(leftFirst == rightFirst)
            #expect(try a.merging(b) == b.merging(a))
            #expect(try c.merging(a).merging(b) == leftFirst)

            var reference = FixedHistogram(layout: .envoyMilliseconds)
            for value in all {
                reference.observe(value)
            }
            #expect(leftFirst == reference)
            #expect(leftFirst.count == UInt64(all.count))
            #expect(leftFirst.cumulativeCounts().last == leftFirst.count)
        }
    }

    @Test(arguments: Distribution.allCases) func cumulativeInfinityBucketEqualsCount(distribution: Distribution) {
        var generator = SplitMix64(seed: 0xF1ED_0002)
        var histogram = FixedHistogram(layout: .envoyMilliseconds)
        for round in 0..<5 {
            for value in distribution.samples(200, using: &generator) {
                histogram.observe(value)
            }
            if round == 3 {
                histogram.observe(.nan)
                histogram.observe(.infinity)
            }
            let cumulative = histogram.cumulativeCounts()
            #expect(cumulative.last == histogram.count)
            #expect(histogram.bucketCounts.reduce(0, +) == histogram.count)
            #expect(zip(cumulative, cumulative.dropFirst()).allSatisfy { $0 <= $1 })
        }
    }
}
