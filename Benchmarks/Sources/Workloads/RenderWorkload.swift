import Aggregation
import Corpus
import Exposition

/// A scrape: `SnapshotBuilder.snapshot` over the ingested corpus, then the format's writer into a
/// reused output buffer, and gzip (at the server's default level) when asked.
public final class RenderWorkload {
    public let pipeline: PipelineWorkload
    public let format: ExpositionFormat
    public let gzip: Bool
    private var output: [UInt8] = []
    private var compressed: [UInt8] = []
    /// Series in the snapshot, all families (a histogram counts once).
    public let seriesCount: Int
    /// Samples written per render: one per counter series, buckets + 2 per histogram series.
    public let sampleCount: Int
    /// Bytes written per render, before compression.
    public private(set) var outputBytes = 0
    /// Bytes after gzip (equal to ``outputBytes`` without it).
    public private(set) var compressedBytes = 0

    /// Ingests the whole corpus first; renders then see every series.
    public init(
        _ buffer: CorpusBuffer, format: ExpositionFormat = .text, gzip: Bool = false,
        limits: Limits = Limits()
    ) throws {
        self.format = format
        self.gzip = gzip
        pipeline = try PipelineWorkload(buffer, limits: limits)
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

    /// One scrape; returns the bytes it would send.
    @inline(never)
    public func render() -> Int {
        // What the scrape server asks for in this format.
        let snapshot = pipeline.snapshot(includeExemplars: format != .text, includeNative: format == .protobuf)
        output.removeAll(keepingCapacity: true)
        format.write(snapshot, into: &output)
        outputBytes = output.count
        guard gzip else {
            compressedBytes = output.count
            return output.count
        }
        compressed.removeAll(keepingCapacity: true)
        // The level the scrape server uses unless configured otherwise.
        compressed = (try? GzipEncoder.compress(output, level: GzipEncoder.defaultLevel)) ?? []
        compressedBytes = compressed.count
        return compressed.count
    }
}
