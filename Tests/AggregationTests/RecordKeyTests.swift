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

    /// Istio TEXT lines, each with a JSON twin holding the same values, backslash sequences and
    /// all: literal in TEXT, escapes in JSON.
    static func textLines(count: Int, seed: UInt64) -> [(text: String, json: String)] {
        var rng = SplitMix(seed: seed)
        let routes = [#"us\u0065rs_item"#, "users_item", "default", "checkout", #"a\\b"#]
        let agents = [#"curl\u0020x"#, "curl x"]
        let flags = ["-", "UF,URX", "NR"]
        let methods = ["GET", "POST"]
        func pick(_ values: [String]) -> String { values[Int(rng.next() % UInt64(values.count))] }
        return (0..<count).map { _ in
            let (method, flag, agent, route) = (pick(methods), pick(flags), pick(agents), pick(routes))
            let duration = rng.next() % 2000
            let sent = rng.next() % 9000
            let cluster = "outbound|8080||users.shop.svc.cluster.local"
            let text =
                #"[2026-11-20T10:00:00.123Z] "\#(method) /users/42 HTTP/1.1" 200 \#(flag) - - "-" 0 "#
                + #"\#(sent) \#(duration) \#(duration / 2) "-" "\#(agent)" "id" "shop.example.com" "#
                + #""10.0.0.1:8080" \#(cluster) - 10.96.0.1:8080 10.244.1.3:36360 - \#(route)"#
            let json =
                #"{"method":"\#(method)","path":"/users/42","protocol":"HTTP/1.1","response_code":200,"#
                + #""response_flags":"\#(flag)","bytes_received":0,"bytes_sent":\#(sent),"duration":\#(duration),"#
                + #""upstream_service_time":"\#(duration / 2)","user_agent":"\#(agent)","request_id":"id","#
                + #""authority":"shop.example.com","upstream_host":"10.0.0.1:8080","upstream_cluster":"\#(cluster)","#
                + #""route_name":"\#(route)"}"#
            return (text, json)
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

    /// `us\u0065rs_item` is `users_item` in a JSON line and itself in a TEXT line.
    @Test func textAndJSONLinesInOneInputAgree() {
        let lines = Self.textLines(count: 1500, seed: 8).flatMap { [$0.text, $0.json] }
        let families =
            MetricsSchema.defaultFamilies() + [
                FamilyDefinition(
                    name: "agents", help: "By user agent.", type: .counter, observation: .requests,
                    labels: [.init("route", .route), .init("agent", .field(.userAgent))])
            ]
        Self.expectSameSeries(families: families, lines: lines)
    }

    /// Keys near their capacity, where the last bytes or integers no longer fit and the record is
    /// resolved label by label.
    @Test func longFieldsNearTheKeyCapacityAgree() {
        var lines: [String] = []
        for length in stride(from: 880, through: 1020, by: 1) {
            let authority = String(repeating: "h", count: length)
            let agent = String(repeating: "a", count: length + 8)
            let route = String(repeating: "r", count: 240 + length % 20)
            lines.append(
                #"{"method":"GET","path":"/x","protocol":"HTTP/1.1","response_code":\#(200 + length % 3),"#
                    + #""route_name":"\#(route)","authority":"\#(authority)","user_agent":"\#(agent)","#
                    + #""upstream_cluster":"outbound|80||x.ns.svc.cluster.local","duration":\#(length)}"#)
        }
        let families =
            MetricsSchema.defaultFamilies() + [
                FamilyDefinition(
                    name: "agents", help: "By user agent and code.", type: .counter, observation: .requests,
                    labels: [.init("agent", .field(.userAgent)), .init("code", .responseCode)])
            ]
        Self.expectSameSeries(families: families, lines: lines + lines)
    }

    /// A label from a path full of identifiers makes nearly every key new: keys are set aside
    /// for a while, then tried again, and the counts stay the same throughout.
    @Test func mostlyNewKeysAreSetAsideForAWhile() {
        let families = [
            FamilyDefinition(
                name: "by_user", help: "By user.", type: .counter, observation: .requests,
                labels: [.init("route", .route), .init("user", .pathSegment(2))])
        ]
        let limits = Limits(maxSeriesPerFamily: 100)
        let keyed = Harness(families: families, limits: limits)
        let labelled = Harness(families: families, limits: limits)
        labelled.shards[0].withRecorder { $0.findsRecordsByRawKey = false }
        keyed.shards[0].withRecorder { state in
            state.recordCaches[0].keyWindow = 200
            state.recordCaches[0].keyBypass = 1000
        }
        let distinct = (0..<1000).map { line(path: "/users/\($0)") }
        let repeated = (0..<1000).map { line(path: "/users/\($0 % 7)") }
        for harness in [keyed, labelled] { harness.feed(distinct) }
        #expect(keyed.shards[0].withRecorder { $0.recordCaches[0].keysBypassed } > 0)
        for harness in [keyed, labelled] { harness.feed(repeated) }
        keyed.shards[0].withRecorder { state in
            #expect(state.recordCaches[0].keysBypassed == 0)
            #expect(state.recordCaches[0].keyLookups > 0, "keys are tried again")
        }
        #expect(Self.render(keyed) == Self.render(labelled))
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
