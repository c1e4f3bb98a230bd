/// Why a list of bucket bounds cannot be a ``BucketLayout``.
///
/// Configuration errors are reported once, at start; the description names the offending
/// position and value so that the configuration loader can point at the field.
public enum BucketLayoutError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The list has no finite bound. (A lone trailing `+Inf` does not count: it is implicit.)
    case empty
    /// The bound at `index` is NaN or infinite. Only the last bound may be `+Inf`, and it is
    /// dropped because every layout has an implicit `+Inf` bucket.
    ///
    /// For ``BucketLayout/inserting(boundary:)``, `index` is where the bound would have gone.
    case nonFiniteBound(index: Int, value: Double)
    /// The bound at `index` is not greater than the bound before it.
    case notIncreasing(index: Int, previous: Double, value: Double)

    public var description: String {
        switch self {
        case .empty:
            return "a histogram needs at least one finite bucket bound"
        case .nonFiniteBound(let index, let value):
            return "bucket bound #\(index) is \(value); bounds must be finite (+Inf is implicit)"
        case .notIncreasing(let index, let previous, let value):
            return "bucket bound #\(index) is \(value), not greater than the bound before it (\(previous));"
                + " bounds must increase strictly"
        }
    }
}

/// Two histograms with different bucket layouts cannot be merged: their buckets do not line up.
public struct LayoutMismatchError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The layout of the histogram being merged into.
    public let expected: BucketLayout
    /// The layout of the histogram that was offered.
    public let found: BucketLayout

    public init(expected: BucketLayout, found: BucketLayout) {
        self.expected = expected
        self.found = found
    }

    public var description: String {
        "cannot merge histograms with different bucket layouts: \(found.upperBounds) into \(expected.upperBounds)"
    }
}
