/// A format a scrape can be answered in.
public enum ExpositionFormat: Sendable, Hashable, CaseIterable {
    /// Prometheus text format 0.0.4: every Prometheus and most other scrapers read it.
    case text
    /// OpenMetrics 1.0.0 text: adds exemplars, created times and units.
    case openMetrics
    /// Length-delimited `io.prometheus.client.MetricFamily` protobuf messages: the only format
    /// that carries native histograms.
    case protobuf

    /// The exact `Content-Type` of a response in this format, with its version.
    public var contentType: String {
        switch self {
        case .text: return TextFormatWriter.contentType
        case .openMetrics: return OpenMetricsFormatWriter.contentType
        case .protobuf: return ProtobufFormatWriter.contentType
        }
    }

    /// A short lowercase name for logs and label values: `text`, `openmetrics`, `protobuf`.
    public var name: String {
        switch self {
        case .text: return "text"
        case .openMetrics: return "openmetrics"
        case .protobuf: return "protobuf"
        }
    }

    /// Appends `snapshot` in this format, complete (OpenMetrics' `# EOF` included).
    public func write(_ snapshot: MetricSnapshot, into out: inout [UInt8]) {
        switch self {
        case .text: TextFormatWriter.write(snapshot, into: &out)
        case .openMetrics: OpenMetricsFormatWriter.write(snapshot, into: &out)
        case .protobuf: ProtobufFormatWriter.write(snapshot, into: &out)
        }
    }
}

// MARK: - Writing family by family

extension ExpositionFormat {
    /// Appends one family. Together with ``writeEnd(into:)`` this renders a snapshot in pieces,
    /// for a caller that compresses or sends as it goes.
    public func write(_ family: MetricFamilySnapshot, into out: inout [UInt8]) {
        switch self {
        case .text: TextFormatWriter.write(family, into: &out)
        case .openMetrics: OpenMetricsFormatWriter.write(family, into: &out)
        case .protobuf: ProtobufFormatWriter.write(family, into: &out)
        }
    }

    /// Appends series `range` of a family, with its metadata when the range starts at the first
    /// series. Protobuf writes a family as one length-prefixed message, so it writes the whole
    /// family for a range from 0 and nothing for the others.
    public func write(_ family: MetricFamilySnapshot, series range: Range<Int>, into out: inout [UInt8]) {
        switch self {
        case .text: TextFormatWriter.write(family, series: range, into: &out)
        case .openMetrics: OpenMetricsFormatWriter.write(family, series: range, into: &out)
        case .protobuf: if range.lowerBound == 0 { ProtobufFormatWriter.write(family, into: &out) }
        }
    }

    /// Appends a family's metadata alone (nothing for protobuf, whose families are written whole).
    public func writeHeader(_ family: MetricFamilySnapshot, into out: inout [UInt8]) {
        switch self {
        case .text: TextFormatWriter.writeHeader(family, into: &out)
        case .openMetrics: OpenMetricsFormatWriter.writeHeader(family, into: &out)
        case .protobuf: break
        }
    }

    /// Appends the samples of series `range` of a family without its metadata: a piece of a
    /// family whose header was written with ``writeHeader(_:into:)``. Not for protobuf.
    public func writeSamples(_ family: MetricFamilySnapshot, series range: Range<Int>, into out: inout [UInt8]) {
        switch self {
        case .text: TextFormatWriter.write(family, series: range, header: false, into: &out)
        case .openMetrics: OpenMetricsFormatWriter.write(family, series: range, header: false, into: &out)
        case .protobuf: preconditionFailure("protobuf writes a family whole")
        }
    }

    /// Consecutive series ranges that together cover `family` (its ``DeferredValues`` series
    /// when it has them), each of about `lines` sample lines (one range for protobuf), so a
    /// large family can be rendered in bounded pieces.
    public func pieces(of family: MetricFamilySnapshot, lines: Int) -> [Range<Int>] {
        let count = family.deferred?.seriesCount ?? family.writableSeriesCount
        guard self != .protobuf, count > 0 else { return [0..<count] }
        let linesPerSeries: Int
        switch family.values {
        case .histograms(let columns): linesPerSeries = columns.bucketsPerSeries + 3
        case .integers, .doubles: linesPerSeries = 2
        }
        let step = max(1, lines / linesPerSeries)
        return stride(from: 0, to: count, by: step).map { $0..<min($0 + step, count) }
    }

    /// Appends what closes an exposition: `# EOF` for OpenMetrics, nothing for the others.
    public func writeEnd(into out: inout [UInt8]) {
        if self == .openMetrics { OpenMetricsFormatWriter.writeEnd(into: &out) }
    }
}
