import AccessLogParser
import Aggregation
import Exposition
import Synchronization
import Testing

@testable import ScrapeServer

/// A scrape whose families are read piece by piece renders the same bytes as one whose values
/// were copied whole, in every format and coding.
@Suite struct DeferredRenderingTests {
    final class Clock: Sendable {
        let seconds = Mutex<Double>(1000)
        func advance(_ by: Double) { seconds.withLock { $0 += by } }
        func read() -> Double { seconds.withLock { $0 } }
    }

    static func line(route: Int, code: Int, duration: Int, request: Int) -> String {
        """
        {"duration":\(duration),"method":"GET","path":"/r/\(route)","protocol":"HTTP/1.1","response_code":\(code),\
        "response_flags":"\(code == 503 ? "UF" : "-")","route_name":"route-\(route)",\
        "upstream_cluster":"outbound|80||shop.default.svc.cluster.local","request_id":"req-\(request)"}
        """
    }

    static func feed(_ shard: Shard, _ parser: ParserConfiguration, _ lines: [String]) {
        let decoder = AccessLogDecoder(configuration: parser)
        let bytes = Array((lines.joined(separator: "\n") + "\n").utf8)
        shard.withRecorder { state in
            if state.inputs.isEmpty { _ = state.addInput(labels: [:]) }
            state.currentInput = 0
            state.updateClock()
            bytes.withUnsafeBufferPointer { decoder.feed($0, into: &state) }
        }
    }

    /// 1 500 routes over two shards, the first 500 then left idle until they expire: the
    /// snapshot has identifiers that are not series any more, to leave out.
    static func pipeline(_ clock: Clock) throws -> (Pipeline, ParserConfiguration) {
        let schema = try MetricsSchema(
            families: MetricsSchema.defaultFamilies(),
            limits: Limits(maxSeriesPerFamily: 100_000, defaultMaxValuesPerLabel: 100_000))
        let pipeline = Pipeline(schema: schema, shards: 2, monotonic: { clock.read() })
        let parser = ParserConfiguration(wantedFields: schema.wantedFields)
        var request = 0
        func lines(_ routes: Range<Int>) -> [String] {
            routes.flatMap { route in
                (0..<3).map { k -> String in
                    request += 1
                    return line(
                        route: route, code: [200, 404, 503][(route + k) % 3], duration: (route * 7 + k * 131) % 2000,
                        request: request)
                }
            }
        }
        feed(pipeline.shards[0], parser, lines(0..<1_000))
        feed(pipeline.shards[1], parser, lines(400..<1_500))
        clock.advance(700)
        feed(pipeline.shards[1], parser, lines(500..<1_500))
        #expect(pipeline.expireIdleSeries(idleSeconds: 600) > 0)
        return (pipeline, parser)
    }

    static func render(_ snapshot: MetricSnapshot, _ format: ExpositionFormat, _ coding: ContentCoding) throws
        -> [UInt8]
    {
        let renderer = ScrapeRenderer(
            snapshot: { _ in snapshot }, selfMetrics: ScrapeSelfMetrics(namespace: "logmetrics"), gzipLevel: 1)
        let bytes = renderer.render(format: format, coding: coding, recordsScrape: false).body.bytes
        return coding == .gzip ? try Inflate.gunzip(bytes) : bytes
    }

    @Test(arguments: ExpositionFormat.allCases)
    func aDeferredSnapshotRendersAsTheWholeOne(format: ExpositionFormat) throws {
        let clock = Clock()
        let (pipeline, _) = try Self.pipeline(clock)
        let options = (created: format != .text, exemplars: format != .text)
        let whole = pipeline.snapshot(
            now: 1, includeCreated: options.created, includeExemplars: options.exemplars, includeNative: false)
        let deferred = pipeline.snapshot(
            now: 1, includeCreated: options.created, includeExemplars: options.exemplars, includeNative: false,
            deferring: true)
        #expect(deferred.families.contains { $0.deferred != nil && $0.deferred!.seriesCount == 1_000 })
        for coding in [ContentCoding.identity, .gzip] {
            let expected = try Self.render(whole, format, coding)
            #expect(expected.count > 2 * ScrapeRenderer.chunkBytes)
            #expect(try Self.render(deferred, format, coding) == expected, "\(format.name), \(coding)")
        }
    }

    /// Routes that expire after the snapshot was taken, and new ones that take their identifiers,
    /// are not written with each other's counts: the expired are left out, the new wait for the
    /// next scrape.
    @Test func seriesGoneBetweenTheSnapshotAndItsPiecesAreLeftOut() throws {
        let clock = Clock()
        let (pipeline, parser) = try Self.pipeline(clock)
        let deferred = pipeline.snapshot(now: 1, includeNative: false, deferring: true)
        clock.advance(700)
        Self.feed(
            pipeline.shards[0], parser,
            (1_000..<1_100).map { Self.line(route: $0, code: 200, duration: 5, request: $0) })
        Self.feed(
            pipeline.shards[0], parser,
            (1_000..<1_500).map { Self.line(route: $0, code: 200, duration: 5, request: $0) })
        #expect(pipeline.expireIdleSeries(idleSeconds: 600) > 0)
        Self.feed(
            pipeline.shards[1], parser,
            (2_000..<2_300).map { Self.line(route: $0, code: 200, duration: 5, request: $0) })
        let text = String(decoding: try Self.render(deferred, .text, .identity), as: UTF8.self)
        let requestLines = text.split(separator: "\n").filter { $0.hasPrefix("logmetrics_http_requests_total{") }
        // Routes 500..<1 000 expired after the snapshot; 1 000..<1 500 are still there, with
        // their counts of then or later; 2 000 and up came after it.
        #expect(!requestLines.isEmpty)
        for line in requestLines {
            let route = Int(line.split(separator: "route=\"route-")[1].prefix { $0.isNumber })!
            #expect((1_000..<1_500).contains(route), "\(line)")
        }
    }
}
