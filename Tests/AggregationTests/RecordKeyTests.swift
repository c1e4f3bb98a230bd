import AccessLogParser
import Exposition
import Testing

@testable import Aggregation

/// A record is found by the raw bytes of the fields its labels come from; every series and value
/// must be the same as when each record is resolved label by label.
@Suite struct RecordKeyTests {
    /// Lines that vary every field a label reads, in the spellings Envoy and Istio write: escapes,
    /// nulls, `-`, numbers as strings, ignored and over-long route names, gRPC, TCP.
    static func lines(count: Int, seed: UInt64, distinctRoutes: Bool = false) -> [String] {
        var rng = SplitMix(seed: seed)
        let routeNames = [
            "\"users_item\"", "\"default\"", "null", "\"-\"", "\"us\\u0065rs_item\"", "\"checkout\"",
            "\"" + String(repeating: "r", count: 300) + "\"", "\"static\"",
        ]
        let methods = ["\"GET\"", "\"POST\"", "\"DELETE\"", "\"-\"", "null"]
        let paths = [
            "/users/42", "/users/7f3c2a9e-1b2c-4d5e-8f90-123456789abc", "/users/42/orders", "/static/app.css",
            "/v2/things?x=1", "/v1/models/llama/infer", "/v1/models/mistral/infer", "/a\\/b", "/", "/nope",
        ]
        let codes = ["200", "503", "0", "404", "\"200\"", "\"503\"", "\"x\"", "null", "201"]
        let flags = ["\"-\"", "\"UF,URX\"", "\"URX,UF\"", "\"NR\"", "\"DC\"", "\"UH\"", "null"]
        let clusters = [
            "\"outbound|8080||users.shop.svc.cluster.local\"", "\"outbound|8080|v1|users.shop.svc.cluster.local;\"",
            "\"inbound|8080||\"", "\"PassthroughCluster\"", "\"BlackHoleCluster\"", "null",
            "\"outbound|443||api.example.com\"", "\"InboundPassthroughClusterIpv4\"",
        ]
        let grpc = [nil, "\"OK\"", "\"14\"", "\"Unavailable\"", "\"NotFound\"", "\"-\"", "\"bogus\""]
        let protocols = ["\"HTTP/1.1\"", "\"HTTP/2\"", "\"-\"", "null"]
        let authorities = ["\"shop.example.com\"", "\"api.shop.example.com\"", "null", "\"users.shop:8080\""]
        let sni = ["null", "\"outbound_.8080_._.users.shop.svc.cluster.local\"", "\"-\""]
        let agents = ["\"curl/8.5\"", "\"tier-\\\"gold\\\"\"", "null", "\"Go-http-client/2.0\""]
        func pick(_ values: [String]) -> String { values[Int(rng.next() % UInt64(values.count))] }
        return (0..<count).map { n in
            let route = distinctRoutes ? "\"route-\(n % 1500)\"" : pick(routeNames)
            let duration = Int(rng.next() % 2000)
            let durationValue = rng.next() % 4 == 0 ? "\"\(duration)\"" : "\(duration)"
            var fields = [
                "\"method\":\(pick(methods))", "\"path\":\"\(pick(paths))\"", "\"protocol\":\(pick(protocols))",
                "\"response_code\":\(pick(codes))", "\"response_flags\":\(pick(flags))", "\"route_name\":\(route)",
                "\"upstream_cluster\":\(pick(clusters))", "\"authority\":\(pick(authorities))",
                "\"requested_server_name\":\(pick(sni))", "\"user_agent\":\(pick(agents))",
                "\"duration\":\(durationValue)", "\"bytes_received\":\(rng.next() % 5000)",
                "\"bytes_sent\":\(rng.next() % 90000)", "\"upstream_service_time\":\"\(duration / 2)\"",
                "\"upstream_host\":\"10.0.\(rng.next() % 3).\(rng.next() % 4):8080\"",
            ]
            if let status = grpc[Int(rng.next() % UInt64(grpc.count))] { fields.append("\"grpc_status\":\(status)") }
            // The order of keys is the writer's: the key must not depend on it.
            for i in stride(from: fields.count - 1, to: 0, by: -1) {
                fields.swapAt(i, Int(rng.next() % UInt64(i + 1)))
            }
            return "{" + fields.joined(separator: ",") + "}"
        }
    }

    static func render(_ harness: Harness) -> [String] {
        var out: [UInt8] = []
        TextFormatWriter.write(harness.snapshot(), into: &out)
        return String(decoding: out, as: UTF8.self).split(separator: "\n").map(String.init).sorted()
    }

    /// Feeds the same lines, in chunks from several inputs, to a shard that keys records by their
    /// raw fields and to one that does not, and compares every sample.
    static func expectSameSeries(
        families: [FamilyDefinition], limits: Limits = Limits(), classification: Classification = Classification(),
        lines: [String], sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let keyed = Harness(families: families, limits: limits, classification: classification)
        let labelled = Harness(families: families, limits: limits, classification: classification)
        labelled.shards[0].withRecorder { $0.findsRecordsByRawKey = false }
        let inputs: [[String: String]] = [
            ["namespace": "shop", "workload": "users"], ["namespace": "shop", "workload": "orders"],
            ["namespace": "edge", "workload": "gateway"],
        ]
        let chunk = 250
        for (k, start) in stride(from: 0, to: lines.count, by: chunk).enumerated() {
            let part = Array(lines[start..<min(lines.count, start + chunk)])
            keyed.feed(part, labels: inputs[k % inputs.count])
            labelled.feed(part, labels: inputs[k % inputs.count])
        }
        let expected = render(labelled)
        let actual = render(keyed)
        #expect(
            actual.count == expected.count, "\(actual.count) samples, \(expected.count) expected",
            sourceLocation: sourceLocation)
        for (a, e) in zip(actual, expected) where a != e {
            Issue.record("\(a)\nexpected\n\(e)", sourceLocation: sourceLocation)
            return
        }
    }

    static let sourceLabels: [FamilyDefinition.Label] = [.init("namespace", .input("namespace"))]

    @Test func defaultFamiliesAgree() {
        Self.expectSameSeries(
            families: MetricsSchema.defaultFamilies(sourceLabels: Self.sourceLabels),
            lines: Self.lines(count: 4000, seed: 1))
    }

    @Test func rulesAndPerRouteThresholdsAgree() throws {
        let rules: [RouteRule] = [
            RouteRule(name: "users-item", methods: ["GET", "PUT", "DELETE"], path: .template("/users/{id}")),
            RouteRule(name: "user-orders", path: .template("/users/{id}/orders")),
            RouteRule(name: "static", path: .prefix("/static/")),
            RouteRule(name: "v2-api", path: .regex("^/v2/"), authority: "*.shop.example.com"),
            RouteRule(name: "by-name", routeName: "checkout"),
        ]
        let classification = Classification(
            rules: rules, slowThresholdMilliseconds: 1000, slowThresholdsByRoute: ["static": 100, "by-name": 300])
        Self.expectSameSeries(
            families: MetricsSchema.defaultFamilies(sourceLabels: Self.sourceLabels, slowThresholds: [100, 300, 1000]),
            classification: classification, lines: Self.lines(count: 4000, seed: 2))
    }

    @Test func perRouteThresholdsByRouteNameAgree() {
        let classification = Classification(slowThresholdsByRoute: ["users_item": 200, "checkout": 50])
        Self.expectSameSeries(
            families: MetricsSchema.defaultFamilies(slowThresholds: [50, 200, 1000]), classification: classification,
            lines: Self.lines(count: 3000, seed: 3))
    }

    @Test func istioFamiliesWithExtractedLabelsAgree() {
        let extra: [FamilyDefinition.Label] = [
            .init("model", .pathSegment(3)), .init("tier", .field(.userAgent)),
            .init("api", .fieldPattern(.path, "^/(v[0-9]+)/")),
        ]
        Self.expectSameSeries(
            families: MetricsSchema.istioFamilies(extraLabels: extra), lines: Self.lines(count: 2000, seed: 4))
    }

    @Test func withoutRouteNamesOrTemplatesAgree() {
        let classification = Classification(useRouteName: false, pathTemplate: nil, grpcStatusDecidesErrorType: false)
        Self.expectSameSeries(
            families: MetricsSchema.defaultFamilies(), classification: classification,
            lines: Self.lines(count: 3000, seed: 5))
    }

    /// Past its bound the table of raw keys starts over; series caps and value caps send the rest
    /// to `__overflow__` alike on both paths, and no count is lost.
    @Test func capsAndStartingOverAgree() {
        let limits = Limits(maxSeriesPerFamily: 40, maxValuesPerLabel: ["route": 25])
        let lines = Self.lines(count: 6000, seed: 6, distinctRoutes: true)
        #expect(ShardState.recordKeyLimit(maxSeriesPerFamily: 40) < 1500, "the keys start over in this test")
        Self.expectSameSeries(
            families: MetricsSchema.defaultFamilies(sourceLabels: Self.sourceLabels), limits: limits, lines: lines)
        let harness = Harness(limits: limits)
        harness.feed(lines)
        let snapshot = harness.snapshot()
        #expect(
            snapshot.sum("logmetrics_http_requests") + snapshot.sum("logmetrics_tcp_connections")
                == snapshot.sum("logmetrics_lines", where: ["result": "parsed"]))
    }
}

/// A small deterministic generator, so that a failure can be replayed.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
