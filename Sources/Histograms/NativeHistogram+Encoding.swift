/// A run of consecutive buckets in the protobuf encoding of a native histogram
/// (`io.prometheus.client.BucketSpan`).
public struct BucketSpan: Sendable, Hashable {
    /// For the first span, the index of its first bucket; for later spans, the number of
    /// buckets skipped since the end of the previous span.
    public var offset: Int32
    /// The number of consecutive buckets in the span.
    public var length: UInt32

    public init(offset: Int32, length: UInt32) {
        self.offset = offset
        self.length = length
    }

    /// `{offset: 0, length: 0}`: marks a histogram message as native when nothing else does.
    public static let noOp = BucketSpan(offset: 0, length: 0)
}

/// One side (positive or negative) of a native histogram as the protobuf `Histogram` message
/// carries it: spans, and integer bucket counts as deltas.
public struct EncodedBuckets: Sendable, Hashable {
    /// The `positive_span` or `negative_span` field.
    public var spans: [BucketSpan]
    /// The `positive_delta` or `negative_delta` field: the first bucket's count, then each
    /// bucket's count minus the previous one's. One entry per bucket covered by ``spans``.
    public var deltas: [Int64]

    public init(spans: [BucketSpan], deltas: [Int64]) {
        self.spans = spans
        self.deltas = deltas
    }

    /// How many empty buckets the encoder writes as zero counts, rather than starting a new
    /// span: 2, as Prometheus' Go client does.
    ///
    /// A new span is an embedded message with an offset and a length (at least 6 bytes on the
    /// wire); an empty bucket is one packed delta, usually 1 byte, so bridging a gap of one or
    /// two buckets is smaller unless the counts around it are very large.
    public static let defaultMaximumBridgedGap = 2

    /// Encodes populated buckets, sorted by index.
    ///
    /// - Parameters:
    ///   - buckets: Buckets with strictly increasing indexes.
    ///   - maximumBridgedGap: Gaps of at most this many empty buckets are written as zero counts
    ///     inside a span; 0 writes only the given buckets.
    public init(encoding buckets: [NativeBucket], maximumBridgedGap: Int = defaultMaximumBridgedGap) {
        let maximumBridgedGap = max(0, maximumBridgedGap)
        var spans: [BucketSpan] = []
        var deltas: [Int64] = []
        deltas.reserveCapacity(buckets.count)
        var previousCount: UInt64 = 0
        var nextIndex = 0  // The index right after the last bucket written.
        for bucket in buckets {
            let index = Int(bucket.index)
            let gap = index - nextIndex
            if spans.isEmpty || gap > maximumBridgedGap {
                // Gaps fit in Int32: indexes do (see `NativeHistogram.storedIndex`).
                spans.append(BucketSpan(offset: Int32(truncatingIfNeeded: spans.isEmpty ? index : gap), length: 0))
            } else if gap > 0 {
                // The first empty bucket steps down to 0; the ones after it repeat 0.
                deltas.append(Int64(bitPattern: 0 &- previousCount))
                deltas.append(contentsOf: repeatElement(0, count: gap - 1))
                previousCount = 0
                spans[spans.count - 1].length += UInt32(gap)
            }
            // Correct as long as counts stay below 2^63, which observation counts do; the
            // wrapping subtraction then gives the signed difference.
            deltas.append(Int64(bitPattern: bucket.count &- previousCount))
            previousCount = bucket.count
            spans[spans.count - 1].length += 1
            nextIndex = index + 1
        }
        self.init(spans: spans, deltas: deltas)
    }

    /// The buckets these spans and deltas describe, including any zero-count buckets that
    /// bridge gaps.
    public func decoded() -> [NativeBucket] {
        var buckets: [NativeBucket] = []
        buckets.reserveCapacity(deltas.count)
        var position = 0
        var index = 0
        var runningCount: Int64 = 0
        for (number, span) in spans.enumerated() {
            index = number == 0 ? Int(span.offset) : index + Int(span.offset)
            for _ in 0..<span.length where position < deltas.count {
                runningCount &+= deltas[position]
                buckets.append(
                    NativeBucket(index: Int32(truncatingIfNeeded: index), count: UInt64(bitPattern: runningCount)))
                position += 1
                index += 1
            }
        }
        return buckets
    }
}

/// A native histogram in the shape of the protobuf `Histogram` message's native fields, ready
/// for a writer to serialize field by field.
public struct EncodedNativeHistogram: Sendable, Hashable {
    /// `sample_count`.
    public var count: UInt64
    /// `sample_sum`.
    public var sum: Double
    /// `schema`.
    public var schema: Int32
    /// `zero_threshold`.
    public var zeroThreshold: Double
    /// `zero_count`.
    public var zeroCount: UInt64
    /// `positive_span` and `positive_delta`. Holds the no-op span ``BucketSpan/noOp`` when the
    /// message would otherwise carry nothing that marks it as native (see
    /// ``NativeHistogram/encoded(maximumBridgedGap:)``).
    public var positive: EncodedBuckets
    /// `negative_span` and `negative_delta`.
    public var negative: EncodedBuckets

    public init(
        count: UInt64, sum: Double, schema: Int32, zeroThreshold: Double, zeroCount: UInt64,
        positive: EncodedBuckets, negative: EncodedBuckets
    ) {
        self.count = count
        self.sum = sum
        self.schema = schema
        self.zeroThreshold = zeroThreshold
        self.zeroCount = zeroCount
        self.positive = positive
        self.negative = negative
    }
}

// MARK: - Encoding

extension NativeHistogram {
    /// The histogram as the protobuf exposition carries it.
    ///
    /// This is the side of the API that adds the no-op span: when the histogram has no
    /// populated bucket, an empty zero bucket and a zero threshold of 0, a scraper could not
    /// tell the message from a classic histogram without buckets, so ``BucketSpan/noOp`` is put
    /// in the positive spans, as the exposition format requires. (With the default threshold of
    /// 2^-128 the non-zero `zero_threshold` field already marks the message as native.)
    ///
    /// - Parameter maximumBridgedGap: See ``EncodedBuckets/defaultMaximumBridgedGap``.
    public func encoded(
        maximumBridgedGap: Int = EncodedBuckets.defaultMaximumBridgedGap
    ) -> EncodedNativeHistogram {
        var positive = EncodedBuckets(encoding: positiveBuckets, maximumBridgedGap: maximumBridgedGap)
        let negative = EncodedBuckets(encoding: negativeBuckets, maximumBridgedGap: maximumBridgedGap)
        if positive.spans.isEmpty, negative.spans.isEmpty, zeroThreshold == 0, zeroCount == 0 {
            positive.spans = [.noOp]
        }
        return EncodedNativeHistogram(
            count: count, sum: sum, schema: Int32(schema), zeroThreshold: zeroThreshold, zeroCount: zeroCount,
            positive: positive, negative: negative)
    }
}
