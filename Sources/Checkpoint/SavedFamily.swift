import Exposition
import Histograms

/// One metric family as a checkpoint stores it: the values of a ``MetricFamilySnapshot`` in a
/// form `Codable` can write exactly (integers stay integers, bucket bounds are kept as written).
///
/// Checkpoints are read through this type, but written by ``CheckpointWriter`` straight from
/// the snapshot, key by key: a field added here must be written there too
/// (`CheckpointWriterTests` compares the two).
public struct SavedFamily: Codable, Sendable, Equatable {
    public var name: String
    public var type: String
    public var unit: String?
    public var labelNames: [String]
    /// Per series, its label names, only for families whose series do not all have the same
    /// (`logmetrics_lines_total` has `reason` for some results only).
    public var seriesLabelNames: [[String]]?
    /// Per series, its label values in the order of its names.
    public var labelValues: [[String]]
    /// Counters and gauges: one value per series.
    public var values: [UInt64]?
    public var histogram: SavedHistograms?
    /// Per series, when it was created (seconds since the epoch).
    public var created: [Double]?

    public struct SavedHistograms: Codable, Sendable, Equatable {
        public var bounds: [Double]
        /// Per series, `bounds.count + 1` non-cumulative counts.
        public var bucketCounts: [UInt64]
        public var scaledSums: [Int64]
        public var sumExponent: Int
        /// Per series, its native histogram, if the family keeps them.
        public var native: [SavedNative?]?
    }

    public struct SavedNative: Codable, Sendable, Equatable {
        public var schema: Int32
        public var zeroThreshold: Double
        public var zeroCount: UInt64
        public var count: UInt64
        public var sum: Double
        public var positiveSpans: [[Int64]]
        public var positiveDeltas: [Int64]
        public var negativeSpans: [[Int64]]
        public var negativeDeltas: [Int64]
    }

    /// Nil for families with nothing to carry over (gauges, summaries of the moment).
    public init?(_ family: MetricFamilySnapshot) {
        guard CheckpointWriter.isSaved(family) else { return nil }
        name = family.name
        type = family.type.rawValue
        unit = family.unit
        let labels = family.labels
        if let names = labels.uniformNames {
            labelNames = names
        } else {
            labelNames = labels.names(0)
            seriesLabelNames = labels.indices.map { labels.names($0) }
        }
        labelValues = labels.indices.map { labels.values($0) }
        created = family.created
        switch family.values {
        case .integers(let values):
            self.values = values
        case .histograms(let columns):
            histogram = SavedHistograms(
                bounds: columns.bounds.values, bucketCounts: columns.bucketCounts, scaledSums: columns.scaledSums,
                sumExponent: columns.sumExponent,
                native: columns.native?.map { $0.map(SavedNative.init) })
        default:
            return nil
        }
    }

    /// The family as a snapshot again, for ``Aggregation/Pipeline/restore(_:)``; nil when the
    /// saved data does not hang together (a truncated or hand-edited file).
    public func snapshot() -> MetricFamilySnapshot? {
        guard let type = MetricType(rawValue: type) else { return nil }
        let series = labelValues.count
        let names = seriesLabelNames ?? Array(repeating: labelNames, count: series)
        guard names.count == series, zip(names, labelValues).allSatisfy({ $0.count == $1.count }) else { return nil }
        if let created, created.count != series { return nil }
        let labels = zip(names, labelValues).map { LabelSet(names: $0, values: $1) }
        let values: FamilyValues
        if let counts = self.values {
            guard counts.count == series else { return nil }
            values = .integers(counts)
        } else if let histogram {
            let width = histogram.bounds.count + 1
            guard histogram.bucketCounts.count == series * width, histogram.scaledSums.count == series,
                histogram.native.map({ $0.count == series }) ?? true,
                zip(histogram.bounds, histogram.bounds.dropFirst()).allSatisfy({ $0 < $1 })
            else { return nil }
            values = .histograms(
                HistogramColumns(
                    bounds: BucketBounds(histogram.bounds), bucketCounts: histogram.bucketCounts,
                    scaledSums: histogram.scaledSums, sumExponent: histogram.sumExponent,
                    native: histogram.native?.map { $0.flatMap(\.snapshot) }))
        } else {
            return nil
        }
        return MetricFamilySnapshot(
            name: name, help: "", type: type, unit: unit, labels: SeriesLabels(labels), values: values,
            created: created)
    }
}

extension SavedFamily.SavedNative {
    init(_ native: NativeHistogramSnapshot) {
        let encoded = native.encoded
        schema = encoded.schema
        zeroThreshold = encoded.zeroThreshold
        zeroCount = encoded.zeroCount
        count = encoded.count
        sum = encoded.sum
        positiveSpans = encoded.positive.spans.map { [Int64($0.offset), Int64($0.length)] }
        positiveDeltas = encoded.positive.deltas
        negativeSpans = encoded.negative.spans.map { [Int64($0.offset), Int64($0.length)] }
        negativeDeltas = encoded.negative.deltas
    }

    /// Nil unless the spans are well formed and cover exactly the deltas.
    var snapshot: NativeHistogramSnapshot? {
        func spans(_ pairs: [[Int64]]) -> [BucketSpan]? {
            var result: [BucketSpan] = []
            for pair in pairs {
                guard pair.count == 2, let offset = Int32(exactly: pair[0]), let length = UInt32(exactly: pair[1])
                else { return nil }
                result.append(BucketSpan(offset: offset, length: length))
            }
            return result
        }
        guard let positive = spans(positiveSpans), let negative = spans(negativeSpans),
            positive.reduce(0, { $0 + Int($1.length) }) == positiveDeltas.count,
            negative.reduce(0, { $0 + Int($1.length) }) == negativeDeltas.count
        else { return nil }
        return NativeHistogramSnapshot(
            EncodedNativeHistogram(
                count: count, sum: sum, schema: schema, zeroThreshold: zeroThreshold, zeroCount: zeroCount,
                positive: EncodedBuckets(spans: positive, deltas: positiveDeltas),
                negative: EncodedBuckets(spans: negative, deltas: negativeDeltas)))
    }
}
