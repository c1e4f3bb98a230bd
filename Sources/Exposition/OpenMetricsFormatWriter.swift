/// Writes OpenMetrics 1.0.0 text.
///
/// Differences from ``TextFormatWriter`` that matter to a parser:
/// - A counter family is declared without a suffix (`# TYPE foo counter`); its samples are
///   `foo_total`, followed by `foo_created` when the series has a created time.
/// - `# UNIT` is written when the family has a unit that its name ends with (`_<unit>`);
///   otherwise it is left out, since a parser rejects a unit that is not the name's suffix.
/// - `le` values are canonical floats (`1.0`, `0.005`, `1e+06`, `+Inf`).
/// - Exemplars follow counter `_total` and histogram `_bucket` samples:
///   ` # {trace_id="…"} 0.67 1520879607.789`, timestamps in seconds.
/// - HELP escapes quotes too, types are `unknown` rather than `untyped`, and the exposition ends
///   with `# EOF`.
/// - A histogram whose sum is negative has no `_sum` sample: OpenMetrics allows a sum only when no
///   observation was negative.
///
/// Like the text writer it trusts validated names and pre-escaped labels, skips families without
/// series and allocates nothing per series (an exemplar or a non-integer value may allocate a
/// short string).
public enum OpenMetricsFormatWriter {
    public static let contentType = "application/openmetrics-text; version=1.0.0; charset=utf-8"

    /// Appends every family of `snapshot`, then `# EOF`.
    public static func write(_ snapshot: MetricSnapshot, into out: inout [UInt8]) {
        for family in snapshot.families {
            write(family, into: &out)
        }
        writeEnd(into: &out)
    }

    /// Appends one family's metadata and samples, without the final `# EOF`.
    public static func write(_ family: MetricFamilySnapshot, into out: inout [UInt8]) {
        write(family, series: 0..<family.writableSeriesCount, into: &out)
    }

    /// Appends the samples of series `range` of a family, after its metadata when `header` says
    /// so (by default when the range starts at its first series): consecutive ranges write the
    /// whole family in pieces.
    public static func write(
        _ family: MetricFamilySnapshot, series range: Range<Int>, header: Bool? = nil, into out: inout [UInt8]
    ) {
        let range = range.clamped(to: 0..<family.writableSeriesCount)
        guard !range.isEmpty else { return }
        let type = family.writtenType
        let name = Array(family.name.utf8)
        if header ?? (range.lowerBound == 0) { writeHeader(family, name: name, type: type, into: &out) }
        switch family.values {
        case .integers(let values):
            writeScalars(family, type: type, name: name, series: range, into: &out) { k, out in
                NumberFormatting.appendInteger(values[k], to: &out)
            }
        case .doubles(let values):
            writeScalars(family, type: type, name: name, series: range, into: &out) { k, out in
                TextFormatWriter.appendValue(values[k], to: &out)
            }
        case .histograms(let columns):
            writeHistograms(family, name: name, columns: columns, series: range, into: &out)
        }
    }

    /// Appends a family's metadata alone, for one written in pieces that may all be empty.
    public static func writeHeader(_ family: MetricFamilySnapshot, into out: inout [UInt8]) {
        writeHeader(family, name: Array(family.name.utf8), type: family.writtenType, into: &out)
    }

    private static func writeHeader(
        _ family: MetricFamilySnapshot, name: [UInt8], type: MetricType, into out: inout [UInt8]
    ) {
        if !family.help.isEmpty {
            SampleLine.appendComment("HELP", name, into: &out) {
                Escaping.appendHelp(family.help, escapeQuotes: true, to: &$0)
            }
        }
        SampleLine.appendComment("TYPE", name, into: &out) { $0.append(contentsOf: type.rawValue.utf8) }
        if let unit = family.writableUnit {
            SampleLine.appendComment("UNIT", name, into: &out) { $0.append(contentsOf: unit.utf8) }
        }
    }

    /// Appends the `# EOF` line that closes an exposition.
    public static func writeEnd(into out: inout [UInt8]) {
        out.append(contentsOf: "# EOF\n".utf8)
    }

    // MARK: - Samples

    private static func writeScalars(
        _ family: MetricFamilySnapshot, type: MetricType, name: [UInt8], series range: Range<Int>,
        into out: inout [UInt8], value appendValue: (Int, inout [UInt8]) -> Void
    ) {
        let count = range.count
        let isCounter = type == .counter
        let sampleName = isCounter ? name + Array("_total".utf8) : name
        let createdName = name + Array("_created".utf8)
        let exemplars = isCounter ? family.exemplars : nil
        let linesPerSeries = isCounter && family.created != nil ? 2 : 1
        SampleLine.reserve(
            series: count, bytesPerSeries: linesPerSeries * (createdName.count + 24), labels: family.labels,
            linesPerSeries: linesPerSeries, into: &out)
        var escaped: [UInt8] = []
        for k in range {
            SampleLine.escapedLabels(family.labels, k, into: &escaped)
            SampleLine.appendStart(sampleName, escaped, into: &out)
            appendValue(k, &out)
            if let exemplars, k < exemplars.count, let exemplar = exemplars[k] {
                appendExemplar(exemplar, to: &out)
            }
            out.append(0x0A)
            if isCounter, let created = family.createdTime(k) {
                appendCreated(createdName, escaped, created, into: &out)
            }
        }
    }

    private static func writeHistograms(
        _ family: MetricFamilySnapshot, name: [UInt8], columns: HistogramColumns, series range: Range<Int>,
        into out: inout [UInt8]
    ) {
        let count = range.count
        let width = columns.bucketsPerSeries
        let bucketStart = name + Array("_bucket{".utf8)
        let sumName = name + Array("_sum".utf8)
        let countName = name + Array("_count".utf8)
        let createdName = name + Array("_created".utf8)
        let leSuffixes = SampleLine.leSuffixes(columns.bounds.openMetricsLabels)
        var placement = BucketExemplarPlacement(
            family.exemplars, columns: columns, seriesCount: family.writableSeriesCount)
        SampleLine.reserve(
            series: count, bytesPerSeries: width * (bucketStart.count + 24) + 3 * (createdName.count + 24),
            labels: family.labels, linesPerSeries: width + 3, into: &out)
        var escaped: [UInt8] = []
        columns.bucketCounts.withUnsafeBufferPointer { counts in
            for k in range {
                SampleLine.escapedLabels(family.labels, k, into: &escaped)
                let base = k * width
                placement.select(series: k)
                var cumulative: UInt64 = 0
                for b in 0..<width {
                    cumulative &+= counts[base + b]  // Cannot overflow: see TextFormatWriter.
                    out.append(contentsOf: bucketStart)
                    if !escaped.isEmpty {
                        out.append(contentsOf: escaped)
                        out.append(UInt8(ascii: ","))
                    }
                    out.append(contentsOf: leSuffixes[b])
                    NumberFormatting.appendInteger(cumulative, to: &out)
                    if !placement.isEmpty, let exemplar = placement.exemplar(forBucket: b) {
                        appendExemplar(exemplar, to: &out)
                    }
                    out.append(0x0A)
                }
                let scaledSum = columns.scaledSums[k]
                if scaledSum >= 0 {
                    SampleLine.appendStart(sumName, escaped, into: &out)
                    NumberFormatting.appendScaled(scaledSum, exponent: columns.sumExponent, to: &out)
                    out.append(0x0A)
                }
                SampleLine.appendStart(countName, escaped, into: &out)
                NumberFormatting.appendInteger(cumulative, to: &out)
                out.append(0x0A)
                if let created = family.createdTime(k) {
                    appendCreated(createdName, escaped, created, into: &out)
                }
            }
        }
    }

    @inline(__always)
    private static func appendCreated(_ name: [UInt8], _ labels: [UInt8], _ created: Double, into out: inout [UInt8]) {
        SampleLine.appendStart(name, labels, into: &out)
        NumberFormatting.appendPositional(created, to: &out)
        out.append(0x0A)
    }

    /// Appends ` # {labels} value [timestamp]`, or nothing when the labels are over the limit.
    static func appendExemplar(_ exemplar: Exemplar, to out: inout [UInt8]) {
        guard exemplar.isWithinLabelLimit else { return }
        out.append(contentsOf: " # {".utf8)
        exemplar.appendEscapedLabels(to: &out)
        out.append(contentsOf: "} ".utf8)
        NumberFormatting.appendGoFloat(exemplar.value, to: &out)
        if let timestamp = exemplar.timestamp, timestamp.isFinite {
            out.append(UInt8(ascii: " "))
            NumberFormatting.appendPositional(timestamp, to: &out)
        }
    }
}
