import Histograms

/// What a scrape renders: a consistent copy of every metric family at one moment.
///
/// The model is columnar so that a snapshot of many series costs a few array copies, not an
/// object per series: a family holds its series' label sets in one array and their values in
/// flat arrays indexed by series.
public struct MetricSnapshot: Sendable {
    public var families: [MetricFamilySnapshot]
    /// Wall-clock time the snapshot was taken, in seconds since the Unix epoch.
    public var timestamp: Double

    public init(families: [MetricFamilySnapshot] = [], timestamp: Double = 0) {
        self.families = families
        self.timestamp = timestamp
    }
}

public enum MetricType: String, Sendable {
    case counter
    case gauge
    case histogram
    case unknown
}

/// One metric family and all its series.
public struct MetricFamilySnapshot: Sendable {
    /// The family name. Counters are named without `_total`: the writers add it to samples (and,
    /// in the text format, to the family name as Prometheus clients do).
    public var name: String
    public var help: String
    public var type: MetricType
    /// The unit, for OpenMetrics' `# UNIT` line; the name must end with it.
    public var unit: String?
    public var labels: SeriesLabels
    public var values: FamilyValues
    /// Per series: when it was created, seconds since the epoch (OpenMetrics `_created`, protobuf
    /// `created_timestamp`), or nil. A value that is not finite and positive means "unknown" and
    /// is not written. Gauges have no created time and ignore it.
    public var created: [Double]?
    /// Exemplars, written on counter samples and histogram buckets (OpenMetrics and protobuf).
    ///
    /// - Counters: one entry per series.
    /// - Histograms: either one entry per series, or one per series and bucket
    ///   (`seriesCount * bucketsPerSeries`, series by series, the last for `+Inf`). Either way an
    ///   exemplar is written on the bucket its value falls in; when two land on one bucket, the
    ///   one in that bucket's own slot wins, then the lowest slot.
    ///
    /// An exemplar whose labels exceed ``Exemplar/maximumLabelCodePoints`` is dropped.
    public var exemplars: ExemplarColumn?
    /// Set for a family whose values are read a piece at a time as it is written (see
    /// ``DeferredValues``); its own ``values`` then hold no series.
    public var deferred: DeferredValues?

    public init(
        name: String, help: String, type: MetricType, unit: String? = nil, labels: SeriesLabels = [],
        values: FamilyValues, created: [Double]? = nil, exemplars: ExemplarColumn? = nil
    ) {
        self.name = name
        self.help = help
        self.type = type
        self.unit = unit
        self.labels = labels
        self.values = values
        self.created = created
        self.exemplars = exemplars
    }

    /// A family whose series' label sets are listed one by one.
    public init(
        name: String, help: String, type: MetricType, unit: String? = nil, labels: [LabelSet], values: FamilyValues,
        created: [Double]? = nil, exemplars: ExemplarColumn? = nil
    ) {
        self.init(
            name: name, help: help, type: type, unit: unit, labels: SeriesLabels(labels), values: values,
            created: created, exemplars: exemplars)
    }

    public var seriesCount: Int { labels.count }
}

/// Values of a family read a piece at a time, each when it is written, so that a scrape holds one
/// piece's counts rather than the family's: the duration histograms of 10 000 routes are 1.6 MB
/// of counts, and 6.4 MB with the four histograms by route of the default families. A family
/// with them keeps its name, metadata, label sets and created times; its ``MetricFamilySnapshot/values``
/// is empty, of the kind the pieces have.
public struct DeferredValues: Sendable {
    public var seriesCount: Int
    public var pieces: any FamilyPieces

    public init(seriesCount: Int, pieces: any FamilyPieces) {
        self.seriesCount = seriesCount
        self.pieces = pieces
    }
}

extension MetricFamilySnapshot {
    /// Calls `body` with the family's series in pieces of at most `size`: with the family itself
    /// when its values are in it, else with its deferred pieces, read one after another, so that
    /// a reader of a large family holds one piece at a time.
    public func forEachPiece(of size: Int, _ body: (MetricFamilySnapshot) -> Void) {
        guard let deferred else { return body(self) }
        for start in stride(from: 0, to: deferred.seriesCount, by: max(1, size)) {
            body(deferred.pieces.piece(start..<min(start + size, deferred.seriesCount)))
        }
    }
}

/// Where a family's deferred values come from.
public protocol FamilyPieces: Sendable {
    /// Series `range` of the family (positions in its label sets) as a family of their own,
    /// numbered from 0, with everything a writer needs. A series that went away since the
    /// snapshot was taken (expired, its identifier given to another) is left out.
    func piece(_ range: Range<Int>) -> MetricFamilySnapshot
}

/// The values of a family's series, in the order of its label sets.
public enum FamilyValues: Sendable {
    /// Counter or gauge values that are whole numbers (the common case: exact and fast to write).
    case integers([UInt64])
    /// Counter or gauge values of any kind.
    case doubles([Double])
    /// Fixed-bucket histograms.
    case histograms(HistogramColumns)
}

/// Fixed-bucket histograms of every series of a family, bucket counts flattened series by series.
public struct HistogramColumns: Sendable {
    /// The finite upper bounds, strictly increasing; `+Inf` is implicit.
    public var bounds: BucketBounds
    /// Per series, `bounds.count + 1` non-cumulative bucket counts, the last for `+Inf`.
    public var bucketCounts: [UInt64]
    /// Per series, the sum of observations as an integer scaled by `10^sumExponent` (for example
    /// milliseconds with exponent -3 for a histogram in seconds): exact, and written without
    /// floating-point formatting.
    public var scaledSums: [Int64]
    public var sumExponent: Int
    /// Per series, a native histogram to send alongside in the protobuf format, if any.
    public var native: [NativeHistogramSnapshot?]?

    public init(
        bounds: BucketBounds, bucketCounts: [UInt64], scaledSums: [Int64], sumExponent: Int,
        native: [NativeHistogramSnapshot?]? = nil
    ) {
        self.bounds = bounds
        self.bucketCounts = bucketCounts
        self.scaledSums = scaledSums
        self.sumExponent = sumExponent
        self.native = native
    }

    public var bucketsPerSeries: Int { bounds.values.count + 1 }

    /// The sum of observations of series `index`, as the nearest `Double`.
    public func sum(_ index: Int) -> Double {
        NumberFormatting.double(scaled: scaledSums[index], exponent: sumExponent)
    }

    /// Total observations of series `index`.
    public func count(_ index: Int) -> UInt64 {
        let start = index * bucketsPerSeries
        var total: UInt64 = 0
        for k in start..<(start + bucketsPerSeries) { total &+= bucketCounts[k] }
        return total
    }
}

/// Histogram bucket bounds with their `le` label values rendered once, in both spellings.
public final class BucketBounds: Sendable {
    public let values: [Double]
    /// `le` values as Prometheus' text format writes them (`0.005`, `1`, `3.6e+06`).
    public let textLabels: [[UInt8]]
    /// `le` values in OpenMetrics' canonical form (`0.005`, `1.0`, `3.6e+06`).
    public let openMetricsLabels: [[UInt8]]

    /// - Precondition: `values` are finite and strictly increasing (checked when the bucket
    ///   layout is configured).
    public init(_ values: [Double]) {
        self.values = values
        self.textLabels = values.map { Array(NumberFormatting.goFloat($0).utf8) }
        self.openMetricsLabels = values.map { Array(NumberFormatting.openMetricsFloat($0).utf8) }
    }
}

/// A native histogram ready for the protobuf encoder.
///
/// It wraps the Histograms module's ``EncodedNativeHistogram``, which already has the spans and
/// deltas the wire format wants (including the no-op span of an empty histogram); build one with
/// ``init(_:)`` from `NativeHistogram.encoded()`. The tuple-based initializer and properties
/// remain for callers that assemble spans by hand.
public struct NativeHistogramSnapshot: Sendable, Hashable {
    /// The histogram in the shape of the protobuf `Histogram` message's native fields.
    public var encoded: EncodedNativeHistogram

    public init(_ encoded: EncodedNativeHistogram) {
        self.encoded = encoded
    }

    public init(
        schema: Int32, zeroThreshold: Double, zeroCount: UInt64, count: UInt64, sum: Double,
        positiveSpans: [(offset: Int32, length: UInt32)], positiveDeltas: [Int64],
        negativeSpans: [(offset: Int32, length: UInt32)] = [], negativeDeltas: [Int64] = []
    ) {
        self.encoded = EncodedNativeHistogram(
            count: count, sum: sum, schema: schema, zeroThreshold: zeroThreshold, zeroCount: zeroCount,
            positive: EncodedBuckets(spans: Self.spans(positiveSpans), deltas: positiveDeltas),
            negative: EncodedBuckets(spans: Self.spans(negativeSpans), deltas: negativeDeltas))
    }

    public var schema: Int32 {
        get { encoded.schema }
        set { encoded.schema = newValue }
    }

    public var zeroThreshold: Double {
        get { encoded.zeroThreshold }
        set { encoded.zeroThreshold = newValue }
    }

    public var zeroCount: UInt64 {
        get { encoded.zeroCount }
        set { encoded.zeroCount = newValue }
    }

    public var count: UInt64 {
        get { encoded.count }
        set { encoded.count = newValue }
    }

    public var sum: Double {
        get { encoded.sum }
        set { encoded.sum = newValue }
    }

    public var positiveSpans: [(offset: Int32, length: UInt32)] {
        get { encoded.positive.spans.map { ($0.offset, $0.length) } }
        set { encoded.positive.spans = Self.spans(newValue) }
    }

    public var positiveDeltas: [Int64] {
        get { encoded.positive.deltas }
        set { encoded.positive.deltas = newValue }
    }

    public var negativeSpans: [(offset: Int32, length: UInt32)] {
        get { encoded.negative.spans.map { ($0.offset, $0.length) } }
        set { encoded.negative.spans = Self.spans(newValue) }
    }

    public var negativeDeltas: [Int64] {
        get { encoded.negative.deltas }
        set { encoded.negative.deltas = newValue }
    }

    private static func spans(_ tuples: [(offset: Int32, length: UInt32)]) -> [BucketSpan] {
        tuples.map { BucketSpan(offset: $0.offset, length: $0.length) }
    }
}

/// An exemplar: a trace or request id attached to one observation.
///
/// Either a value of its own, or a view of one entry of an ``ExemplarColumn``, which is how a
/// snapshot's exemplars come: a scrape of 10 000 routes has some 20 000 of them, and an object
/// (and a `String`) for each was 3 MB of its memory. Either way it is two words wide.
public struct Exemplar: Sendable, Equatable {
    private final class Owned: Sendable {
        /// One label's name and value, when ``labels`` is nil: the usual exemplar, a trace id.
        let name: String
        let labelValue: String
        let labels: LabelSet?
        let value: Double
        let timestamp: Double?

        init(name: String, labelValue: String, labels: LabelSet?, value: Double, timestamp: Double?) {
            self.name = name
            self.labelValue = labelValue
            self.labels = labels
            self.value = value
            self.timestamp = timestamp
        }
    }

    private enum Storage: Sendable {
        case owned(Owned)
        case entry(ExemplarColumn.Storage, Int)
    }

    private var storage: Storage

    /// The exemplar's labels, e.g. `trace_id`; names and values together at most 128 code points.
    public var labels: LabelSet {
        get {
            switch storage {
            case .owned(let owned): owned.labels ?? LabelSet(names: [owned.name], values: [owned.labelValue])
            case .entry(let column, let entry): column.labels(entry)
            }
        }
        set { self = Exemplar(labels: newValue, value: value, timestamp: timestamp) }
    }

    public var value: Double {
        get {
            switch storage {
            case .owned(let owned): owned.value
            case .entry(let column, let entry): column.values[entry]
            }
        }
        set { self = Exemplar(labels: labels, value: newValue, timestamp: timestamp) }
    }

    /// Seconds since the epoch, if known.
    public var timestamp: Double? {
        get {
            switch storage {
            case .owned(let owned): owned.timestamp
            case .entry(let column, let entry): column.timestamp(entry)
            }
        }
        set { self = Exemplar(labels: labels, value: value, timestamp: newValue) }
    }

    public init(labels: LabelSet, value: Double, timestamp: Double? = nil) {
        storage = .owned(Owned(name: "", labelValue: "", labels: labels, value: value, timestamp: timestamp))
    }

    /// An exemplar with the one label `name` (a valid label name) set to `labelValue`.
    public init(label name: String, _ labelValue: String, value: Double, timestamp: Double? = nil) {
        storage = .owned(Owned(name: name, labelValue: labelValue, labels: nil, value: value, timestamp: timestamp))
    }

    init(_ column: ExemplarColumn.Storage, entry: Int) {
        storage = .entry(column, entry)
    }

    /// How many labels it has.
    public var labelCount: Int {
        switch storage {
        case .owned(let owned): owned.labels?.names.count ?? 1
        case .entry(let column, let entry): column.labelCount(entry)
        }
    }

    /// The name and value of label `k`.
    public func label(_ k: Int) -> (name: String, value: String) {
        switch storage {
        case .owned(let owned):
            if let labels = owned.labels { return (labels.names[k], labels.values[k]) }
            return (owned.name, owned.labelValue)
        case .entry(let column, let entry):
            return column.label(entry, k)
        }
    }

    /// Appends `name="value",...`, values escaped, as inside the braces of the text formats.
    public func appendEscapedLabels(to out: inout [UInt8]) {
        switch storage {
        case .owned(let owned):
            if let labels = owned.labels {
                out.append(contentsOf: labels.escaped)
            } else {
                out.append(contentsOf: owned.name.utf8)
                out.append(contentsOf: #"=""#.utf8)
                Escaping.appendLabelValue(owned.labelValue, to: &out)
                out.append(UInt8(ascii: "\""))
            }
        case .entry(let column, let entry):
            column.appendEscapedLabels(entry, to: &out)
        }
    }

    public static func == (a: Exemplar, b: Exemplar) -> Bool {
        a.labels == b.labels && a.value == b.value && a.timestamp == b.timestamp
    }

    /// OpenMetrics' limit on the combined length of an exemplar's label names and values.
    public static let maximumLabelCodePoints = 128

    /// The number of Unicode code points in the label names and values together.
    public var labelCodePointCount: Int {
        var total = 0
        for k in 0..<labelCount {
            let (name, value) = label(k)
            total += name.unicodeScalars.count + value.unicodeScalars.count
        }
        return total
    }

    /// Whether the writers will write this exemplar: its labels are within the OpenMetrics limit.
    public var isWithinLabelLimit: Bool {
        // A code point is at least one UTF-8 byte, and a native string knows its byte count
        // without a walk: the walk over code points is left for the rare long identifier.
        var bytes = 0
        for k in 0..<labelCount {
            let (name, value) = label(k)
            bytes += name.utf8.count + value.utf8.count
        }
        return bytes <= Self.maximumLabelCodePoints || labelCodePointCount <= Self.maximumLabelCodePoints
    }
}
