import Exposition
import Histograms
import Testing

/// A scrape renders a family a few thousand lines at a time; the pieces must add up to the
/// family written whole, byte for byte, in every format.
@Suite struct PiecewiseWritingTests {
    static func whole(_ snapshot: MetricSnapshot, _ format: ExpositionFormat) -> [UInt8] {
        var out: [UInt8] = []
        format.write(snapshot, into: &out)
        return out
    }

    static func inPieces(_ snapshot: MetricSnapshot, _ format: ExpositionFormat, lines: Int) -> [UInt8] {
        var out: [UInt8] = []
        for family in snapshot.families {
            for piece in format.pieces(of: family, lines: lines) { format.write(family, series: piece, into: &out) }
        }
        format.writeEnd(into: &out)
        return out
    }

    /// Three series of a two-bucket-bound histogram with an exemplar on some buckets of each.
    static func bucketExemplars() -> MetricSnapshot {
        let labels = (0..<3).map { LabelSet(["route": "r\($0)"]) }
        let exemplars: [Exemplar?] = (0..<9).map {
            $0 % 4 == 0 ? Exemplar(labels: LabelSet(["trace_id": "t\($0)"]), value: 0.5, timestamp: 1_700_000_000) : nil
        }
        return MetricSnapshot(families: [
            MetricFamilySnapshot(
                name: "d_seconds", help: "d", type: .histogram, unit: "seconds", labels: labels,
                values: .histograms(
                    HistogramColumns(
                        bounds: BucketBounds([0.1, 1]), bucketCounts: [1, 2, 3, 4, 5, 6, 7, 8, 9],
                        scaledSums: [1, 2, 3], sumExponent: -3)),
                created: [1, 2, 3], exemplars: ExemplarColumn(exemplars))
        ])
    }

    @Test(arguments: ExpositionFormat.allCases)
    func piecesAddUpToTheWhole(format: ExpositionFormat) {
        for snapshot in [Fixtures.snapshot(), Fixtures.realistic(series: 3_000), Self.bucketExemplars()] {
            let whole = Self.whole(snapshot, format)
            for lines in [1, 7, 2_048, 1_000_000] {
                #expect(Self.inPieces(snapshot, format, lines: lines) == whole, "\(format.name), \(lines) lines")
            }
        }
    }

    @Test func aHistogramOfManySeriesIsSplitAndProtobufIsNot() {
        let family = Fixtures.realistic(series: 3_000).families[1]
        let pieces = ExpositionFormat.text.pieces(of: family, lines: 2_048)
        #expect(pieces.count == 3_000 / (2_048 / 24) + 1)
        #expect(pieces.first?.lowerBound == 0 && pieces.last?.upperBound == 3_000)
        #expect(zip(pieces, pieces.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
        #expect(ExpositionFormat.protobuf.pieces(of: family, lines: 2_048) == [0..<3_000])
    }
}
