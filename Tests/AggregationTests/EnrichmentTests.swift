import AccessLogParser
import Exposition
import Synchronization
import Testing

@testable import Aggregation

/// A lookup the test changes as the Kubernetes API would: pods by IP and name, services by name.
final class FakeLookup: MetadataLookup {
    struct State {
        var podsByIP: [String: MetadataPod] = [:]
        var podsByName: [String: MetadataPod] = [:]
        var services: [String: [String: String]] = [:]
        var generation: UInt64 = 1
        var questions = 0
    }

    let state = Mutex(State())

    var generation: UInt64 { state.withLock { $0.generation } }
    var questions: Int { state.withLock { $0.questions } }

    func set(ip: String, name: String, _ pod: MetadataPod?) {
        state.withLock { state in
            state.podsByIP[ip] = pod
            state.podsByName["\(pod?.namespace ?? "shop")/\(name)"] = pod
            state.generation += 1
        }
    }

    func set(service: String, namespace: String, _ labels: [String: String]?) {
        state.withLock { state in
            state.services["\(namespace)/\(service)"] = labels
            state.generation += 1
        }
    }

    func pod(upstreamHost: String) -> MetadataPod? {
        state.withLock { state in
            state.questions += 1
            let ip = upstreamHost.split(separator: ":").first.map(String.init) ?? upstreamHost
            return state.podsByIP[ip]
        }
    }

    func pod(namespace: String, name: String) -> MetadataPod? {
        state.withLock { $0.podsByName["\(namespace)/\(name)"] }
    }

    func serviceLabels(namespace: String, name: String) -> [String: String]? {
        state.withLock { $0.services["\(namespace)/\(name)"] }
    }
}

@Suite struct EnrichmentTests {
    static let families = MetricsSchema.defaultFamilies(sourceLabels: []).map { family in
        var family = family
        if family.observation == .requests || family.observation.isTCP {
            family.labels += [
                .init("destination_account", .destinationPod(.label("account"))),
                .init("destination_workload", .destinationPod(.workload)),
                .init("destination_service_team", .destinationServiceLabel("team")),
                .init("source_account", .sourcePod(.label("account"))),
            ]
        }
        return family
    }

    static func request(host: String?, cluster: String = "outbound|9080||reviews.shop.svc.cluster.local") -> String {
        var text = line(cluster: cluster)
        if let host {
            text.insert(contentsOf: "\"upstream_host\":\"\(host)\",", at: text.index(after: text.startIndex))
        }
        return text
    }

    static func tcp(host: String) -> String {
        """
        {"bytes_received":10,"bytes_sent":20,"duration":5,"method":null,"protocol":null,"response_code":0,\
        "response_flags":"-","upstream_cluster":"outbound|5432||db.shop.svc.cluster.local","upstream_host":"\(host)"}
        """
    }

    let lookup = FakeLookup()

    init() {
        lookup.set(
            ip: "10.0.1.5", name: "reviews-v1-abc",
            MetadataPod(namespace: "shop", workload: "reviews-v1", labels: ["account": "acme"]))
        lookup.set(
            ip: "10.0.2.7", name: "db-0", MetadataPod(namespace: "shop", workload: "db", labels: ["account": "globex"]))
        lookup.set(
            ip: "10.0.9.1", name: "gateway-7f-xyz",
            MetadataPod(namespace: "shop", workload: "gateway", labels: ["account": "platform"]))
        lookup.set(service: "reviews", namespace: "shop", ["team": "books"])
    }

    @Test func labelsOfTheUpstreamPodAndServiceAndTheSourcePodLandOnTheirSeries() {
        let harness = Harness(families: Self.families, enrichment: lookup)
        harness.feed(
            [
                Self.request(host: "10.0.1.5:9080"), Self.request(host: "10.0.1.5:9080"),
                Self.request(host: "10.9.9.9:9080"), Self.request(host: nil),
                Self.request(host: "10.0.1.5:9080", cluster: "outbound|80||ratings.shop.svc.cluster.local"),
                Self.tcp(host: "10.0.2.7:5432"),
            ], labels: ["namespace": "shop", "pod": "gateway-7f-xyz"])
        let snapshot = harness.snapshot()
        let requests = "logmetrics_http_requests"
        #expect(
            snapshot.sum(
                requests,
                where: [
                    "destination_account": "acme", "destination_workload": "reviews-v1",
                    "destination_service_team": "books", "source_account": "platform",
                    "destination_service": "reviews.shop.svc.cluster.local",
                ]) == 2)
        // An address no pod has, and a record without one: unknown, counted all the same.
        #expect(
            snapshot.sum(requests, where: ["destination_account": "unknown", "destination_workload": "unknown"]) == 2)
        // A service without the label, or not known: unknown.
        #expect(
            snapshot.sum(
                requests,
                where: ["destination_service": "ratings.shop.svc.cluster.local", "destination_service_team": "unknown"])
                == 1)
        #expect(snapshot.sum(requests) == 5)
        #expect(
            snapshot.sum(
                "logmetrics_tcp_connections", where: ["destination_account": "globex", "source_account": "platform"])
                == 1)
    }

    @Test func aLabelChangeAppliesToLaterRecordsAndLeavesCountedSeriesAlone() {
        let harness = Harness(families: Self.families, enrichment: lookup)
        let requests = "logmetrics_http_requests"
        harness.feed(Array(repeating: Self.request(host: "10.0.1.5:9080"), count: 3))
        // The pod is relabelled; then its IP is reused by a pod of another account.
        lookup.set(
            ip: "10.0.1.5", name: "reviews-v1-abc",
            MetadataPod(namespace: "shop", workload: "reviews-v1", labels: ["account": "initech"]))
        harness.feed(Array(repeating: Self.request(host: "10.0.1.5:9080"), count: 2))
        lookup.set(ip: "10.0.1.5", name: "reviews-v1-abc", nil)
        harness.feed([Self.request(host: "10.0.1.5:9080")])
        lookup.set(
            ip: "10.0.1.5", name: "cart-5-q",
            MetadataPod(namespace: "shop", workload: "cart", labels: ["account": "umbrella"]))
        harness.feed([Self.request(host: "10.0.1.5:9080")])
        let snapshot = harness.snapshot()
        #expect(snapshot.sum(requests, where: ["destination_account": "acme"]) == 3)
        #expect(snapshot.sum(requests, where: ["destination_account": "initech"]) == 2)
        #expect(snapshot.sum(requests, where: ["destination_account": "unknown"]) == 1)
        #expect(
            snapshot.sum(requests, where: ["destination_account": "umbrella", "destination_workload": "cart"]) == 1)
    }

    @Test func answersAreCachedUntilTheGenerationMoves() {
        let harness = Harness(families: Self.families, enrichment: lookup)
        let before = lookup.questions
        harness.feed(Array(repeating: Self.request(host: "10.0.1.5:9080"), count: 1000))
        // Two pod dimensions (account, workload), one question each for the one host.
        #expect(lookup.questions - before == 2)
        harness.feed(Array(repeating: Self.request(host: "10.0.1.5:9080"), count: 1000))
        #expect(lookup.questions - before == 2)
        lookup.set(service: "other", namespace: "shop", [:])
        harness.feed(Array(repeating: Self.request(host: "10.0.1.5:9080"), count: 1000))
        #expect(lookup.questions - before == 4)
    }

    @Test func withoutALookupTheLabelsAreUnknown() {
        let harness = Harness(families: Self.families)
        harness.feed([Self.request(host: "10.0.1.5:9080")], labels: ["namespace": "shop", "pod": "gateway-7f-xyz"])
        let snapshot = harness.snapshot()
        #expect(
            snapshot.sum(
                "logmetrics_http_requests",
                where: [
                    "destination_account": "unknown", "destination_service_team": "unknown",
                    "source_account": "unknown",
                ])
                == 1)
    }

    @Test func theSourcePodIsLookedUpAgainWhenItBecomesKnown() {
        let harness = Harness(families: Self.families, enrichment: lookup)
        let labels = ["namespace": "shop", "pod": "gateway-new"]
        harness.shards[0].withRecorder { state in
            let input = state.addInput(labels: labels)
            #expect(input == 0)
        }
        lookup.set(
            ip: "10.0.9.2", name: "gateway-new",
            MetadataPod(namespace: "shop", workload: "gateway", labels: ["account": "edge"]))
        // The same input, after the pod appeared.
        let decoder = AccessLogDecoder(configuration: harness.configuration)
        let bytes = Array((Self.request(host: "10.0.1.5:9080") + "\n").utf8)
        harness.shards[0].withRecorder { state in
            state.currentInput = 0
            state.updateClock()
            bytes.withUnsafeBufferPointer { decoder.feed($0, into: &state) }
        }
        #expect(harness.snapshot().sum("logmetrics_http_requests", where: ["source_account": "edge"]) == 1)
    }

    @Test func aClusterWithoutAServiceIsNotCachedAsUnknown() {
        let harness = Harness(families: Self.families, enrichment: lookup)
        // An inbound cluster names no host: the service comes from the SNI when there is one.
        let withoutName = Self.request(host: "10.0.1.5:9080", cluster: "inbound|9080||")
        var withName = withoutName
        withName.insert(
            contentsOf: "\"requested_server_name\":\"outbound_.9080_._.reviews.shop.svc.cluster.local\",",
            at: withName.index(after: withName.startIndex))
        harness.feed([withoutName, withName])
        let snapshot = harness.snapshot()
        #expect(
            snapshot.sum(
                "logmetrics_http_requests",
                where: ["destination_service": "reviews.shop.svc.cluster.local", "destination_service_team": "books"])
                == 1)
    }
}
