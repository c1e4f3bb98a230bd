import Aggregation
import Corpus
import Exposition

/// A scrape: `SnapshotBuilder.snapshot` over the ingested corpus, then `TextFormatWriter.write`
/// into a reused output buffer.
public final class RenderWorkload {
    public let pipeline: PipelineWorkload
    private var output: [UInt8] = []
    /// Series in the snapshot, all families (a histogram counts once).
    public let seriesCount: Int
    /// Samples written per render: one per counter series, buckets + 2 per histogram series.
    public let sampleCount: Int
    /// Bytes of text per render.
    public private(set) var outputBytes = 0

    /// Ingests the whole corpus first; renders then see every series.
    public init(_ buffer: CorpusBuffer) throws {
        pipeline = try PipelineWorkload(buffer)
        pipeline.feedAll()
        let snapshot = pipeline.snapshot()
        seriesCount = snapshot.families.reduce(0) { $0 + $1.seriesCount }
        sampleCount = snapshot.families.reduce(0) { total, family in
            switch family.values {
            case .histograms(let columns): total + family.seriesCount * (columns.bucketsPerSeries + 2)
            default: total + family.seriesCount
            }
        }
        output.reserveCapacity(1 << 20)
    }

    /// One scrape; returns the bytes written.
    @inline(never)
    public func render() -> Int {
        let snapshot = pipeline.snapshot()
        output.removeAll(keepingCapacity: true)
        TextFormatWriter.write(snapshot, into: &output)
        outputBytes = output.count
        return output.count
    }
}
