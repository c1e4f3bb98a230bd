import Histograms
import Testing

@Suite struct BucketLayoutTests {
    // MARK: - Presets

    @Test func envoyMillisecondsMatchesEnvoyDefaults() {
        #expect(
            BucketLayout.envoyMilliseconds.upperBounds == [
                0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300_000, 600_000,
                1_800_000, 3_600_000,
            ])
        #expect(BucketLayout.envoyMilliseconds.count == 19)
    }

    @Test func envoySecondsBoundsAreTheDecimalLiterals() {
        // Division by 1000 is correctly rounded, so these compare equal bit for bit.
        #expect(
            BucketLayout.envoySeconds.upperBounds == [
                0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600, 1800, 3600,
            ])
    }

    // MARK: - Validation

    @Test func acceptsStrictlyIncreasingFiniteBounds() throws {
        let layout = try BucketLayout(upperBounds: [-1, 0, 0.5, 2])
        #expect(layout.upperBounds == [-1, 0, 0.5, 2])
        #expect(layout.count == 4)
    }

    @Test func dropsATrailingInfinity() throws {
        let layout = try BucketLayout(upperBounds: [1, 2, .infinity])
        #expect(layout.upperBounds == [1, 2])
    }

    @Test func rejectsAnEmptyList() {
        #expect(throws: BucketLayoutError.empty) { try BucketLayout(upperBounds: []) }
        #expect(throws: BucketLayoutError.empty) { try BucketLayout(upperBounds: [.infinity]) }
    }

    @Test func rejectsNonFiniteBoundsNamingTheIndex() {
        #expect(throws: BucketLayoutError.nonFiniteBound(index: 1, value: -.infinity)) {
            try BucketLayout(upperBounds: [1, -.infinity, 3])
        }
        #expect(throws: BucketLayoutError.nonFiniteBound(index: 0, value: .infinity)) {
            try BucketLayout(upperBounds: [.infinity, .infinity])
        }
        // NaN is not equal to itself, so match the case rather than the value.
        #expect {
            try BucketLayout(upperBounds: [1, 2, .nan])
        } throws: { error in
            guard case .nonFiniteBound(index: 2, let value) = error as? BucketLayoutError else {
                return false
            }
            return value.isNaN
        }
    }

    @Test func rejectsBoundsThatDoNotIncrease() {
        #expect(throws: BucketLayoutError.notIncreasing(index: 2, previous: 5, value: 5)) {
            try BucketLayout(upperBounds: [1, 5, 5, 10])
        }
        #expect(throws: BucketLayoutError.notIncreasing(index: 1, previous: 10, value: 1)) {
            try BucketLayout(upperBounds: [10, 1])
        }
        // -0.0 == 0.0, so they are the same bound twice.
        #expect(throws: BucketLayoutError.notIncreasing(index: 1, previous: 0, value: 0)) {
            try BucketLayout(upperBounds: [-0.0, 0.0])
        }
    }

    @Test func errorDescriptionsNameThePositionAndValue() {
        let description = BucketLayoutError.notIncreasing(index: 3, previous: 25, value: 10).description
        #expect(description.contains("#3"))
        #expect(description.contains("10.0"))
        #expect(description.contains("25.0"))
        #expect(BucketLayoutError.nonFiniteBound(index: 7, value: .nan).description.contains("#7"))
    }

    @Test func storesNegativeZeroAsZero() throws {
        let layout = try BucketLayout(upperBounds: [-0.0, 1])
        #expect(layout.upperBounds[0].sign == .plus)
    }

    // MARK: - Inserting a boundary

    @Test func insertingAnExistingBoundaryChangesNothing() throws {
        #expect(try BucketLayout.envoyMilliseconds.inserting(boundary: 1000) == .envoyMilliseconds)
        #expect(try BucketLayout.envoySeconds.inserting(boundary: 1.0) == .envoySeconds)
    }

    @Test func insertingANewBoundaryKeepsTheOrder() throws {
        let layout = try BucketLayout.envoyMilliseconds.inserting(boundary: 750)
        #expect(layout.count == 20)
        #expect(Array(layout.upperBounds[7...10]) == [250, 500, 750, 1000])
        #expect(try layout.inserting(boundary: 0.1).upperBounds.first == 0.1)
        #expect(try layout.inserting(boundary: 7_200_000).upperBounds.last == 7_200_000)
        #expect(layout.bucketIndex(for: 750.0) == 9)
        #expect(layout.bucketIndex(for: 750.5) == 10)
    }

    @Test func insertingANonFiniteBoundaryThrows() {
        #expect(throws: BucketLayoutError.nonFiniteBound(index: 19, value: .infinity)) {
            try BucketLayout.envoyMilliseconds.inserting(boundary: .infinity)
        }
        #expect(throws: BucketLayoutError.self) { try BucketLayout.envoySeconds.inserting(boundary: .nan) }
    }

    /// A slow-request threshold of `t` ms inserted into the seconds layout as `t / 1000` splits
    /// integer-millisecond requests exactly where `duration > threshold` does.
    @Test(arguments: [1000, 300, 1234, 1]) func slowThresholdIsAnExactBoundary(thresholdMilliseconds: Int) throws {
        let threshold = Double(thresholdMilliseconds) / 1000
        let layout = try BucketLayout.envoySeconds.inserting(boundary: threshold)
        let thresholdBucket = layout.bucketIndex(for: threshold)
        #expect(layout.upperBounds[thresholdBucket] == threshold)
        for milliseconds in 0...5000 {
            let slow = layout.bucketIndex(for: Double(milliseconds) / 1000) > thresholdBucket
            #expect(slow == (milliseconds > thresholdMilliseconds))
        }
    }

    // MARK: - Bucket index

    @Test func boundsAreInclusive() {
        let layout = BucketLayout.envoyMilliseconds
        for (index, bound) in layout.upperBounds.enumerated() {
            #expect(layout.bucketIndex(for: bound) == index)
            #expect(layout.bucketIndex(for: bound.nextDown) == index)
            #expect(layout.bucketIndex(for: bound.nextUp) == index + 1)
        }
    }

    @Test func valuesOutsideTheBoundsAndSpecialValues() {
        let layout = BucketLayout.envoyMilliseconds
        #expect(layout.bucketIndex(for: 0.0) == 0)
        #expect(layout.bucketIndex(for: -5.0) == 0)
        #expect(layout.bucketIndex(for: -Double.infinity) == 0)
        #expect(layout.bucketIndex(for: 3_600_000.5) == 19)
        #expect(layout.bucketIndex(for: Double.infinity) == 19)
        #expect(layout.bucketIndex(for: Double.nan) == 19)
        #expect(layout.bucketIndex(for: Double.greatestFiniteMagnitude) == 19)
    }

    @Test func searchAgreesWithLinearSearchForEveryLayoutSize() throws {
        var generator = SplitMix64(seed: 0x5EED_0001)
        // Up to 128 bounds the layout scans, past that it bisects: cover both.
        for size in Array(1...40) + [127, 128, 129, 200, 300] {
            var bounds: [Double] = []
            var bound = Double.random(in: -100..<100, using: &generator)
            for _ in 0..<size {
                bounds.append(bound)
                bound += Double.random(in: 0.5..<50, using: &generator)
            }
            let layout = try BucketLayout(upperBounds: bounds)
            for bound in bounds {
                for value in [bound.nextDown, bound, bound.nextUp] {
                    #expect(layout.bucketIndex(for: value) == referenceBucketIndex(value, in: bounds))
                }
            }
            for _ in 0..<200 {
                let value = Double.random(in: -200..<bound + 100, using: &generator)
                #expect(layout.bucketIndex(for: value) == referenceBucketIndex(value, in: bounds))
            }
        }
    }

    @Test func integerPathAgreesWithDoublePath() throws {
        var generator = SplitMix64(seed: 0x5EED_0002)
        let manyBounds = try BucketLayout(upperBounds: (1...300).map { Double($0) * 7.5 })
        let layouts = [
            BucketLayout.envoyMilliseconds, .envoySeconds, manyBounds,
            try BucketLayout(upperBounds: [-3, 0.5, 2, 2.5, 10.25]),
            try BucketLayout(upperBounds: [-10, -2]),
        ]
        for layout in layouts {
            for value in -20...5000 {
                #expect(layout.bucketIndex(for: value) == layout.bucketIndex(for: Double(value)))
            }
            for _ in 0..<500 {
                let value = Int.random(in: Int.min...Int.max, using: &generator)
                #expect(layout.bucketIndex(for: value) == layout.bucketIndex(for: Double(value)))
            }
        }
    }

    @Test func bucketMappingSendsEachOldBucketToTheOneHoldingItsBound() throws {
        let layout = try BucketLayout(upperBounds: [1, 2, 5, 10])
        #expect(layout.bucketMapping(from: [1, 2, 5, 10]) == [0, 1, 2, 3, 4], "same bounds: the identity")
        #expect(layout.bucketMapping(from: [1, 5]) == [0, 2, 4], "bounds added")
        #expect(layout.bucketMapping(from: [1, 3, 10, 20]) == [0, 2, 3, 4, 4], "bounds moved and removed")
        #expect(layout.bucketMapping(from: []) == [4])
    }
}
