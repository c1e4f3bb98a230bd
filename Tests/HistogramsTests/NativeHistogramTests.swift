import Histograms
import Testing

@Suite struct NativeHistogramTests {
    private static let allSchemas = Array(NativeHistogramSettings.schemaRange)

    private static func histogram(
        schema: Int = 3, zeroThreshold: Double = NativeHistogramSettings.defaultZeroThreshold, maxBuckets: Int = 160
    ) -> NativeHistogram {
        // Test parameters are valid by construction.
        NativeHistogram(
            settings: try! NativeHistogramSettings(schema: schema, zeroThreshold: zeroThreshold, maxBuckets: maxBuckets)
        )
    }

    private static func buckets(_ pairs: KeyValuePairs<Int32, UInt64>) -> [NativeBucket] {
        pairs.map { NativeBucket(index: $0.key, count: $0.value) }
    }

    // MARK: - Settings

    @Test func settingsValidateEachParameter() {
        #expect(throws: NativeHistogramSettingsError.schemaOutOfRange(9)) { try NativeHistogramSettings(schema: 9) }
        #expect(throws: NativeHistogramSettingsError.schemaOutOfRange(-5)) { try NativeHistogramSettings(schema: -5) }
        #expect(throws: NativeHistogramSettingsError.invalidZeroThreshold(-1)) {
            try NativeHistogramSettings(zeroThreshold: -1)
        }
        #expect(throws: NativeHistogramSettingsError.invalidZeroThreshold(.infinity)) {
            try NativeHistogramSettings(zeroThreshold: .infinity)
        }
        #expect(throws: NativeHistogramSettingsError.invalidMaxBuckets(0)) {
            try NativeHistogramSettings(maxBuckets: 0)
        }
        #expect(NativeHistogramSettings.default.schema == 3)
        #expect(NativeHistogramSettings.default.zeroThreshold == 0x1p-128)
        #expect(NativeHistogramSettings.default.maxBuckets == 160)
    }

    // MARK: - Boundary table

    /// Every boundary in the table is 2^(j/256) rounded down: with the table value written as
    /// m * 2^-52 (m a 53-bit integer), m^256 <= 2^(j + 52 * 256) < (m + 1)^256, in exact
    /// integer arithmetic. Schema s boundaries use entries j = k * 2^(8-s); checking them at the
    /// power 2^s they need keeps the arithmetic small, and only the odd j need the 256th power.
    @Test func boundaryTableIsRoundedDownExactly() {
        for schema in 1...8 {
            let stride = 1 << (8 - schema)
            for k in Swift.stride(from: 1, to: 1 << schema, by: 2) {
                let bound = NativeHistogram.upperBound(ofBucket: k, schema: schema)
                #expect(bound.exponent == 0)
                let m = bound.significandBitPattern | (1 << 52)
                var lower = BigUInt(m)
                var upper = BigUInt(m + 1)
                for _ in 0..<schema {
                    lower = lower.squared()
                    upper = upper.squared()
                }
                let power = BigUInt.powerOfTwo(k + 52 << schema)
                #expect(lower <= power && power < upper, "schema \(schema) boundary \(k) (table entry \(k * stride))")
            }
        }
    }

    // MARK: - Bucket index

    @Test func exactPowersOfTheBaseLandInTheLowerBucket() {
        for schema in Self.allSchemas where schema >= 0 {
            for exponent in -20...20 {
                let power = Double(sign: .plus, exponent: exponent, significand: 1)
                let index = exponent << schema
                #expect(NativeHistogram.bucketIndex(for: power, schema: schema) == index)
                #expect(NativeHistogram.bucketIndex(for: power.nextUp, schema: schema) == index + 1)
                #expect(NativeHistogram.bucketIndex(for: power.nextDown, schema: schema) == index)
            }
        }
        for schema in Self.allSchemas where schema < 0 {
            let width = 1 << -schema  // Powers of two per bucket.
            for exponent in -40...40 {
                let power = Double(sign: .plus, exponent: exponent, significand: 1)
                // 2^exponent is in bucket ceil(exponent / width); it is the bucket's upper bound
                // exactly when width divides exponent.
                let index = Int((Double(exponent) / Double(width)).rounded(.up))
                #expect(NativeHistogram.bucketIndex(for: power, schema: schema) == index)
                let next = exponent % width == 0 ? index + 1 : index
                #expect(NativeHistogram.bucketIndex(for: power.nextUp, schema: schema) == next)
            }
        }
    }

    @Test func knownIndexes() {
        let cases: [(value: Double, schema: Int, index: Int)] = [
            (1, 0, 0), (2, 0, 1), (3, 0, 2), (4, 0, 2), (0.5, 0, -1), (0.75, 0, 0),
            (1.5, 2, 3),  // (2^(2/4), 2^(3/4)] = (1.414, 1.682]
            (1.09, 3, 1), (1.1, 3, 2), (1000, 3, 80),  // 2^(79/8) = 935.1, 2^(80/8) = 1024
            (3, -1, 1), (4, -1, 1), (5, -1, 2), (0.25, -1, -1), (0.3, -1, 0),
            (65536, -4, 1), (65537, -4, 2), (1, -4, 0), (0x1p-16, -4, -1),
        ]
        for (value, schema, index) in cases {
            #expect(NativeHistogram.bucketIndex(for: value, schema: schema) == index, "\(value) at schema \(schema)")
        }
    }

    /// The specification's extremes: the largest finite Double is in bucket 262144 at schema 8,
    /// and +Inf in the overflow bucket after it.
    @Test func extremeMagnitudes() {
        #expect(NativeHistogram.bucketIndex(for: .greatestFiniteMagnitude, schema: 8) == 262_144)
        #expect(NativeHistogram.bucketIndex(for: .infinity, schema: 8) == 262_145)
        #expect(NativeHistogram.bucketIndex(for: .greatestFiniteMagnitude, schema: 0) == 1024)
        #expect(NativeHistogram.bucketIndex(for: .infinity, schema: 0) == 1025)
        #expect(NativeHistogram.bucketIndex(for: .greatestFiniteMagnitude, schema: -4) == 64)
        #expect(NativeHistogram.bucketIndex(for: .infinity, schema: -4) == 65)
        #expect(NativeHistogram.bucketIndex(for: .leastNonzeroMagnitude, schema: 0) == -1074)
        #expect(NativeHistogram.bucketIndex(for: .leastNonzeroMagnitude, schema: 8) == -1074 * 256)
        #expect(NativeHistogram.bucketIndex(for: .leastNormalMagnitude, schema: 0) == -1022)
        #expect(NativeHistogram.upperBound(ofBucket: 262_144, schema: 8) == .greatestFiniteMagnitude)
        #expect(NativeHistogram.upperBound(ofBucket: 262_145, schema: 8) == .infinity)
        #expect(NativeHistogram.upperBound(ofBucket: -1100, schema: 0) == 0)
    }

    /// `upperBound(ofBucket:)` is the largest Double the bucket holds, at every schema: it is
    /// counted in the bucket and the next Double is not. Deep in the subnormal range some
    /// buckets hold no Double at all; there the bound is the largest Double below the bucket.
    @Test func upperBoundIsTheLargestValueInTheBucket() {
        var failures: [String] = []
        let exponents = [-1074, -1073, -1060, -1040, -1023, -1022, -1021, -200, -1, 0, 1, 9, 100, 1022, 1023]
        for schema in Self.allSchemas {
            var indexes: [Int] = []
            if schema > 0 {
                for exponent in exponents {
                    indexes += (0..<(1 << schema)).map { (exponent << schema) + $0 }
                }
                indexes.append(1024 << schema)
            } else {
                indexes = Array(-(1074 >> -schema)...(1024 >> -schema))
            }
            for index in indexes {
                let bound = NativeHistogram.upperBound(ofBucket: index, schema: schema)
                let boundIndex = NativeHistogram.bucketIndex(for: bound, schema: schema)
                let nextIndex = NativeHistogram.bucketIndex(for: bound.nextUp, schema: schema)
                let tight = bound >= .leastNormalMagnitude ? boundIndex == index : boundIndex <= index
                if !tight || nextIndex <= index || (bound >= .leastNormalMagnitude && nextIndex != index + 1) {
                    failures.append("schema \(schema) bucket \(index) bound \(bound)")
                }
            }
        }
        #expect(failures.isEmpty)
    }

    /// Halving the resolution maps bucket i to ceil(i / 2), so the index at schema s - 1 must be
    /// derivable from the index at schema s for every value.
    @Test func indexAtLowerSchemaIsCeilingOfHalfIndex() {
        var generator = SplitMix64(seed: 0x1DE_0001)
        var failures: [String] = []
        for _ in 0..<2000 {
            let value = Double(
                sign: .plus, exponent: Int.random(in: -1060...1020, using: &generator),
                significand: Double.random(in: 1..<2, using: &generator))
            for schema in Self.allSchemas.dropFirst() {
                let fine = NativeHistogram.bucketIndex(for: value, schema: schema)
                let coarse = NativeHistogram.bucketIndex(for: value, schema: schema - 1)
                if coarse != Int((Double(fine) / 2).rounded(.up)) {
                    failures.append("\(value) at schema \(schema)")
                }
            }
        }
        #expect(failures.isEmpty)
    }

    // MARK: - Observing

    @Test func zeroThresholdIsInclusiveOnBothSides() {
        var histogram = Self.histogram(schema: 0, zeroThreshold: 0.5)
        for value in [0.5, -0.5, 0, -0.0, 0.25] {
            histogram.observe(value)
        }
        #expect(histogram.zeroCount == 5)
        #expect(histogram.populatedBucketCount == 0)
        histogram.observe(0.5.nextUp)
        histogram.observe((-0.5).nextDown)
        #expect(histogram.zeroCount == 5)
        #expect(histogram.positiveBuckets == Self.buckets([0: 1]))
        #expect(histogram.negativeBuckets == Self.buckets([0: 1]))
    }

    @Test func zeroThresholdZeroTakesOnlyZeros() {
        var histogram = Self.histogram(schema: 0, zeroThreshold: 0)
        histogram.observe(0)
        histogram.observe(-0.0)
        histogram.observe(.leastNonzeroMagnitude)
        histogram.observe(-.leastNonzeroMagnitude)
        #expect(histogram.zeroCount == 2)
        #expect(histogram.positiveBuckets == Self.buckets([-1074: 1]))
        #expect(histogram.negativeBuckets == Self.buckets([-1074: 1]))
    }

    @Test func negativeValuesUseTheMagnitudeIndex() {
        var histogram = Self.histogram(schema: 0)
        for value in [-3.0, -4, -4.5, -1, 2] {
            histogram.observe(value)
        }
        #expect(histogram.negativeBuckets == Self.buckets([0: 1, 2: 2, 3: 1]))
        #expect(histogram.positiveBuckets == Self.buckets([1: 1]))
        #expect(histogram.count == 5)
        #expect(histogram.sum == -10.5)
    }

    @Test func specialValuesFollowTheSpecification() {
        var histogram = Self.histogram(schema: 8)
        histogram.observe(.infinity)
        histogram.observe(-.infinity)
        #expect(histogram.positiveBuckets == Self.buckets([262_145: 1]))
        #expect(histogram.negativeBuckets == Self.buckets([262_145: 1]))
        histogram.observe(.nan)
        #expect(histogram.count == 3)
        #expect(histogram.zeroCount == 0)
        #expect(histogram.populatedBucketCount == 2)
        #expect(histogram.sum.isNaN)
    }

    @Test func bucketsStaySortedAndCountsAddUp() {
        var generator = SplitMix64(seed: 0x1DE_0002)
        var histogram = Self.histogram(schema: 5, maxBuckets: 1000)
        for _ in 0..<3000 {
            histogram.observe(Double.random(in: -1000...1000, using: &generator))
        }
        for list in [histogram.positiveBuckets, histogram.negativeBuckets] {
            #expect(zip(list, list.dropFirst()).allSatisfy { $0.index < $1.index })
            #expect(list.allSatisfy { $0.count > 0 })
        }
        let total = (histogram.positiveBuckets + histogram.negativeBuckets).reduce(histogram.zeroCount) {
            $0 + $1.count
        }
        #expect(total == histogram.count)
    }

    /// The buckets equal a plain dictionary of per-index counts, whatever the order of arrival
    /// (new buckets inside, before and after the run of consecutive indexes).
    @Test(arguments: Distribution.allCases) func bucketsMatchAReferenceModel(distribution: Distribution) {
        var generator = SplitMix64(seed: 0x1DE_0006)
        for schema in [-2, 0, 3, 6] {
            var histogram = Self.histogram(schema: schema, zeroThreshold: 0.5, maxBuckets: .max)
            var positive: [Int: UInt64] = [:]
            var negative: [Int: UInt64] = [:]
            var zero: UInt64 = 0
            for _ in 0..<1500 {
                var value = distribution.sample(using: &generator)
                value = Int.random(in: 0..<4, using: &generator) == 0 ? -value / 1000 : value
                histogram.observe(value)
                if value > 0.5 {
                    positive[NativeHistogram.bucketIndex(for: value, schema: schema), default: 0] += 1
                } else if value < -0.5 {
                    negative[NativeHistogram.bucketIndex(for: -value, schema: schema), default: 0] += 1
                } else {
                    zero += 1
                }
            }
            let expectedPositive = positive.sorted { $0.key < $1.key }.map {
                NativeBucket(index: Int32($0.key), count: $0.value)
            }
            let expectedNegative = negative.sorted { $0.key < $1.key }.map {
                NativeBucket(index: Int32($0.key), count: $0.value)
            }
            #expect(histogram.positiveBuckets == expectedPositive)
            #expect(histogram.negativeBuckets == expectedNegative)
            #expect(histogram.zeroCount == zero)
        }
    }

    // MARK: - Schema reduction

    @Test func reductionMergesBucketPairsWithCeilingOfHalfIndex() {
        // Buckets -1...3 at schema 1, then a sixth populated bucket exceeds the limit of 5.
        var histogram = Self.histogram(schema: 1, maxBuckets: 5)
        let values: [Double] = [0.6, 1, 1, 1.2, 1.2, 1.2, 1.8, 1.8, 1.8, 1.8, 2.5, 2.5, 2.5, 2.5, 2.5]
        for value in values {
            histogram.observe(value)
        }
        #expect(histogram.schema == 1)
        #expect(histogram.positiveBuckets == Self.buckets([-1: 1, 0: 2, 1: 3, 2: 4, 3: 5]))
        histogram.observe(-1)  // Negative bucket 0 is the sixth.
        #expect(histogram.schema == 0)
        // -1 -> 0, 0 -> 0, 1 -> 1, 2 -> 1, 3 -> 2.
        #expect(histogram.positiveBuckets == Self.buckets([0: 3, 1: 7, 2: 5]))
        #expect(histogram.negativeBuckets == Self.buckets([0: 1]))
        #expect(histogram.count == 16)
    }

    /// Observing at a high schema and letting the limit reduce it gives exactly the histogram
    /// observed at the reduced schema from the start.
    @Test(arguments: Distribution.allCases) func reductionEqualsObservingAtTheLowerSchema(distribution: Distribution) {
        var generator = SplitMix64(seed: 0x1DE_0003)
        for maxBuckets in [4, 20, 60] {
            let values = distribution.samples(1500, using: &generator).map {
                $0 * (Bool.random(using: &generator) ? 1 : -1)
            }
            var reduced = Self.histogram(schema: 8, maxBuckets: maxBuckets)
            for value in values {
                reduced.observe(value)
            }
            if maxBuckets == 4 {
                #expect(reduced.schema < 8)
            }
            #expect(reduced.populatedBucketCount <= maxBuckets || reduced.schema == -4)
            var direct = Self.histogram(schema: reduced.schema, maxBuckets: .max)
            for value in values {
                direct.observe(value)
            }
            #expect(reduced.positiveBuckets == direct.positiveBuckets)
            #expect(reduced.negativeBuckets == direct.negativeBuckets)
            #expect(reduced.zeroCount == direct.zeroCount)
            #expect(reduced.count == UInt64(values.count))
        }
    }

    @Test func reductionStopsAtSchemaMinusFour() {
        var histogram = Self.histogram(schema: -3, maxBuckets: 1)
        for value in [1.0, 1e10, 1e20, 1e-10] {
            histogram.observe(value)
        }
        #expect(histogram.schema == -4)
        #expect(histogram.positiveBuckets == Self.buckets([-2: 1, 0: 1, 3: 1, 5: 1]))
    }

    // MARK: - Merge

    @Test func mergeReducesToTheLowerSchemaFirst() {
        var fine = Self.histogram(schema: 3)
        var coarse = Self.histogram(schema: 0)
        var expected = Self.histogram(schema: 0)
        for value in [1.25, 1.5, 3.0, -7.0, 0.0] {
            fine.observe(value)
            expected.observe(value)
        }
        for value in [1.75, 100.0, -0.125] {
            coarse.observe(value)
            expected.observe(value)
        }
        let merged = fine.merging(coarse)
        #expect(merged.schema == 0)
        #expect(merged == expected)
        #expect(coarse.merging(fine) == expected)
    }

    /// A merged histogram keeps counting correctly (its buckets changed under the observation
    /// shortcut).
    @Test func observingAfterAMergeMatchesObservingEverything() {
        var generator = SplitMix64(seed: 0x1DE_0007)
        let values = Distribution.logNormal.samples(900, using: &generator).map {
            Bool.random(using: &generator) ? $0 : -$0
        }
        var left = Self.histogram(schema: 4, maxBuckets: .max)
        var right = Self.histogram(schema: 2, maxBuckets: .max)
        var everything = Self.histogram(schema: 2, maxBuckets: .max)
        for (offset, value) in values.enumerated() {
            if offset < 300 {
                left.observe(value)
            } else if offset < 600 {
                right.observe(value)
            }
            everything.observe(value)
        }
        var merged = left.merging(right)
        for value in values[600...] {
            merged.observe(value)
        }
        #expect(merged.positiveBuckets == everything.positiveBuckets)
        #expect(merged.negativeBuckets == everything.negativeBuckets)
        #expect(merged.zeroCount == everything.zeroCount)
        #expect(merged.count == everything.count)
    }

    @Test func mergeWithAWiderZeroBucketAbsorbsBucketsBelowIt() {
        var narrow = Self.histogram(schema: 0, zeroThreshold: 0)
        for value in [0.0, 0.3, 0.6, 0.9, 3, -0.2] {
            narrow.observe(value)
        }
        var wide = Self.histogram(schema: 0, zeroThreshold: 0.5)
        wide.observe(0.1)
        wide.observe(5)
        // 0.5 is the upper bound of bucket -1 (0.25, 0.5]: 0.3 and -0.2 move to the zero bucket,
        // and bucket 0 (0.5, 1] starts at the threshold, so it stays.
        let merged = narrow.merging(wide)
        #expect(merged.zeroThreshold == 0.5)
        #expect(merged.zeroCount == 4)
        #expect(merged.positiveBuckets == Self.buckets([0: 2, 2: 1, 3: 1]))
        #expect(merged.negativeBuckets.isEmpty)
        #expect(merged.count == 8)

        // A threshold inside a populated bucket is raised to that bucket's upper bound.
        var straddling = Self.histogram(schema: 0, zeroThreshold: 0.7)
        straddling.observe(0.1)
        let raised = narrow.merging(straddling)
        #expect(raised.zeroThreshold == 1)
        #expect(raised.zeroCount == 6)
        #expect(raised.positiveBuckets == Self.buckets([2: 1]))
    }

    /// Shards merge to the same histogram in any grouping and order, across schemas, without
    /// losing a count; the sum differs at most by rounding.
    @Test(arguments: Distribution.allCases) func mergeIsAssociativeAndCommutative(distribution: Distribution) {
        var generator = SplitMix64(seed: 0x1DE_0004)
        for round in 0..<8 {
            let maxBuckets = round.isMultiple(of: 2) ? 160 : 12
            var shards: [NativeHistogram] = []
            for schema in [3, 5, 1].shuffled(using: &generator) {
                var shard = Self.histogram(schema: schema, maxBuckets: maxBuckets)
                for value in distribution.samples(Int.random(in: 0..<400, using: &generator), using: &generator) {
                    shard.observe(Bool.random(using: &generator) ? value : -value)
                }
                shards.append(shard)
            }
            let (a, b, c) = (shards[0], shards[1], shards[2])
            let leftFirst = a.merging(b).merging(c)
            let rightFirst = a.merging(b.merging(c))
            let reordered = c.merging(a).merging(b)
            for other in [rightFirst, reordered] {
                #expect(other.schema == leftFirst.schema)
                #expect(other.positiveBuckets == leftFirst.positiveBuckets)
                #expect(other.negativeBuckets == leftFirst.negativeBuckets)
                #expect(other.zeroCount == leftFirst.zeroCount)
                #expect(other.count == leftFirst.count)
                #expect(abs(other.sum - leftFirst.sum) <= 1e-9 * max(1, abs(leftFirst.sum)))
            }
            let ab = a.merging(b)
            let ba = b.merging(a)
            #expect(ab == ba)
            #expect(leftFirst.count == a.count + b.count + c.count)
            #expect(abs(leftFirst.sum - (a.sum + b.sum + c.sum)) <= 1e-9 * max(1, abs(leftFirst.sum)))
            let bucketed = (leftFirst.positiveBuckets + leftFirst.negativeBuckets).reduce(leftFirst.zeroCount) {
                $0 + $1.count
            }
            #expect(bucketed == leftFirst.count)
            #expect(leftFirst.populatedBucketCount <= maxBuckets || leftFirst.schema == -4)
        }
    }

    // MARK: - Spans and deltas

    /// The specification's example, positive buckets -2:3, -1:5, 2:1, 4:3, 5:2, in its three
    /// representations.
    @Test func encodingGoldenCases() {
        let buckets = Self.buckets([-2: 3, -1: 5, 2: 1, 4: 3, 5: 2])
        let exact = EncodedBuckets(encoding: buckets, maximumBridgedGap: 0)
        #expect(
            exact.spans == [
                BucketSpan(offset: -2, length: 2), BucketSpan(offset: 2, length: 1), .init(offset: 1, length: 2),
            ])
        #expect(exact.deltas == [3, 2, -4, 2, -1])

        let bridgeOne = EncodedBuckets(encoding: buckets, maximumBridgedGap: 1)
        #expect(bridgeOne.spans == [BucketSpan(offset: -2, length: 2), BucketSpan(offset: 2, length: 4)])
        #expect(bridgeOne.deltas == [3, 2, -4, -1, 3, -1])

        let bridgeTwo = EncodedBuckets(encoding: buckets)
        #expect(bridgeTwo.spans == [BucketSpan(offset: -2, length: 8)])
        #expect(bridgeTwo.deltas == [3, 2, -5, 0, 1, -1, 3, -1])

        let separate = EncodedBuckets(encoding: Self.buckets([10: 7, 14: 7]))
        #expect(separate.spans == [BucketSpan(offset: 10, length: 1), BucketSpan(offset: 3, length: 1)])
        #expect(separate.deltas == [7, 0])

        #expect(EncodedBuckets(encoding: []) == EncodedBuckets(spans: [], deltas: []))
    }

    @Test func encodedHistogramCarriesBothSides() {
        var histogram = Self.histogram(schema: 0, zeroThreshold: 0)
        for value in [1.0, 2, 2, 32, -1, -1, -3, 0] {
            histogram.observe(value)
        }
        let encoded = histogram.encoded()
        #expect(encoded.schema == 0)
        #expect(encoded.count == 8)
        #expect(encoded.sum == 32)
        #expect(encoded.zeroThreshold == 0)
        #expect(encoded.zeroCount == 1)
        #expect(encoded.positive.spans == [BucketSpan(offset: 0, length: 2), BucketSpan(offset: 3, length: 1)])
        #expect(encoded.positive.deltas == [1, 1, -1])
        #expect(encoded.negative.spans == [BucketSpan(offset: 0, length: 3)])
        #expect(encoded.negative.deltas == [2, -2, 1])
    }

    @Test func emptyHistogramWithZeroThresholdZeroGetsTheNoOpSpan() {
        #expect(Self.histogram(zeroThreshold: 0).encoded().positive.spans == [.noOp])
        #expect(Self.histogram(zeroThreshold: 0).encoded().positive.deltas.isEmpty)
        // Only NaN observed: still no bucket and no zero count.
        var onlyNaN = Self.histogram(zeroThreshold: 0)
        onlyNaN.observe(.nan)
        #expect(onlyNaN.encoded().positive.spans == [.noOp])
        // The non-zero threshold (or zero count, or any bucket) already marks it as native.
        #expect(Self.histogram().encoded().positive.spans.isEmpty)
        var zeros = Self.histogram(zeroThreshold: 0)
        zeros.observe(0)
        #expect(zeros.encoded().positive.spans.isEmpty)
        var negative = Self.histogram(zeroThreshold: 0)
        negative.observe(-1)
        #expect(negative.encoded().positive.spans.isEmpty)
    }

    @Test func decodingRestoresTheBuckets() {
        var generator = SplitMix64(seed: 0x1DE_0005)
        for _ in 0..<50 {
            var histogram = Self.histogram(schema: Int.random(in: -2...8, using: &generator), maxBuckets: 80)
            for _ in 0..<Int.random(in: 0..<300, using: &generator) {
                histogram.observe(Distribution.logNormal.sample(using: &generator))
            }
            let gap = Int.random(in: 0...4, using: &generator)
            let encoded = EncodedBuckets(encoding: histogram.positiveBuckets, maximumBridgedGap: gap)
            #expect(encoded.decoded().filter { $0.count > 0 } == histogram.positiveBuckets)
            #expect(encoded.deltas.count == encoded.spans.reduce(0) { $0 + Int($1.length) })
            #expect(encoded.spans.dropFirst().allSatisfy { $0.offset > gap })
        }
    }
}
