import Exposition
import NIOCore

/// Produces the body of one scrape: takes a snapshot, adds the server's own metrics, renders it
/// and compresses it. Runs on a thread pool, never on an event loop.
struct ScrapeRenderer: Sendable {
    /// Families are compressed once this many rendered bytes have gathered, so a gzip scrape
    /// holds one chunk of uncompressed text at a time rather than all of it.
    static let compressionChunkBytes = 256 * 1024

    let snapshot: @Sendable (ExpositionFormat) -> MetricSnapshot
    let selfMetrics: ScrapeSelfMetrics
    let gzipLevel: Int32

    /// A rendered body and the coding it is in (identity if gzip could not be set up).
    struct Result: Sendable {
        var body: ByteBuffer
        var coding: ContentCoding
    }

    func render(format: ExpositionFormat, coding: ContentCoding, recordsScrape: Bool) -> Result {
        let start = ContinuousClock.now
        var snapshot = snapshot(format)
        let ownNames = selfMetrics.familyNames
        if !snapshot.families.contains(where: { ownNames.contains($0.name) }) {
            snapshot.families.append(contentsOf: selfMetrics.families())
        }
        var bytes: [UInt8] = []
        var usedCoding = ContentCoding.identity
        if coding == .gzip, var encoder = try? GzipEncoder(level: gzipLevel) {
            var chunk: [UInt8] = []
            chunk.reserveCapacity(Self.compressionChunkBytes + Self.compressionChunkBytes / 4)
            for family in snapshot.families {
                format.write(family, into: &chunk)
                if chunk.count >= Self.compressionChunkBytes {
                    encoder.compress(chunk, into: &bytes)
                    chunk.removeAll(keepingCapacity: true)
                }
            }
            format.writeEnd(into: &chunk)
            encoder.compress(chunk, into: &bytes)
            encoder.finish(into: &bytes)
            usedCoding = .gzip
        } else {
            format.write(snapshot, into: &bytes)
        }
        let body = ByteBuffer(bytes: bytes)
        if recordsScrape {
            selfMetrics.recordScrape(
                format: format, coding: usedCoding, duration: ContinuousClock.now - start, bodyBytes: bytes.count)
        }
        return Result(body: body, coding: usedCoding)
    }
}
