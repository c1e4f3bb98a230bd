/// The validated parameters a ``NativeHistogram`` starts from.
///
/// Settings are checked once, when the configuration is loaded; creating a histogram for a new
/// series from them cannot fail.
public struct NativeHistogramSettings: Sendable, Hashable {
    /// The standard exponential schemas Prometheus accepts.
    public static let schemaRange: ClosedRange<Int> = -4...8

    /// Schema 3: each bucket is 2^(1/8) ≈ 1.0905 times as wide as the one before it, the
    /// resolution Prometheus' client libraries pick for their default bucket factor of 1.1.
    public static let defaultSchema = 3

    /// 2^-128, the Prometheus client default. It is a bucket boundary at every schema, and
    /// small enough that only zeros (and values that are zero but for rounding) land in the
    /// zero bucket.
    public static let defaultZeroThreshold: Double = 0x1p-128

    /// 160 populated buckets, the limit Prometheus documents as typical (and OpenTelemetry's
    /// default for exponential histograms).
    public static let defaultMaxBuckets = 160

    /// The schema, and so the resolution, a new histogram starts with.
    public let schema: Int
    /// Observations `v` with `|v| <= zeroThreshold` are counted in the zero bucket.
    public let zeroThreshold: Double
    /// The most populated buckets (positive and negative together) a histogram keeps before it
    /// halves its resolution.
    public let maxBuckets: Int

    /// Schema 3, zero threshold 2^-128, at most 160 buckets.
    public static let `default` = NativeHistogramSettings(
        validatedSchema: defaultSchema, zeroThreshold: defaultZeroThreshold, maxBuckets: defaultMaxBuckets)

    /// Validates and creates settings.
    ///
    /// - Parameters:
    ///   - schema: In `-4 ... 8`; bucket `i` covers `(base^(i-1), base^i]` with
    ///     `base = 2^(2^-schema)`.
    ///   - zeroThreshold: Finite and `>= 0`. It should be a bucket boundary (a power of two is a
    ///     boundary at every schema); otherwise the zero bucket overlaps a regular bucket, which
    ///     is legal but makes quantiles near zero coarser.
    ///   - maxBuckets: At least 1.
    /// - Throws: ``NativeHistogramSettingsError`` naming the invalid parameter.
    public init(
        schema: Int = defaultSchema,
        zeroThreshold: Double = defaultZeroThreshold,
        maxBuckets: Int = defaultMaxBuckets
    ) throws(NativeHistogramSettingsError) {
        guard Self.schemaRange.contains(schema) else {
            throw .schemaOutOfRange(schema)
        }
        guard zeroThreshold.isFinite, zeroThreshold >= 0 else {
            throw .invalidZeroThreshold(zeroThreshold)
        }
        guard maxBuckets >= 1 else {
            throw .invalidMaxBuckets(maxBuckets)
        }
        self.init(validatedSchema: schema, zeroThreshold: zeroThreshold, maxBuckets: maxBuckets)
    }

    private init(validatedSchema schema: Int, zeroThreshold: Double, maxBuckets: Int) {
        self.schema = schema
        // +0.0 rather than -0.0, so the exposed zero_threshold is the plain zero.
        self.zeroThreshold = zeroThreshold == 0 ? 0 : zeroThreshold
        self.maxBuckets = maxBuckets
    }
}

/// Why parameters cannot be ``NativeHistogramSettings``.
public enum NativeHistogramSettingsError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The schema is outside `-4 ... 8`.
    case schemaOutOfRange(Int)
    /// The zero threshold is negative, NaN or infinite.
    case invalidZeroThreshold(Double)
    /// The bucket limit is below 1.
    case invalidMaxBuckets(Int)

    public var description: String {
        switch self {
        case .schemaOutOfRange(let schema):
            return "native histogram schema \(schema) is outside -4...8"
        case .invalidZeroThreshold(let threshold):
            return "native histogram zero threshold \(threshold) must be a finite number >= 0"
        case .invalidMaxBuckets(let maxBuckets):
            return "native histogram bucket limit \(maxBuckets) must be at least 1"
        }
    }
}
