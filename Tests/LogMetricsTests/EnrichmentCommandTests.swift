import Foundation
import Testing

@testable import KubernetesTestSupport

/// Labels from a Kubernetes API (the fake one, speaking list and watch on the wire) on the
/// series of `logmetrics report` and `serve`, as a user runs them with `--kube-api`.
@Suite(.serialized) struct EnrichmentCommandTests {
    static let gateway = FakePod(
        namespace: "istio-system", name: "istio-ingressgateway-7d4f9-x8k2p", ip: "10.0.0.9",
        labels: ["account": "platform", "pod-template-hash": "7d4f9"],
        owner: ("ReplicaSet", "istio-ingressgateway-7d4f9"))
    static let reviews = FakePod(
        name: "reviews-v1-5b8f6-abcde", ip: "10.0.1.5", labels: ["account": "acme", "pod-template-hash": "5b8f6"],
        owner: ("ReplicaSet", "reviews-v1-5b8f6"))
    static let ratings = FakePod(
        name: "ratings-0", ip: "10.0.2.7", ipv6: "fd00::27", labels: ["account": "globex"],
        owner: ("StatefulSet", "ratings"))

    let directory: URL
    let logFile: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "logmetrics-enrich-\(UUID().uuidString)")
        // A pod log path, so that the source pod is known.
        let podDirectory = directory.appendingPathComponent(
            "pods/istio-system_istio-ingressgateway-7d4f9-x8k2p_0f1e2d3c/istio-proxy")
        try FileManager.default.createDirectory(at: podDirectory, withIntermediateDirectories: true)
        logFile = podDirectory.appendingPathComponent("0.log")
    }

    static func line(_ host: String, service: String = "reviews", code: Int = 200) -> String {
        """
        {"authority":"shop.example.com","bytes_received":0,"bytes_sent":120,"duration":8,"method":"GET",\
        "path":"/\(service)/1","protocol":"HTTP/1.1","response_code":\(code),"response_flags":"-",\
        "route_name":"\(service)","upstream_cluster":"outbound|9080||\(service).shop.svc.cluster.local",\
        "upstream_host":"\(host)"}
        """
    }

    func write(_ lines: [String], append: Bool = false) throws {
        let data = Data((lines.joined(separator: "\n") + "\n").utf8)
        if append, let handle = try? FileHandle(forWritingTo: logFile) {
            try handle.seekToEnd()
            try handle.write(contentsOf: data)
            try handle.close()
        } else {
            try data.write(to: logFile)
        }
    }

    static func server() async throws -> FakeAPIServer {
        let server = try await FakeAPIServer.start()
        server.apply(.added, .pod(gateway))
        server.apply(.added, .pod(reviews))
        server.apply(.added, .pod(ratings))
        server.apply(.added, .service(FakeService(name: "reviews", labels: ["team": "books", "tier": "gold"])))
        server.apply(.added, .service(FakeService(name: "ratings", labels: ["tier": "silver"])))
        return server
    }

    static let flags = ["--kube-pod-label", "account", "--kube-service-label", "team"]

    func count(_ exposition: String, _ labels: [String: String]) -> Double {
        samples(exposition, "logmetrics_http_requests_total").filter { sample in
            labels.allSatisfy { sample.0[$0.key] == $0.value }
        }.map(\.1).reduce(0, +)
    }

    @Test func reportLabelsEachSeriesWithItsPodsAndServices() async throws {
        let server = try await Self.server()
        defer { Task { try? await server.shutdown() } }
        try write(
            Array(repeating: Self.line("10.0.1.5:9080"), count: 3) + [
                Self.line("[fd00::27]:9080", service: "ratings"), Self.line("10.0.2.7:9080", service: "ratings"),
                Self.line("10.0.7.7:9080", code: 503), Self.line("-", code: 503),
            ])
        let result = try CommandRunner.run(
            ["report", "--format", "prometheus", "--kube-api", server.url] + Self.flags + [logFile.path])
        #expect(result.status == 0, "\(result.stderr)")
        let out = result.stdout
        #expect(result.stderr.contains("listed 3 pods and 2 services"))
        #expect(
            count(
                out,
                [
                    "route": "reviews", "destination_account": "acme", "destination_service_team": "books",
                    "source_account": "platform",
                ]) == 3)
        // IPv6 and IPv4 addresses of one pod; a service without the label.
        #expect(
            count(out, ["route": "ratings", "destination_account": "globex", "destination_service_team": "unknown"])
                == 2)
        // No pod has the address, or there is none: unknown, counted all the same.
        #expect(count(out, ["response_code": "503", "destination_account": "unknown"]) == 2)
        #expect(total(out) == 7)
        // Only the kept keys: the pod-template-hash and tier labels are not there.
        #expect(!out.contains("pod_template_hash") && !out.contains("tier"))
        let list = try #require(server.requests("pods", watch: false).first)
        #expect(list.path == "/api/v1/pods")
    }

    @Test func anUnreachableAPIDelaysTheStartByTheTimeoutAtMostAndLabelsUnknown() throws {
        try write([Self.line("10.0.1.5:9080")])
        let config = directory.appendingPathComponent("config.yaml")
        // A port nothing listens on.
        try "kubernetes:\n  api: http://127.0.0.1:9\n  pod_labels: [account]\n  initial_list_timeout: 1s\n".write(
            to: config, atomically: true, encoding: .utf8)
        let started = Date()
        let result = try CommandRunner.run(["report", "--format", "prometheus", "--config", config.path, logFile.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(Date().timeIntervalSince(started) < 8)
        #expect(result.stderr.contains("no complete list within 1.0 s"))
        #expect(count(result.stdout, ["destination_account": "unknown", "source_account": "unknown"]) == 1)
    }

    @Test func servingFollowsLabelChangesDeletionsIPReuseAndRelists() async throws {
        let server = try await Self.server()
        defer { Task { try? await server.shutdown() } }
        try write(Array(repeating: Self.line("10.0.1.5:9080"), count: 2))
        let running = try RunningServer(
            ["serve", "--from", "head", "--kube-api", server.url, "--poll-interval-ms", "50"] + Self.flags
                + [logFile.path])
        var body = try running.scrape { total($0) == 2 }
        #expect(count(body, ["destination_account": "acme", "source_account": "platform"]) == 2)
        #expect(samples(body, "logmetrics_kubernetes_synced").allSatisfy { $0.1 == 1 })
        #expect(samples(body, "logmetrics_kubernetes_objects").contains { $0.0["resource"] == "pods" && $0.1 == 3 })
        func events() throws -> Double { total(try running.get().1, "logmetrics_kubernetes_watch_events_total") }
        func waitForEvents(_ expected: Double) throws {
            for _ in 0..<100 where try events() < expected { usleep(50_000) }
            #expect(try events() >= expected)
        }
        let seen = try events()

        // A relabelled pod: later lines carry the new value, the counted series keep theirs.
        var relabelled = Self.reviews
        relabelled.labels["account"] = "initech"
        server.apply(.modified, .pod(relabelled))
        try waitForEvents(seen + 1)
        try write([Self.line("10.0.1.5:9080")], append: true)
        body = try running.scrape { total($0) == 3 }
        #expect(count(body, ["destination_account": "acme"]) == 2)
        #expect(count(body, ["destination_account": "initech"]) == 1)

        // The pod goes and a new pod gets its address.
        server.apply(.deleted, .pod(relabelled))
        try waitForEvents(seen + 2)
        try write([Self.line("10.0.1.5:9080")], append: true)
        body = try running.scrape { total($0) == 4 }
        #expect(count(body, ["destination_account": "unknown"]) == 1)
        server.apply(
            .added, .pod(FakePod(name: "cart-6c9d-zz", ip: "10.0.1.5", labels: ["account": "umbrella"])))
        try waitForEvents(seen + 3)
        try write([Self.line("10.0.1.5:9080")], append: true)
        body = try running.scrape { total($0) == 5 }
        #expect(count(body, ["destination_account": "umbrella"]) == 1)

        // The watch drops and its version is compacted away: 410 Gone, a relist, and a change
        // made meanwhile still arrives.
        server.dropWatches()
        server.compact()
        server.apply(
            .modified, .pod(FakePod(name: "cart-6c9d-zz", ip: "10.0.1.5", labels: ["account": "wayne"])))
        for _ in 0..<100 where total(try running.get().1, "logmetrics_kubernetes_relists_total") < 1 {
            usleep(50_000)
        }
        body = try running.get().1
        #expect(total(body, "logmetrics_kubernetes_relists_total") >= 1)
        #expect(total(body, "logmetrics_kubernetes_request_failures_total") >= 1)
        try write([Self.line("10.0.1.5:9080")], append: true)
        body = try running.scrape { total($0) == 6 }
        #expect(count(body, ["destination_account": "wayne"]) == 1)
        #expect(total(body) == 6)
        #expect(running.stop() == 0)
    }

    @Test func aReloadKeepsTheWatchesAndRefusesAChangedKubernetesSection() async throws {
        let server = try await Self.server()
        defer { Task { try? await server.shutdown() } }
        try write([Self.line("10.0.1.5:9080")])
        let config = directory.appendingPathComponent("config.yaml")
        func configure(_ podLabels: String, slow: Int) throws {
            try """
            slow_request: { threshold_ms: \(slow) }
            kubernetes:
              api: \(server.url)
              pod_labels: [\(podLabels)]
            """.write(to: config, atomically: true, encoding: .utf8)
        }
        try configure("account", slow: 1000)
        let running = try RunningServer(
            ["serve", "--from", "head", "--config", config.path, "--poll-interval-ms", "50", logFile.path])
        _ = try running.scrape { total($0) == 1 }
        func reloads(_ result: String) throws -> Double {
            samples(try running.get().1, "logmetrics_config_reloads_total").filter { $0.0["result"] == result }.map(
                \.1
            ).reduce(0, +)
        }
        // Another pod label: refused, the watches and labels stay as they are.
        try configure("account, team", slow: 1000)
        running.signal(SIGHUP)
        for _ in 0..<100 where try reloads("failure") < 1 { usleep(50_000) }
        #expect(try reloads("failure") == 1)
        // The same section with another threshold: reloaded, and the counted series go on.
        try configure("account", slow: 5)
        running.signal(SIGHUP)
        for _ in 0..<100 where try reloads("success") < 1 { usleep(50_000) }
        #expect(try reloads("success") == 1)
        try write([Self.line("10.0.1.5:9080")], append: true)
        let body = try running.scrape { total($0) == 2 }
        #expect(count(body, ["destination_account": "acme", "slow_request": "false"]) == 1)
        #expect(count(body, ["destination_account": "acme", "slow_request": "true"]) == 1)
        #expect(running.stop() == 0)
    }
}
