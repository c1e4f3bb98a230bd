import AccessLogParser
import Exposition
import Testing

@testable import Aggregation

@Suite struct ShardTests {
    @Test func countsRequestsByTheirLabels() {
        let harness = Harness()
        harness.feed([
            line(), line(), line(code: 503, flags: "URX,UF"), line(code: 503, flags: "UF,URX"),
            line(route: nil, path: "/nope?x=1", code: 404, flags: "NR", cluster: nil),
            line(code: 0, flags: "DC", duration: 1500),
        ])
        let snapshot = harness.snapshot()
        let requests = "logmetrics_http_requests"
        #expect(snapshot.sum(requests) == 6)
        #expect(
            snapshot.sum(requests, where: ["route": "users_item", "response_code": "200", "error_type": "none"]) == 2)
        #expect(snapshot.sum(requests, where: ["response_flags": "UF,URX", "error_type": "server_error"]) == 2)
        #expect(snapshot.values(requests).keys.filter { $0["response_flags"] == "UF,URX" }.count == 1)
        #expect(
            snapshot.sum(requests, where: ["route": "/nope", "response_flags": "NR", "destination_service": "unknown"])
                == 1)
        #expect(
            snapshot.sum(requests, where: ["response_code": "0", "slow_request": "true", "error_type": "none"]) == 1)
        #expect(snapshot.sum("logmetrics_http_response_flags", where: ["flag": "UF"]) == 2)
        #expect(snapshot.sum("logmetrics_http_response_flags", where: ["flag": "URX"]) == 2)
        #expect(snapshot.sum("logmetrics_http_response_flags") == 6)
        #expect(snapshot.sum("logmetrics_lines", where: ["result": "parsed"]) == 6)
    }

    @Test func histogramsAreCumulativeAndConsistent() throws {
        let harness = Harness()
        harness.feed((0..<100).map { line(duration: $0 * 30) })
        let snapshot = harness.snapshot()
        let family = try #require(snapshot.family("logmetrics_http_request_duration_seconds"))
        guard case .histograms(let columns) = family.values else {
            Issue.record("not a histogram")
            return
        }
        #expect(family.labels.count == 1)
        #expect(columns.count(0) == 100)
        #expect(columns.sumExponent == -3)
        #expect(columns.scaledSums[0] == Int64((0..<100).map { $0 * 30 }.reduce(0, +)))
        // 1 s is an exact boundary: durations of exactly 1000 ms are not slow and fall at or below it.
        let oneSecond = try #require(columns.bounds.values.firstIndex(of: 1))
        let atOrBelow = columns.bucketCounts[0...oneSecond].reduce(0, +)
        #expect(atOrBelow == UInt64((0..<100).filter { $0 * 30 <= 1000 }.count))
        #expect(
            snapshot.sum("logmetrics_http_requests", where: ["slow_request": "true"])
                == UInt64((0..<100).filter { $0 * 30 > 1000 }.count))
    }

    @Test func tcpRecordsCountAsConnections() {
        let harness = Harness()
        let tcp = """
            {"bytes_sent":"759108","upstream_cluster":"InboundPassthroughClusterIpv4","protocol":"-","duration":"288127",\
            "route_name":"-","response_code":"0","response_flags":"-","method":"-","bytes_received":"5120"}
            """
        harness.feed([tcp, tcp, line()])
        let snapshot = harness.snapshot()
        #expect(snapshot.sum("logmetrics_http_requests") == 1)
        #expect(
            snapshot.sum("logmetrics_tcp_connections", where: ["destination_service": "InboundPassthroughClusterIpv4"])
                == 2)
        #expect(snapshot.sum("logmetrics_tcp_sent_bytes") == 2 * 759_108)
        #expect(snapshot.sum("logmetrics_tcp_received_bytes") == 2 * 5120)
    }

    @Test func seriesCapSendsTheRestToOverflow() {
        let harness = Harness(limits: Limits(maxSeriesPerFamily: 10))
        // Not identifiers, so the path template keeps them apart.
        harness.feed((0..<500).map { line(route: nil, path: "/page\($0)") })
        let snapshot = harness.snapshot()
        let requests = snapshot.values("logmetrics_http_requests")
        #expect(requests.count <= 11)
        #expect(requests.values.reduce(0, +) == 500, "no count is lost")
        #expect(snapshot.sum("logmetrics_http_requests", where: ["route": "__overflow__"]) == 490)
        #expect(snapshot.sum("logmetrics_series_dropped", where: ["family": "logmetrics_http_requests"]) > 0)
    }

    @Test func labelValueCapSendsTheRestToOverflow() {
        let harness = Harness(limits: Limits(maxValuesPerLabel: ["route": 5]))
        harness.feed((0..<50).map { line(route: "r\($0 % 25)") })
        let snapshot = harness.snapshot()
        let routes = Set(snapshot.values("logmetrics_http_requests").keys.compactMap { $0["route"] })
        #expect(routes.count == 6)
        #expect(routes.contains("__overflow__"))
        #expect(snapshot.sum("logmetrics_http_requests") == 50)
        #expect(snapshot.sum("logmetrics_label_values_dropped", where: ["label": "route"]) > 0)
    }

    @Test func shardsMergeIntoTheSameTotals() {
        let lines = (0..<300).map { k in line(route: "r\(k % 7)", code: [200, 404, 503][k % 3], duration: k) }
        let one = Harness()
        one.feed(lines)
        let two = Harness(shards: 2)
        two.feed(Array(lines[..<150]), shard: 0)
        two.feed(Array(lines[150...]), shard: 1)
        let a = one.snapshot()
        let b = two.snapshot()
        #expect(a.values("logmetrics_http_requests") == b.values("logmetrics_http_requests"))
        #expect(a.values("logmetrics_http_response_flags") == b.values("logmetrics_http_response_flags"))
        #expect(a.sum("logmetrics_lines", where: ["result": "parsed"]) == 300)
        #expect(b.sum("logmetrics_lines", where: ["result": "parsed"]) == 300)
    }

    @Test func hostileValuesStayInsideTheirLabel() throws {
        let harness = Harness()
        harness.feed([
            line(route: nil, path: #"/a\"} 1e9\nfake_metric 1"#),
            line(route: "bad\\u0000x\\ud800"),
        ])
        var out: [UInt8] = []
        TextFormatWriter.write(harness.snapshot(), into: &out)
        let text = String(decoding: out, as: UTF8.self)
        #expect(!text.contains("\nfake_metric"))
        #expect(text.contains(#"route="/a\"} 1e9\nfake_metric 1""#))
        #expect(text.contains("route=\"bad\u{FFFD}x\u{FFFD}\""))
    }

    /// Raw bytes that are not UTF-8 (as a proxy writes a header it did not validate) and Envoy's
    /// octal escapes reach no output format: each becomes U+FFFD inside its own label.
    @Test func invalidUTF8InTheLogIsReplacedInEveryTextFormat() throws {
        let harness = Harness()
        let line =
            Array(#"{"method":"GET","path":"/x","protocol":"HTTP/1.1","response_code":200,"route_name":"a"#.utf8)
            + [0xFF, 0xFE, 0x22] + Array(#","duration":1}"#.utf8) + [0x0A]
            + Array(
                #"{"method":"GET","path":"/y","protocol":"HTTP/1.1","response_code":200,"route_name":"b\377c","duration":1}"#
                    .utf8)
            + [0x0A]
        let decoder = AccessLogDecoder(configuration: harness.configuration)
        harness.shards[0].withRecorder { state in
            state.currentInput = state.addInput(labels: [:])
            line.withUnsafeBufferPointer { decoder.feed($0, into: &state) }
            decoder.finish(into: &state)
            state.updateInput(lines: decoder.counts, bytes: UInt64(line.count))
        }
        #expect(harness.snapshot().sum("logmetrics_http_requests") == 2)
        for openMetrics in [false, true] {
            var out: [UInt8] = []
            let snapshot = SnapshotBuilder.snapshot(
                registry: harness.registry, shards: harness.shards, includeExemplars: openMetrics)
            if openMetrics {
                OpenMetricsFormatWriter.write(snapshot, into: &out)
            } else {
                TextFormatWriter.write(snapshot, into: &out)
            }
            let text = try #require(String(validating: out, as: UTF8.self), "output is valid UTF-8")
            #expect(text.contains("route=\"a\u{FFFD}\u{FFFD}\""))
            #expect(text.contains("route=\"b\u{FFFD}c\""))
        }
    }

    @Test func inputLabelsKeyTheirOwnSeries() {
        let families = MetricsSchema.defaultFamilies(sourceLabels: [.init("namespace", .input("namespace"))])
        let harness = Harness(families: families)
        harness.feed([line(), line()], labels: ["namespace": "shop"])
        harness.feed([line()], labels: ["namespace": "admin"])
        let snapshot = harness.snapshot()
        #expect(snapshot.sum("logmetrics_http_requests", where: ["namespace": "shop"]) == 2)
        #expect(snapshot.sum("logmetrics_http_requests", where: ["namespace": "admin"]) == 1)
    }
}

@Suite struct NativeHistogramTests {
    @Test func durationFamiliesCarryANativeHistogramPerSeries() throws {
        let one = Harness()
        one.feed((1...200).map { line(duration: $0) })
        let two = Harness(shards: 2)
        two.feed((1...100).map { line(duration: $0) }, shard: 0)
        two.feed((101...200).map { line(duration: $0) }, shard: 1)
        for harness in [one, two] {
            let family = try #require(harness.snapshot().family("logmetrics_http_request_duration_seconds"))
            guard case .histograms(let columns) = family.values, let natives = columns.native else {
                Issue.record("no native histograms")
                return
            }
            #expect(natives.count == 1)
            let native = try #require(natives[0])
            #expect(native.encoded.count == 200)
            #expect(abs(native.encoded.sum - Double((1...200).reduce(0, +)) / 1000) < 1e-9)
            #expect(native.encoded.schema == 3)
        }
    }
}
