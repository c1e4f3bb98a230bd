/// Writes Prometheus text format 0.0.4.
///
/// Counter families get `_total` appended to their name, as Prometheus' client libraries do.
/// Histograms write cumulative `_bucket` samples ending with `le="+Inf"`, which equals `_count`.
/// The format has no place for exemplars, created times or units; they are left out.
///
/// The writer trusts its input: names were validated and label values escaped when the series
/// were created (``SeriesLabels``). Families without series are skipped, as Prometheus' client
/// libraries do. Nothing is allocated per series: a series' labels are rendered once into a
/// reused buffer and copied into each of its lines, and integers are formatted in place.
public enum TextFormatWriter {
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Appends every family of `snapshot`.
    public static func write(_ snapshot: MetricSnapshot, into out: inout [UInt8]) {
        for family in snapshot.families {
            write(family, into: &out)
        }
    }

    /// Appends one family: `# HELP` (when there is help text), `# TYPE`, then its samples.
    public static func write(_ family: MetricFamilySnapshot, into out: inout [UInt8]) {
        write(family, series: 0..<family.writableSeriesCount, into: &out)
    }

    /// Appends the samples of series `range` of a family, after its `# HELP` and `# TYPE` when
    /// `header` says so (by default when the range starts at its first series): consecutive
    /// ranges write the whole family in pieces.
    public static func write(
        _ family: MetricFamilySnapshot, series range: Range<Int>, header: Bool? = nil, into out: inout [UInt8]
    ) {
        let range = range.clamped(to: 0..<family.writableSeriesCount)
        guard !range.isEmpty else { return }
        let count = range.count
        let type = family.writtenType
        let name = sampleName(family, type)
        if header ?? (range.lowerBound == 0) { writeHeader(family, name: name, type: type, into: &out) }
        var escaped: [UInt8] = []
        switch family.values {
        case .integers(let values):
            SampleLine.reserve(series: count, bytesPerSeries: name.count + 16, labels: family.labels, into: &out)
            for k in range {
                SampleLine.escapedLabels(family.labels, k, into: &escaped)
                SampleLine.appendStart(name, escaped, into: &out)
                NumberFormatting.appendInteger(values[k], to: &out)
                out.append(0x0A)
            }
        case .doubles(let values):
            SampleLine.reserve(series: count, bytesPerSeries: name.count + 20, labels: family.labels, into: &out)
            for k in range {
                SampleLine.escapedLabels(family.labels, k, into: &escaped)
                SampleLine.appendStart(name, escaped, into: &out)
                appendValue(values[k], to: &out)
                out.append(0x0A)
            }
        case .histograms(let columns):
            writeHistograms(name, family.labels, columns, series: range, into: &out)
        }
    }

    /// Appends a family's `# HELP` and `# TYPE` alone, for one written in pieces that may all be
    /// empty.
    public static func writeHeader(_ family: MetricFamilySnapshot, into out: inout [UInt8]) {
        let type = family.writtenType
        writeHeader(family, name: sampleName(family, type), type: type, into: &out)
    }

    /// The family's name as its samples and metadata carry it: counters with `_total`.
    private static func sampleName(_ family: MetricFamilySnapshot, _ type: MetricType) -> [UInt8] {
        var name = Array(family.name.utf8)
        if type == .counter { name.append(contentsOf: "_total".utf8) }
        return name
    }

    private static func writeHeader(
        _ family: MetricFamilySnapshot, name: [UInt8], type: MetricType, into out: inout [UInt8]
    ) {
        if !family.help.isEmpty {
            SampleLine.appendComment("HELP", name, into: &out) {
                Escaping.appendHelp(family.help, escapeQuotes: false, to: &$0)
            }
        }
        SampleLine.appendComment("TYPE", name, into: &out) {
            $0.append(contentsOf: (type == .unknown ? "untyped" : type.rawValue).utf8)
        }
    }

    static func writeHistograms(
        _ name: [UInt8], _ labels: SeriesLabels, _ columns: HistogramColumns, series range: Range<Int>,
        into out: inout [UInt8]
    ) {
        let count = range.count
        let width = columns.bucketsPerSeries
        let bucketStart = name + Array("_bucket{".utf8)
        let sumName = name + Array("_sum".utf8)
        let countName = name + Array("_count".utf8)
        // `le="0.005"} ` for every bucket, rendered once per family.
        let leSuffixes = SampleLine.leSuffixes(columns.bounds.textLabels)
        SampleLine.reserve(
            series: count, bytesPerSeries: width * (bucketStart.count + 24) + 2 * (countName.count + 24),
            labels: labels, linesPerSeries: width + 2, into: &out)
        var escaped: [UInt8] = []
        columns.bucketCounts.withUnsafeBufferPointer { counts in
            for k in range {
                SampleLine.escapedLabels(labels, k, into: &escaped)
                let base = k * width
                var cumulative: UInt64 = 0
                for b in 0..<width {
                    // Cannot overflow in practice: a count above 2^64 would need centuries of
                    // observations; wrapping keeps the loop branch-free.
                    cumulative &+= counts[base + b]
                    out.append(contentsOf: bucketStart)
                    if !escaped.isEmpty {
                        out.append(contentsOf: escaped)
                        out.append(UInt8(ascii: ","))
                    }
                    out.append(contentsOf: leSuffixes[b])
                    NumberFormatting.appendInteger(cumulative, to: &out)
                    out.append(0x0A)
                }
                SampleLine.appendStart(sumName, escaped, into: &out)
                NumberFormatting.appendScaled(columns.scaledSums[k], exponent: columns.sumExponent, to: &out)
                out.append(0x0A)
                SampleLine.appendStart(countName, escaped, into: &out)
                NumberFormatting.appendInteger(cumulative, to: &out)
                out.append(0x0A)
            }
        }
    }

    /// Whole numbers below 2^53 as integers (exact, and no float formatting); anything else as
    /// Go's `%g`. Both parse to the same value.
    @inline(__always)
    static func appendValue(_ value: Double, to out: inout [UInt8]) {
        if value == value.rounded(.towardZero), value.magnitude < 0x1p53 {
            NumberFormatting.appendInteger(Int64(value), to: &out)
        } else {
            NumberFormatting.appendGoFloat(value, to: &out)
        }
    }
}
