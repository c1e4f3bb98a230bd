import Histograms

/// Writes the Prometheus protobuf exposition: `io.prometheus.client.MetricFamily` messages, each
/// preceded by its length as a varint (`encoding=delimited`).
///
/// The messages follow prometheus/client_model's `metrics.proto`:
///
///     MetricFamily { name = 1; help = 2; type = 3; repeated Metric metric = 4; unit = 5 }
///     Metric       { repeated LabelPair label = 1; gauge = 2; counter = 3; untyped = 5; histogram = 7 }
///     LabelPair    { name = 1; value = 2 }
///     Gauge, Untyped { double value = 1 }
///     Counter      { double value = 1; Exemplar exemplar = 2; Timestamp created_timestamp = 3 }
///     Histogram    { uint64 sample_count = 1; double sample_sum = 2; repeated Bucket bucket = 3;
///                    sint32 schema = 5; double zero_threshold = 6; uint64 zero_count = 7;
///                    repeated BucketSpan negative_span = 9; repeated sint64 negative_delta = 10;
///                    repeated BucketSpan positive_span = 12; repeated sint64 positive_delta = 13;
///                    Timestamp created_timestamp = 15 }
///     Bucket       { uint64 cumulative_count = 1; double upper_bound = 2; Exemplar exemplar = 3 }
///     BucketSpan   { sint32 offset = 1; uint32 length = 2 }
///     Exemplar     { repeated LabelPair label = 1; double value = 2; Timestamp timestamp = 3 }
///
/// Choices a reader may notice:
/// - Counter families are named with `_total`, as in the text format: a protobuf parser takes
///   the family name as the sample name.
/// - Scalar and count fields are written even when zero (the schema is proto2, where presence
///   is visible); empty strings, absent timestamps and absent exemplars are left out.
/// - Classic buckets include the `+Inf` bucket, whose count equals `sample_count`.
/// - The native fields are written only for series that carry a native histogram; the no-op span
///   of an empty one comes from ``EncodedNativeHistogram``. Deltas are packed, which every
///   protobuf parser accepts for repeated scalars.
/// - `sample_count` and `sample_sum` come from the classic columns, so `+Inf` always equals the
///   count; the native histogram is expected to describe the same observations.
///
/// Message lengths are computed before the bytes are written, so nothing is written twice and
/// nothing is allocated per series beyond two size columns per family.
public enum ProtobufFormatWriter {
    public static let contentType =
        "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"

    /// Appends every family of `snapshot`, each as a length-prefixed `MetricFamily`.
    public static func write(_ snapshot: MetricSnapshot, into out: inout [UInt8]) {
        var scratch = Scratch()
        for family in snapshot.families {
            write(family, scratch: &scratch, into: &out)
        }
    }

    /// Appends one length-prefixed `MetricFamily`.
    public static func write(_ family: MetricFamilySnapshot, into out: inout [UInt8]) {
        var scratch = Scratch()
        write(family, scratch: &scratch, into: &out)
    }

    /// Size columns reused across the families of one snapshot.
    struct Scratch {
        /// Per series, the size of the `Metric` message body.
        var metricSizes: [Int] = []
        /// Per series, the size of the body of its `Counter`/`Gauge`/`Untyped`/`Histogram`.
        var valueSizes: [Int] = []
    }

    static func write(_ family: MetricFamilySnapshot, scratch: inout Scratch, into out: inout [UInt8]) {
        let count = family.writableSeriesCount
        guard count > 0 else { return }
        let encoder = FamilyEncoder(family: family, count: count)
        scratch.metricSizes.removeAll(keepingCapacity: true)
        scratch.valueSizes.removeAll(keepingCapacity: true)
        var familySize = encoder.headerSize
        for k in 0..<count {
            let valueSize = encoder.valueSize(k)
            let metricSize = encoder.labelsSize(family.labels, k) + ProtobufWire.lengthDelimitedFieldSize(valueSize)
            scratch.valueSizes.append(valueSize)
            scratch.metricSizes.append(metricSize)
            familySize += ProtobufWire.lengthDelimitedFieldSize(metricSize)
        }
        out.reserveCapacity(out.count + familySize + 5)
        ProtobufWire.appendVarint(UInt64(familySize), to: &out)
        encoder.writeHeader(into: &out)
        for k in 0..<count {
            ProtobufWire.appendLengthDelimitedHeader(4, length: scratch.metricSizes[k], to: &out)
            encoder.writeLabels(family.labels, k, into: &out)
            encoder.writeValue(k, size: scratch.valueSizes[k], into: &out)
        }
        encoder.writeUnit(into: &out)
    }
}

/// Sizes and writes the messages of one family; the two halves mirror each other field by field.
private struct FamilyEncoder {
    let family: MetricFamilySnapshot
    let type: MetricType
    let name: String
    let unit: String?
    let histograms: HistogramColumns?
    let placement: BucketExemplarPlacement?

    init(family: MetricFamilySnapshot, count: Int) {
        self.family = family
        self.type = family.writtenType
        self.name = type == .counter ? family.name + "_total" : family.name
        self.unit = family.writableUnit
        if case .histograms(let columns) = family.values {
            histograms = columns
            placement = BucketExemplarPlacement(family.exemplars, columns: columns, seriesCount: count)
        } else {
            histograms = nil
            placement = nil
        }
    }

    /// `io.prometheus.client.MetricType`.
    var typeNumber: UInt64 {
        switch type {
        case .counter: return 0
        case .gauge: return 1
        case .unknown: return 3
        case .histogram: return 4
        }
    }

    /// The `Metric` field that holds the value.
    var valueField: UInt8 {
        switch type {
        case .counter: return 3
        case .gauge: return 2
        case .unknown: return 5
        case .histogram: return 7
        }
    }

    // MARK: Family

    var headerSize: Int {
        var size = ProtobufWire.lengthDelimitedFieldSize(name.utf8.count)
        if !family.help.isEmpty { size += ProtobufWire.lengthDelimitedFieldSize(family.help.utf8.count) }
        size += ProtobufWire.varintFieldSize(typeNumber)
        if let unit { size += ProtobufWire.lengthDelimitedFieldSize(unit.utf8.count) }
        return size
    }

    func writeHeader(into out: inout [UInt8]) {
        ProtobufWire.appendStringField(1, name, to: &out)
        if !family.help.isEmpty { ProtobufWire.appendStringField(2, family.help, to: &out) }
        ProtobufWire.appendVarintField(3, typeNumber, to: &out)
    }

    /// The unit is field 5, after the metrics, to keep fields in number order.
    func writeUnit(into out: inout [UInt8]) {
        if let unit { ProtobufWire.appendStringField(5, unit, to: &out) }
    }

    // MARK: Labels

    @inline(__always)
    func labelsSize(_ labels: LabelSet) -> Int {
        var size = 0
        for (index, labelName) in labels.names.enumerated() {
            size += ProtobufWire.lengthDelimitedFieldSize(Self.labelPairSize(labelName, labels.values[index]))
        }
        return size
    }

    /// ``labelsSize(_:)`` of series `series` of `labels`.
    func labelsSize(_ labels: SeriesLabels, _ series: Int) -> Int {
        var size = 0
        for position in 0..<labels.pairCount(series) {
            size += ProtobufWire.lengthDelimitedFieldSize(
                Self.labelPairSize(labels.name(series, position), labels.value(series, position)))
        }
        return size
    }

    @inline(__always)
    static func labelPairSize(_ name: String, _ value: String) -> Int {
        ProtobufWire.lengthDelimitedFieldSize(name.utf8.count) + ProtobufWire.lengthDelimitedFieldSize(value.utf8.count)
    }

    /// Writes `label` fields (number 1 in both `Metric` and `Exemplar`).
    @inline(__always)
    func writeLabels(_ labels: LabelSet, into out: inout [UInt8]) {
        for (index, labelName) in labels.names.enumerated() {
            writeLabel(labelName, labels.values[index], into: &out)
        }
    }

    /// ``writeLabels(_:into:)`` of series `series` of `labels`.
    @inline(__always)
    func writeLabels(_ labels: SeriesLabels, _ series: Int, into out: inout [UInt8]) {
        for position in 0..<labels.pairCount(series) {
            writeLabel(labels.name(series, position), labels.value(series, position), into: &out)
        }
    }

    @inline(__always)
    private func writeLabel(_ name: String, _ value: String, into out: inout [UInt8]) {
        ProtobufWire.appendLengthDelimitedHeader(1, length: Self.labelPairSize(name, value), to: &out)
        ProtobufWire.appendStringField(1, name, to: &out)
        ProtobufWire.appendStringField(2, value, to: &out)
    }

    // MARK: Values

    func valueSize(_ k: Int) -> Int {
        switch family.values {
        case .integers, .doubles:
            var size = ProtobufWire.doubleFieldSize
            if type == .counter {
                if let exemplar = counterExemplar(k) {
                    size += ProtobufWire.lengthDelimitedFieldSize(exemplarSize(exemplar))
                }
                if let created = family.createdTime(k) {
                    size += ProtobufWire.lengthDelimitedFieldSize(ProtobufWire.timestampSize(created))
                }
            }
            return size
        case .histograms(let columns):
            return histogramSize(k, columns)
        }
    }

    func writeValue(_ k: Int, size: Int, into out: inout [UInt8]) {
        ProtobufWire.appendLengthDelimitedHeader(valueField, length: size, to: &out)
        switch family.values {
        case .integers(let values):
            writeScalar(k, Double(values[k]), into: &out)
        case .doubles(let values):
            writeScalar(k, values[k], into: &out)
        case .histograms(let columns):
            writeHistogram(k, columns, into: &out)
        }
    }

    private func writeScalar(_ k: Int, _ value: Double, into out: inout [UInt8]) {
        ProtobufWire.appendDoubleField(1, value, to: &out)
        guard type == .counter else { return }
        if let exemplar = counterExemplar(k) {
            ProtobufWire.appendLengthDelimitedHeader(2, length: exemplarSize(exemplar), to: &out)
            writeExemplar(exemplar, into: &out)
        }
        if let created = family.createdTime(k) {
            ProtobufWire.appendTimestampField(3, created, to: &out)
        }
    }

    private func counterExemplar(_ k: Int) -> Exemplar? {
        guard let exemplars = family.exemplars, k < exemplars.count, let exemplar = exemplars[k],
            exemplar.isWithinLabelLimit
        else { return nil }
        return exemplar
    }

    // MARK: Histograms

    private func native(_ k: Int, _ columns: HistogramColumns) -> EncodedNativeHistogram? {
        guard let native = columns.native, k < native.count else { return nil }
        return native[k]?.encoded
    }

    private func histogramSize(_ k: Int, _ columns: HistogramColumns) -> Int {
        let width = columns.bucketsPerSeries
        var placement = self.placement
        placement?.select(series: k)
        var size = 0
        var cumulative: UInt64 = 0
        for b in 0..<width {
            cumulative &+= columns.bucketCounts[k * width + b]
            size += ProtobufWire.lengthDelimitedFieldSize(bucketSize(cumulative, placement?.exemplar(forBucket: b)))
        }
        size += ProtobufWire.varintFieldSize(cumulative) + ProtobufWire.doubleFieldSize
        if let native = native(k, columns) {
            size += ProtobufWire.varintFieldSize(ProtobufWire.zigzag(Int64(native.schema)))
            size += ProtobufWire.doubleFieldSize
            size += ProtobufWire.varintFieldSize(native.zeroCount)
            size += bucketsSize(native.negative) + bucketsSize(native.positive)
        }
        if let created = family.createdTime(k) {
            size += ProtobufWire.lengthDelimitedFieldSize(ProtobufWire.timestampSize(created))
        }
        return size
    }

    private func writeHistogram(_ k: Int, _ columns: HistogramColumns, into out: inout [UInt8]) {
        let width = columns.bucketsPerSeries
        let base = k * width
        var placement = self.placement
        placement?.select(series: k)
        ProtobufWire.appendVarintField(1, columns.count(k), to: &out)
        ProtobufWire.appendDoubleField(2, columns.sum(k), to: &out)
        let bounds = columns.bounds.values
        var cumulative: UInt64 = 0
        for b in 0..<width {
            cumulative &+= columns.bucketCounts[base + b]
            let exemplar = placement?.exemplar(forBucket: b)
            ProtobufWire.appendLengthDelimitedHeader(3, length: bucketSize(cumulative, exemplar), to: &out)
            ProtobufWire.appendVarintField(1, cumulative, to: &out)
            ProtobufWire.appendDoubleField(2, b < bounds.count ? bounds[b] : .infinity, to: &out)
            if let exemplar = usable(exemplar) {
                ProtobufWire.appendLengthDelimitedHeader(3, length: exemplarSize(exemplar), to: &out)
                writeExemplar(exemplar, into: &out)
            }
        }
        if let native = native(k, columns) {
            ProtobufWire.appendVarintField(5, ProtobufWire.zigzag(Int64(native.schema)), to: &out)
            ProtobufWire.appendDoubleField(6, native.zeroThreshold, to: &out)
            ProtobufWire.appendVarintField(7, native.zeroCount, to: &out)
            writeBuckets(native.negative, spanField: 9, deltaField: 10, into: &out)
            writeBuckets(native.positive, spanField: 12, deltaField: 13, into: &out)
        }
        if let created = family.createdTime(k) {
            ProtobufWire.appendTimestampField(15, created, to: &out)
        }
    }

    @inline(__always)
    private func bucketSize(_ cumulative: UInt64, _ exemplar: Exemplar?) -> Int {
        var size = ProtobufWire.varintFieldSize(cumulative) + ProtobufWire.doubleFieldSize
        if let exemplar = usable(exemplar) { size += ProtobufWire.lengthDelimitedFieldSize(exemplarSize(exemplar)) }
        return size
    }

    @inline(__always)
    private func usable(_ exemplar: Exemplar?) -> Exemplar? {
        guard let exemplar, exemplar.isWithinLabelLimit else { return nil }
        return exemplar
    }

    /// Spans (each a `BucketSpan` message) and packed deltas of one side.
    private func bucketsSize(_ buckets: EncodedBuckets) -> Int {
        var size = 0
        for span in buckets.spans {
            size += ProtobufWire.lengthDelimitedFieldSize(Self.spanSize(span))
        }
        if !buckets.deltas.isEmpty {
            size += ProtobufWire.lengthDelimitedFieldSize(Self.deltasSize(buckets.deltas))
        }
        return size
    }

    private static func spanSize(_ span: BucketSpan) -> Int {
        ProtobufWire.varintFieldSize(ProtobufWire.zigzag(Int64(span.offset)))
            + ProtobufWire.varintFieldSize(UInt64(span.length))
    }

    private static func deltasSize(_ deltas: [Int64]) -> Int {
        var size = 0
        for delta in deltas { size += ProtobufWire.varintSize(ProtobufWire.zigzag(delta)) }
        return size
    }

    private func writeBuckets(_ buckets: EncodedBuckets, spanField: UInt8, deltaField: UInt8, into out: inout [UInt8]) {
        for span in buckets.spans {
            ProtobufWire.appendLengthDelimitedHeader(spanField, length: Self.spanSize(span), to: &out)
            ProtobufWire.appendVarintField(1, ProtobufWire.zigzag(Int64(span.offset)), to: &out)
            ProtobufWire.appendVarintField(2, UInt64(span.length), to: &out)
        }
        guard !buckets.deltas.isEmpty else { return }
        ProtobufWire.appendLengthDelimitedHeader(deltaField, length: Self.deltasSize(buckets.deltas), to: &out)
        for delta in buckets.deltas { ProtobufWire.appendVarint(ProtobufWire.zigzag(delta), to: &out) }
    }

    // MARK: Exemplars

    private func exemplarSize(_ exemplar: Exemplar) -> Int {
        var size = ProtobufWire.doubleFieldSize
        for k in 0..<exemplar.labelCount {
            let (name, value) = exemplar.label(k)
            size += ProtobufWire.lengthDelimitedFieldSize(Self.labelPairSize(name, value))
        }
        if let timestamp = Self.timestamp(exemplar) {
            size += ProtobufWire.lengthDelimitedFieldSize(ProtobufWire.timestampSize(timestamp))
        }
        return size
    }

    private func writeExemplar(_ exemplar: Exemplar, into out: inout [UInt8]) {
        for k in 0..<exemplar.labelCount {
            let (name, value) = exemplar.label(k)
            writeLabel(name, value, into: &out)
        }
        ProtobufWire.appendDoubleField(2, exemplar.value, to: &out)
        if let timestamp = Self.timestamp(exemplar) {
            ProtobufWire.appendTimestampField(3, timestamp, to: &out)
        }
    }

    /// An exemplar timestamp that fits a `Timestamp` message.
    private static func timestamp(_ exemplar: Exemplar) -> Double? {
        guard let timestamp = exemplar.timestamp, timestamp.isFinite, timestamp.magnitude < 1e15 else { return nil }
        return timestamp
    }
}
