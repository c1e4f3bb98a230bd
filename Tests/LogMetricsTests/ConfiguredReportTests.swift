import Foundation
import Testing

@Suite struct ConfiguredReportTests {
    static let configuration = """
        routes:
          - name: users-item
            match: { method: [GET, PUT, DELETE], path: "/users/{id}" }
          - name: user-orders
            match: { path: "/users/{id}/orders" }
          - name: payments-status
            match: { path_regex: "^/payments/status/[0-9]+$" }
          - name: payments-write
            match: { method: [POST], path_prefix: "/payments/" }
          - name: probes
            match: { path: /healthz, method: [HEAD] }
        route_name: { use: true, ignore: [healthz] }
        slow_request: { threshold_ms: 1000, per_route: { reports: 100 } }
        labels:
          static: { cluster: test }
        """

    /// Per-route totals of the recorded Envoy run under the configuration above, worked out by
    /// hand from its truth.json (route_name x method counts).
    static let expected: [String: Double] = [
        "users-item": 149 + 24 + 13, "user-orders": 74 + 20, "payments-status": 10, "payments-write": 14,
        "probes": 15, "/healthz": 39, "catalog": 60, "checkout": 20, "events": 34, "inventory": 15,
        "legacy_redirect": 10, "promo": 30, "reports": 33, "reports_export": 12, "/.env": 2, "/admin/login": 11,
        "/favicon.ico": 2, "/nope": 7, "/robots.txt": 2, "/search": 1, "/wp-login.php": 3,
    ]

    @Test func routesFollowTheRules() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("logmetrics-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("config.yaml")
        try Self.configuration.write(to: config, atomically: true, encoding: .utf8)

        let check = try CommandRunner.run(["check-config", config.path])
        #expect(check.status == 0, "\(check.stderr)")

        let result = try CommandRunner.run(["report", "--config", config.path, CommandRunner.fixture("access.log")])
        #expect(result.status == 0, "\(result.stderr)")
        var routes: [String: Double] = [:]
        var slow: [String: Double] = [:]
        for (labels, value) in samples(result.stdout, "logmetrics_http_requests_total") {
            #expect(labels["cluster"] == "test")
            routes[labels["route"]!, default: 0] += value
            if labels["slow_request"] == "true" { slow[labels["route"]!, default: 0] += value }
        }
        #expect(routes == Self.expected)
        // Nine of the reports requests (one of them the 1.3 s one, the only one slow by the
        // default threshold) took more than the route's own 100 ms; no other route had one over 1 s.
        #expect(slow == ["reports": 9])
    }

    @Test func aBrokenConfigurationStopsBeforeReading() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("logmetrics-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("config.yaml")
        try "routes:\n  - name: x\n    match: { path_regex: \"(\" }\n".write(
            to: config, atomically: true, encoding: .utf8)
        let result = try CommandRunner.run(["report", "--config", config.path, CommandRunner.fixture("access.log")])
        #expect(result.status != 0)
        #expect(result.stderr.contains("config.yaml:2:"))
        #expect(result.stdout.isEmpty)
        let check = try CommandRunner.run(["check-config", config.path])
        #expect(check.status != 0)
    }
}
