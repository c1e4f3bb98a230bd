import AccessLogParser
import Aggregation
import Corpus
import Exposition

/// The whole per-line path of `logmetrics`: decoder into a shard with the default metric
/// families, chunk by chunk under the shard's lock, as the tool's ingest loop does it.
public final class PipelineWorkload {
    public let buffer: CorpusBuffer
    public let chunkSize: Int
    public let pipeline: Pipeline
    let shard: Shard
    let decoder: AccessLogDecoder
    let input: Int
    private var bytesRead: UInt64 = 0

    /// - Parameter rules: route rules (see ``RouteRules``); none, by default, leaves the route to
    ///   Envoy's `route_name`.
    /// - Parameter enrichment: with a lookup, the families carry labels from it (see
    ///   ``SyntheticPods/families()``), and the input is a gateway's pod log.
    /// - Parameter limits: the cardinality caps (the defaults keep a family to 10 000 series).
    public init(
        _ buffer: CorpusBuffer, chunkSize: Int = 256 * 1024, rules: [RouteRule] = [],
        enrichment: (any MetadataLookup)? = nil, limits: Limits = Limits()
    ) throws {
        self.buffer = buffer
        self.chunkSize = chunkSize
        let schema = try MetricsSchema(
            families: enrichment == nil ? MetricsSchema.defaultFamilies() : SyntheticPods.families(),
            limits: limits, classification: Classification(rules: rules))
        pipeline = Pipeline(schema: schema, shards: 1, enrichment: enrichment)
        shard = pipeline.shards[0]
        decoder = AccessLogDecoder(configuration: ParserConfiguration(wantedFields: schema.wantedFields))
        let labels = enrichment == nil ? [:] : ["namespace": "istio-system", "pod": "istio-ingressgateway-1"]
        input = shard.withRecorder { $0.addInput(labels: labels) }
    }

    /// The fields the default metric families read; the parser skips the others.
    public static func metricFields() throws -> FieldSet {
        try MetricsSchema(families: MetricsSchema.defaultFamilies()).wantedFields
    }

    /// Feeds the bytes of lines `first..<(first + count)` in chunks of at most ``chunkSize``.
    @inline(never)
    public func feed(first: Int, count: Int) {
        feed(buffer.lines(first, count: count))
    }

    /// Feeds the whole corpus.
    public func feedAll() {
        feed(buffer.bytes)
    }

    /// Each chunk is recorded as the tool's `Ingest` records it: under the shard's lock, with
    /// the shard's clock and the input's line counts brought up to date.
    private func feed(_ bytes: UnsafeBufferPointer<UInt8>) {
        var offset = 0
        while offset < bytes.count {
            let end = min(offset + chunkSize, bytes.count)
            let chunk = UnsafeBufferPointer(rebasing: bytes[offset..<end])
            bytesRead &+= UInt64(chunk.count)
            let decoder = decoder
            let input = input
            let bytesRead = bytesRead
            shard.withRecorder { state in
                state.currentInput = input
                state.updateClock()
                decoder.feed(chunk, into: &state)
                state.updateInput(lines: decoder.counts, bytes: bytesRead)
            }
            offset = end
        }
    }

    public func snapshot(includeExemplars: Bool = false, includeNative: Bool = true) -> MetricSnapshot {
        pipeline.snapshot(now: 0, includeExemplars: includeExemplars, includeNative: includeNative)
    }

    /// Runs the corpus through a fresh pipeline and compares the request counter with the
    /// corpus's expected counts, per (route, response_code, response_flags), exactly (when the
    /// corpus was generated here).
    public static func verify(_ buffer: CorpusBuffer) throws -> String? {
        let workload = try PipelineWorkload(buffer)
        workload.feedAll()
        guard let expected = buffer.expected else { return nil }
        return check(workload.snapshot(), against: expected)
    }

    /// The differences between a snapshot's request counter and the expected counts.
    public static func check(_ snapshot: MetricSnapshot, against expected: ExpectedCounts) -> String? {
        guard let family = snapshot.families.first(where: { $0.name == "logmetrics_http_requests" }),
            case .integers(let values) = family.values
        else { return "pipeline: no logmetrics_http_requests family" }
        var reported: [ExpectedCounts.Key: Int] = [:]
        for (k, labels) in family.labels.enumerated() {
            let key = ExpectedCounts.Key(
                route: labels["route"] ?? "", responseCode: Int(labels["response_code"] ?? "") ?? -1,
                responseFlags: labels["response_flags"] ?? "")
            reported[key, default: 0] += Int(values[k])
        }
        var wanted: [ExpectedCounts.Key: Int] = [:]
        for (key, count) in expected.requests {
            let label = ExpectedCounts.Key(
                route: key.route, responseCode: key.responseCode, responseFlags: key.canonicalFlags)
            wanted[label, default: 0] += count
        }
        let wrong = Set(wanted.keys).union(reported.keys).filter { wanted[$0] != reported[$0] }.sorted()
        guard let first = wrong.first else { return nil }
        return "pipeline: \(wrong.count) groups differ, first \(first): expected \(wanted[first] ?? 0), "
            + "counted \(reported[first] ?? 0)"
    }
}
