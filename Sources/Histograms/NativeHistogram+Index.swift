// MARK: - Bucket index math

extension NativeHistogram {
    /// The index of the bucket that counts a value of magnitude `magnitude` at `schema`.
    ///
    /// Bucket `i` covers `(base^(i-1), base^i]`, `base = 2^(2^-schema)`, so the index is
    /// `ceil(log_base(magnitude))`, and an exact power of the base lands in the lower bucket
    /// (`1` is in bucket 0, `2` is in bucket `2^schema`). The result is exact for every
    /// `Double`, subnormals included: the value is split into `significand * 2^exponent`, which
    /// is exact, and the significand is compared with boundaries rounded down to `Double` (see
    /// the module documentation for how this relates to Prometheus' Go client).
    ///
    /// Following the native histogram specification, the largest finite `Double` is in the
    /// bucket with index `1024 * 2^schema` and `+Inf` in the overflow bucket right after it:
    /// 262144 and 262145 at schema 8.
    ///
    /// - Parameters:
    ///   - magnitude: A value `> 0`; the sign of an observation picks the positive or negative
    ///     bucket list, not the index.
    ///   - schema: In `-4 ... 8`.
    public static func bucketIndex(for magnitude: Double, schema: Int) -> Int {
        precondition(magnitude > 0, "a native bucket index needs a magnitude above zero")
        precondition(NativeHistogramSettings.schemaRange.contains(schema), "schema outside -4...8")
        return uncheckedBucketIndex(for: magnitude, schema: schema)
    }

    /// ``bucketIndex(for:schema:)`` without the argument checks, for callers that guarantee
    /// `magnitude > 0` (not NaN) and a valid schema.
    static func uncheckedBucketIndex(for magnitude: Double, schema: Int) -> Int {
        let biasedExponent = Int(truncatingIfNeeded: magnitude.exponentBitPattern)
        guard biasedExponent != 0, biasedExponent != 0x7FF else {
            return unusualBucketIndex(for: magnitude, schema: schema)
        }
        // A normal number is exactly (1 + fraction / 2^52) * 2^exponent.
        let exponent = biasedExponent - 1023
        let fraction = magnitude.significandBitPattern
        if schema > 0 {
            // Each power of two holds 2^schema buckets; the first starts just above 2^exponent.
            let significand = Double(sign: .plus, exponentBitPattern: 1023, significandBitPattern: fraction)
            return (exponent << schema) + ExponentialBounds.rank(of: significand, schema: schema)
        }
        return Self.reduce(indexAtSchemaZero: fraction == 0 ? exponent : exponent + 1, toSchema: schema)
    }

    /// Subnormal magnitudes and infinity, which the bit-level path does not handle.
    @inline(never)
    private static func unusualBucketIndex(for magnitude: Double, schema: Int) -> Int {
        if magnitude == .infinity {
            return maximumFiniteBucketIndex(schema: schema) + 1
        }
        // `exponent` and `significand` normalize subnormals: magnitude == significand * 2^exponent.
        let exponent = magnitude.exponent
        let significand = magnitude.significand
        if schema > 0 {
            return (exponent << schema) + ExponentialBounds.rank(of: significand, schema: schema)
        }
        return Self.reduce(indexAtSchemaZero: significand == 1 ? exponent : exponent + 1, toSchema: schema)
    }

    /// At schema 0 the index is ceil(log2(magnitude)): the exponent, plus one unless the
    /// magnitude is an exact power of two. Schema `-k` merges 2^k of those buckets:
    /// ceil(i / 2^k), computed as floor((i - 1) / 2^k) + 1 with an arithmetic shift.
    private static func reduce(indexAtSchemaZero index: Int, toSchema schema: Int) -> Int {
        ((index - 1) >> -schema) + 1
    }

    /// The inclusive upper bound of the positive bucket `index` at `schema`: `base^index`
    /// rounded down to a `Double`, which is exactly the largest `Double` that
    /// ``bucketIndex(for:schema:)`` puts in that bucket.
    ///
    /// The bucket that holds the largest finite `Double` ends there (rather than at `base^index`,
    /// which overflows), and the overflow bucket after it ends at `+Inf`. Below the smallest
    /// subnormal the bound is 0. For a negative bucket, the bound is the negated value and is the
    /// inclusive *lower* end.
    public static func upperBound(ofBucket index: Int, schema: Int) -> Double {
        precondition(NativeHistogramSettings.schemaRange.contains(schema), "schema outside -4...8")
        let maximumIndex = maximumFiniteBucketIndex(schema: schema)
        if index > maximumIndex {
            return .infinity
        }
        if index == maximumIndex {
            return .greatestFiniteMagnitude
        }
        let bound: Double
        if schema > 0 {
            // index = exponent * 2^schema + k, k in 0 ..< 2^schema (arithmetic shift and mask
            // give the floor division and its remainder for negative indexes too).
            let k = index & ((1 << schema) - 1)
            let significand = ExponentialBounds.significands[k << (8 - schema)]
            bound = Double(sign: .plus, exponent: index >> schema, significand: significand)
        } else {
            bound = Double(sign: .plus, exponent: index << -schema, significand: 1)
        }
        // A subnormal result has fewer significand bits and may have been rounded up past the
        // boundary; by at most one step, because the table value is already below it.
        if bound > 0, bound < .leastNormalMagnitude, bucketIndex(for: bound, schema: schema) > index {
            return bound.nextDown
        }
        return bound
    }

    /// The index of the bucket holding the largest finite `Double` (2^1024 rounded down), whose
    /// index at schema 0 is 1024.
    static func maximumFiniteBucketIndex(schema: Int) -> Int {
        schema >= 0 ? 1024 << schema : 1024 >> -schema
    }

    /// The index bucket `index` merges into when the resolution drops by `steps` schemas:
    /// `ceil(index / 2^steps)`, because bucket `j` at the lower schema is the union of buckets
    /// `2^steps * (j - 1) + 1 ... 2^steps * j` at the higher one.
    static func reducedIndex(_ index: Int32, by steps: Int) -> Int32 {
        // floor((i - 1) / 2^k) + 1 == ceil(i / 2^k); `>>` on a signed integer rounds down.
        // Cannot overflow: indexes are within ±(1074 * 256 + 1).
        ((index - 1) >> steps) + 1
    }
}
