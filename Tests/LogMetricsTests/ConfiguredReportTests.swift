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

        let result = try CommandRunner.run([
            "report", "--format", "prometheus", "--config", config.path, CommandRunner.fixture("access.log"),
        ])
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

    /// The configuration of the classification issue, word for word.
    static let documentedConfiguration = """
        format: auto
        fields: {}
        preset: default
        routes:
          - name: users-item
            match: { method: [GET, PUT, DELETE], path: "/users/{id}" }
          - name: user-orders
            match: { path: "/users/{id}/orders" }
          - name: static
            match: { path_prefix: "/static/" }
          - name: v2-api
            match: { path_regex: "^/v2/", authority: "*.shop.example.com" }
        route_name: { use: true, ignore: [default] }
        auto_template: true
        slow_request: { threshold_ms: 1000, per_route: { checkout: 300 } }
        labels:
          static: { cluster: prod }
          families: { http_request_duration_seconds: [route, method, error_type] }
        buckets: { http_request_duration_seconds: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] }
        limits: { max_series_per_family: 10000, max_values_per_label: { route: 500 }, idle_expiry: 1h }
        """

    /// The recorded Envoy run, plus four of its records re-addressed to exercise the rules it
    /// has no traffic for: `/static/` and `/v2/` on a matching and a non-matching authority, and a
    /// route Envoy named `default` (ignored, so the path's template decides).
    @Test func theDocumentedConfigurationOnARealLog() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("logmetrics-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("config.yaml")
        try Self.documentedConfiguration.write(to: config, atomically: true, encoding: .utf8)
        var log = try Data(contentsOf: URL(fileURLWithPath: CommandRunner.fixture("access.log")))
        let first = try JSONSerialization.jsonObject(with: log.prefix { $0 != 0x0A }) as! [String: Any]
        for (path, authority, routeName) in [
            ("/static/app.js", "shop.example.com", "catalog"), ("/v2/items/7", "api.shop.example.com", "catalog"),
            ("/v2/items/8", "elsewhere.example.org", "catalog"), ("/orders/123/lines", "shop.example.com", "default"),
        ] {
            var record = first
            record["path"] = path
            record["authority"] = authority
            record["route_name"] = routeName
            log.append(try JSONSerialization.data(withJSONObject: record))
            log.append(0x0A)
        }
        let file = directory.appendingPathComponent("access.log")
        try log.write(to: file)

        let check = try CommandRunner.run(["check-config", config.path])
        #expect(check.status == 0, "\(check.stderr)")
        let result = try CommandRunner.run(["report", "--format", "prometheus", "--config", config.path, file.path])
        #expect(result.status == 0, "\(result.stderr)")
        var routes: [String: Double] = [:]
        var slow: [String: Double] = [:]
        for (labels, value) in samples(result.stdout, "logmetrics_http_requests_total") {
            #expect(labels["cluster"] == "prod")
            routes[labels["route"]!, default: 0] += value
            if labels["slow_request"] == "true" { slow[labels["route"]!, default: 0] += value }
        }
        // Worked out from the log's (route_name, method, path) counts: users_item's GET 149,
        // PUT 24 and DELETE 13 match users-item; users_orders' GET 74 and POST 20 match
        // user-orders; records without route_name fall back to their paths.
        let expected: [String: Double] = [
            "users-item": 186, "user-orders": 94, "static": 1, "v2-api": 1, "/orders/{id}/lines": 1,
            "catalog": 60 + 1, "checkout": 20, "events": 34, "healthz": 54, "inventory": 15, "legacy_redirect": 10,
            "payments": 24, "promo": 30, "reports": 33, "reports_export": 12, "/.env": 2, "/admin/login": 11,
            "/favicon.ico": 2, "/nope": 7, "/robots.txt": 2, "/search": 1, "/wp-login.php": 3,
        ]
        #expect(routes == expected)
        // checkout's own 300 ms threshold: its requests over 300 ms, by the log.
        let records = try String(decoding: log, as: UTF8.self).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        let slowCheckout = records.filter {
            ($0["route_name"] as? String) == "checkout" && ($0["duration"] as! Int) > 300
        }
        let slowElsewhere = records.filter {
            ($0["route_name"] as? String) != "checkout" && ($0["duration"] as! Int) > 1000
        }
        #expect(slow["checkout", default: 0] == Double(slowCheckout.count))
        #expect(slow.values.reduce(0, +) == Double(slowCheckout.count + slowElsewhere.count))
        // The duration family's own labels and buckets, with 300 ms added as an exact bound.
        let buckets = samples(result.stdout, "logmetrics_http_request_duration_seconds_bucket")
        #expect(
            Set(buckets.compactMap { $0.0["le"] }) == [
                "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.3", "0.5", "1", "2.5", "5", "10", "+Inf",
            ])
        // A family's label list is exact: the static `cluster` is not added to it.
        #expect(buckets.allSatisfy { Set($0.0.keys) == ["route", "method", "error_type", "le"] })
    }

    @Test func aBrokenConfigurationStopsBeforeReading() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("logmetrics-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("config.yaml")
        try "routes:\n  - name: x\n    match: { path_regex: \"(\" }\n".write(
            to: config, atomically: true, encoding: .utf8)
        let result = try CommandRunner.run([
            "report", "--format", "prometheus", "--config", config.path, CommandRunner.fixture("access.log"),
        ])
        #expect(result.status != 0)
        #expect(result.stderr.contains("config.yaml:2:"))
        #expect(result.stdout.isEmpty)
        let check = try CommandRunner.run(["check-config", config.path])
        #expect(check.status != 0)
    }
}
