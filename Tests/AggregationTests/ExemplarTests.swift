import AccessLogParser
import Exposition
import Testing

@testable import Aggregation

@Suite struct ExemplarTests {
    static func record(_ extra: String, duration: Int = 12, route: String = "users_item") -> String {
        """
        {"duration":\(duration),"method":"GET","path":"/users/1","protocol":"HTTP/1.1","response_code":200,\
        "route_name":"\(route)","upstream_cluster":"outbound|80||users.shop.svc.cluster.local"\(extra)}
        """
    }

    static func exemplars(_ snapshot: MetricSnapshot, _ family: String) -> [Exemplar] {
        (snapshot.family(family)?.exemplars ?? []).compactMap { $0 }
    }

    static func openMetrics(_ harness: Harness) -> String {
        var out: [UInt8] = []
        OpenMetricsFormatWriter.write(
            SnapshotBuilder.snapshot(registry: harness.registry, shards: harness.shards, includeExemplars: true),
            into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    @Test func traceparentWinsOverB3AndRequestID() {
        let harness = Harness()
        harness.feed([
            Self.record(
                #","traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01","x_b3_traceid":"b3b3","request_id":"r1""#
            )
        ])
        let snapshot = SnapshotBuilder.snapshot(
            registry: harness.registry, shards: harness.shards, includeExemplars: true)
        let requests = Self.exemplars(snapshot, "logmetrics_http_requests")
        #expect(requests.count == 1)
        #expect(requests.first?.labels == LabelSet(names: ["trace_id"], values: ["4bf92f3577b34da6a3ce929d0e0e4736"]))
        #expect(requests.first?.value == 1)
        #expect(requests.first?.timestamp != nil)
    }

    @Test func b3ThenRequestIDAreTheFallbacks() {
        let b3 = Harness()
        b3.feed([Self.record(#","x_b3_traceid":"80f198ee56343ba864fe8b2a57d3eff7","request_id":"r1""#)])
        let b3Snapshot = SnapshotBuilder.snapshot(registry: b3.registry, shards: b3.shards, includeExemplars: true)
        #expect(
            Self.exemplars(b3Snapshot, "logmetrics_http_requests").first?.labels
                == LabelSet(names: ["trace_id"], values: ["80f198ee56343ba864fe8b2a57d3eff7"]))

        let request = Harness()
        request.feed([Self.record(#","request_id":"7e2d9599-32c3-4625-8332-ea98d1c348bd""#)])
        let snapshot = SnapshotBuilder.snapshot(
            registry: request.registry, shards: request.shards, includeExemplars: true)
        #expect(
            Self.exemplars(snapshot, "logmetrics_http_requests").first?.labels
                == LabelSet(names: ["request_id"], values: ["7e2d9599-32c3-4625-8332-ea98d1c348bd"]))
    }

    @Test func identifiersThatAreNotPlainTokensGiveNoExemplar() {
        let harness = Harness()
        harness.feed([
            Self.record(#","request_id":"a\"} 1\nfake 1""#),
            Self.record(#","request_id":"\#(String(repeating: "x", count: 65))""#, route: "long"),
            Self.record(#","traceparent":"00-00000000000000000000000000000000-00f067aa0ba902b7-01""#, route: "zeros"),
        ])
        let snapshot = SnapshotBuilder.snapshot(
            registry: harness.registry, shards: harness.shards, includeExemplars: true)
        #expect(Self.exemplars(snapshot, "logmetrics_http_requests").isEmpty)
        #expect(snapshot.sum("logmetrics_http_requests") == 3, "the requests still count")
    }

    @Test func durationExemplarsSitOnTheBucketOfTheirValue() throws {
        let harness = Harness()
        harness.feed([
            Self.record(#","request_id":"fast""#, duration: 3),
            Self.record(#","request_id":"slow""#, duration: 1500),
        ])
        let text = Self.openMetrics(harness)
        let fast = try #require(
            text.split(separator: "\n").first { $0.contains("request_id=\"fast\"") && $0.contains("_bucket") })
        #expect(fast.contains("le=\"0.005\""))
        #expect(fast.contains("} 0.003 "))
        let slow = try #require(
            text.split(separator: "\n").first { $0.contains("request_id=\"slow\"") && $0.contains("_bucket") })
        #expect(slow.contains("le=\"2.5\""))
        #expect(slow.contains("} 1.5 "))
    }

    @Test func notInTheTextFormatOrWithoutBeingAsked() {
        let harness = Harness()
        harness.feed([Self.record(#","request_id":"r1""#)])
        #expect(Self.exemplars(harness.snapshot(), "logmetrics_http_requests").isEmpty)
        var out: [UInt8] = []
        TextFormatWriter.write(
            SnapshotBuilder.snapshot(registry: harness.registry, shards: harness.shards, includeExemplars: true),
            into: &out)
        #expect(!String(decoding: out, as: UTF8.self).contains("r1"))
    }

    @Test func theNewestOfTheShardsIsKept() {
        let harness = Harness(shards: 2)
        harness.feed([Self.record(#","request_id":"first""#)], shard: 0)
        harness.shards[1].withRecorder { state in
            state.updateClock()
            state.wallNow += 10
        }
        harness.feed([Self.record(#","request_id":"second""#)], shard: 1)
        let snapshot = SnapshotBuilder.snapshot(
            registry: harness.registry, shards: harness.shards, includeExemplars: true)
        #expect(Self.exemplars(snapshot, "logmetrics_http_requests").map(\.labels.values) == [["second"]])
    }

    @Test func aSlotIsRewrittenAtMostOncePerClockSecond() {
        let harness = Harness()
        harness.feed([Self.record(#","request_id":"one""#), Self.record(#","request_id":"two""#)])
        let snapshot = SnapshotBuilder.snapshot(
            registry: harness.registry, shards: harness.shards, includeExemplars: true)
        #expect(Self.exemplars(snapshot, "logmetrics_http_requests").map(\.labels.values) == [["one"]])
    }
}
