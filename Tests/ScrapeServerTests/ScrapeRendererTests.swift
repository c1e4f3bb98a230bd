import Exposition
import Histograms
import NIOCore
import Testing

@testable import ScrapeServer

/// The renderer hands a body on in chunks, gzip or not: what arrives must be the snapshot as the
/// writers write it whole.
@Suite struct ScrapeRendererTests {
    /// 4 000 routes: a counter with created times and an exemplar per series, and a 5-bound
    /// histogram with an exemplar on every third bucket. Some megabytes of text.
    static func snapshot() -> MetricSnapshot {
        let routes = 4_000
        let labels = (0..<routes).map {
            LabelSet(["route": "/api/items/\($0)", "method": $0 % 2 == 0 ? "GET" : "PUT"])
        }
        let bounds = BucketBounds([0.005, 0.05, 0.5, 5, 50])
        let width = 6
        func exemplar(_ k: Int) -> Exemplar {
            Exemplar(
                labels: LabelSet(["trace_id": "4bf92f3577b34da6a3ce929d0e0e\(1000 + k % 9000)"]), value: 0.25,
                timestamp: 1_700_000_000 + Double(k))
        }
        let requests = MetricFamilySnapshot(
            name: "logmetrics_http_requests", help: "Requests.", type: .counter, labels: labels,
            values: .integers((0..<routes).map { UInt64($0 * 3) }),
            created: (0..<routes).map { 1_700_000_000 + Double($0) },
            exemplars: ExemplarColumn((0..<routes).map { $0 % 4 == 0 ? exemplar($0) : nil }))
        let duration = MetricFamilySnapshot(
            name: "logmetrics_http_request_duration_seconds", help: "Duration.", type: .histogram, unit: "seconds",
            labels: labels,
            values: .histograms(
                HistogramColumns(
                    bounds: bounds, bucketCounts: (0..<(routes * width)).map { UInt64($0 % 7) },
                    scaledSums: (0..<routes).map { Int64($0 * 11) }, sumExponent: -3)),
            created: (0..<routes).map { 1_700_000_000 + Double($0) },
            exemplars: ExemplarColumn((0..<(routes * width)).map { $0 % 3 == 0 ? exemplar($0) : nil }))
        return MetricSnapshot(families: [requests, duration], timestamp: 1_700_000_500)
    }

    @Test(arguments: ExpositionFormat.allCases)
    func aBodyOfManyChunksIsTheSnapshotWrittenWhole(format: ExpositionFormat) throws {
        let snapshot = Self.snapshot()
        let selfMetrics = ScrapeSelfMetrics(namespace: "logmetrics")
        let renderer = ScrapeRenderer(snapshot: { _ in snapshot }, selfMetrics: selfMetrics, gzipLevel: 1)
        var expected: [UInt8] = []
        format.write(MetricSnapshot(families: snapshot.families + selfMetrics.families()), into: &expected)
        #expect(expected.count > 4 * ScrapeRenderer.chunkBytes)
        for coding in [ContentCoding.identity, .gzip] {
            let result = renderer.render(format: format, coding: coding, recordsScrape: false)
            #expect(result.coding == coding)
            let bytes = result.body.bytes
            let body = coding == .gzip ? try Inflate.gunzip(bytes) : bytes
            #expect(body == expected, "\(format.name), \(coding)")
        }
    }

    /// Pieces of every size fill chunks of the chunk size one after another, each handed on when
    /// full, and together they are what was written.
    @Test func aBodyIsHandedOnInChunksOfTheChunkSize() {
        var chunker = BodyChunker()
        var chunks: [ByteBuffer] = []
        var written: [UInt8] = []
        var generator = SystemRandomNumberGenerator()
        for round in 0..<400 {
            let size = round % 50 == 0 ? ScrapeRenderer.chunkBytes + 17 : Int.random(in: 0..<9_000, using: &generator)
            let piece = (0..<size).map { UInt8(truncatingIfNeeded: $0 &+ round) }
            chunker.write(piece) { chunks.append($0) }
            written += piece
        }
        chunker.finish { chunks.append($0) }
        #expect(chunker.total == written.count)
        #expect(chunks.flatMap { Array($0.readableBytesView) } == written)
        #expect(chunks.allSatisfy { $0.capacity == ScrapeRenderer.chunkBytes })
        #expect(chunks.dropLast().allSatisfy { $0.readableBytes == ScrapeRenderer.chunkBytes })
    }
}
