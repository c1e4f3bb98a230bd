import AccessLogParser
import Aggregation
import Testing

@testable import Configuration

@Suite struct ConfigurationLoaderTests {
    static let example = """
        format: auto            # auto | istio-json | envoy-gateway-json | istio-text | custom
        fields: {}              # custom: logical field -> JSON key
        preset: default         # default | istio
        routes:                 # first match wins
          - name: users-item
            match: { method: [GET, PUT, DELETE], path: "/users/{id}" }
          - name: user-orders
            match: { path: "/users/{id}/orders" }
          - name: static
            match: { path_prefix: "/static/" }
          - name: v2-api
            match: { path_regex: "^/v2/", authority: "*.shop.example.com" }
        route_name: { use: true, ignore: [default] }   # Envoy's route_name as the next fallback
        auto_template: true                            # then ids/UUIDs/hex/numbers -> {id}
        slow_request: { threshold_ms: 1000, per_route: { checkout: 300 } }
        labels:
          static: { cluster: prod }
          families: { http_request_duration_seconds: [route, method, error_type] }
        buckets: { http_request_duration_seconds: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] }
        limits: { max_series_per_family: 10000, max_values_per_label: { route: 500 }, idle_expiry: 1h }
        """

    @Test func theDocumentedExampleLoads() throws {
        let c = try ConfigurationLoader.load(yaml: Self.example, file: "config.yaml")
        #expect(c.routes.map(\.name) == ["users-item", "user-orders", "static", "v2-api"])
        #expect(c.routes[0].methods == ["GET", "PUT", "DELETE"])
        #expect(c.routes[0].path == .template("/users/{id}"))
        #expect(c.routes[3].path == .regex("^/v2/"))
        #expect(c.routes[3].authority == "*.shop.example.com")
        #expect(c.ignoredRouteNames == ["default"])
        #expect(c.slowThresholdsByRoute == ["checkout": 300])
        #expect(c.staticLabels == ["cluster": "prod"])
        #expect(c.limits.maxValuesPerLabel["route"] == 500)
        #expect(c.idleExpirySeconds == 3600)
        let compiled = try ConfigurationCompiler.compile(c)
        let duration = try #require(
            compiled.schema.families.first { $0.name == "logmetrics_http_request_duration_seconds" })
        #expect(duration.labels.map(\.name) == ["route", "method", "error_type"])
        // The configured bounds, plus both slow-request thresholds as exact bounds.
        #expect(duration.buckets?.upperBounds == [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.3, 0.5, 1, 2.5, 5, 10])
        let requests = try #require(compiled.schema.families.first { $0.name == "logmetrics_http_requests" })
        #expect(requests.labels.last?.name == "cluster")
    }

    @Test func anEmptyFileIsTheDefaults() throws {
        #expect(try ConfigurationLoader.load(yaml: "") == LogMetricsConfiguration())
        #expect(try ConfigurationLoader.load(yaml: "# nothing\n") == LogMetricsConfiguration())
    }

    @Test func expositionTurnsExemplarsOffAndCreatedTimesOn() throws {
        let defaults = try ConfigurationCompiler.compile(LogMetricsConfiguration())
        #expect(
            defaults.schema.families.filter(\.exemplars).map(\.name) == [
                "logmetrics_http_requests", "logmetrics_http_request_duration_seconds",
            ])
        #expect(defaults.schema.wantedFields.contains(.requestID))
        let c = try ConfigurationLoader.load(yaml: "exposition: { exemplars: false, created_timestamps: true }\n")
        #expect(!c.exemplars)
        #expect(c.createdTimestamps)
        let compiled = try ConfigurationCompiler.compile(c)
        #expect(compiled.schema.families.allSatisfy { !$0.exemplars })
        #expect(!compiled.schema.wantedFields.contains(.requestID))
        #expect(failure("exposition: { exemplars: maybe }\n")?.key == "exposition.exemplars")
    }

    /// `--label` sets static labels without going through the loader; the compiler checks them.
    @Test func staticLabelNamesAreCheckedWhereverTheyComeFrom() {
        var c = LogMetricsConfiguration()
        c.staticLabels["bad-name"] = "x"
        #expect(throws: CompileError.self) { try ConfigurationCompiler.compile(c) }
        c.staticLabels = ["__reserved": "x"]
        #expect(throws: CompileError.self) { try ConfigurationCompiler.compile(c) }
        c.staticLabels = ["cluster": "prod"]
        #expect(throws: Never.self) { try ConfigurationCompiler.compile(c) }
    }

    func failure(_ yaml: String) -> ConfigurationError? {
        do {
            _ = try ConfigurationLoader.load(yaml: yaml, file: "c.yaml")
            return nil
        } catch {
            return error
        }
    }

    @Test func unknownKeysAreRejectedWithASuggestion() throws {
        let error = try #require(failure("format: auto\nslow_requests: { threshold_ms: 10 }\n"))
        #expect(error.line == 2)
        #expect(error.key == "slow_requests")
        #expect(error.message.contains("did you mean \"slow_request\""))
        #expect(error.description.hasPrefix("c.yaml:2:1: slow_requests: unknown key"))
    }

    @Test func errorsNameTheLineAndKeyOfTheValue() throws {
        let regex = try #require(
            failure(
                """
                routes:
                  - name: ok
                    match: { path: "/a" }
                  - name: broken
                    match: { path_regex: "(unclosed" }
                """))
        #expect(regex.line == 4)
        #expect(regex.key == "routes[1]")
        #expect(regex.message.contains("(unclosed"))

        let template = try #require(failure("routes:\n  - name: t\n    match: { path: \"/a{b}\" }\n"))
        #expect(template.line == 2)
        #expect(template.message.contains("whole segment"))

        let buckets = try #require(failure("buckets:\n  http_request_duration_seconds: [1, 0.5]\n"))
        #expect(buckets.line == 2)
        #expect(buckets.key == "buckets.http_request_duration_seconds")

        let expiry = try #require(failure("limits:\n  idle_expiry: 5m\n"))
        #expect(expiry.line == 2)
        #expect(expiry.message.contains("at least 10m"))
    }

    @Test func wholeConfigurationChecksPointAtTheirKey() throws {
        let family = try #require(failure("labels:\n  families:\n    no_such_family: [route]\n"))
        #expect(family.key == "labels.families.no_such_family")
        #expect(family.line == 3)
        #expect(family.message.contains("http_requests"))

        let label = try #require(failure("labels:\n  families:\n    http_requests_total: [route, colour]\n"))
        #expect(label.message.contains("unknown label \"colour\""))

        let clash = try #require(failure("labels:\n  static: { route: x }\n"))
        #expect(clash.message.contains("already a label"))

        let flag = try #require(failure("labels:\n  families:\n    http_requests: [route, flag]\n"))
        #expect(flag.message.contains("flag"))
    }

    @Test func malformedYAMLNamesItsLine() throws {
        let error = try #require(failure("format: auto\nroutes: [\n  - name: x\n"))
        #expect(error.line >= 2)
        #expect(error.message.contains("not valid YAML"))
    }

    @Test func typesAreChecked() throws {
        #expect(try #require(failure("preset: envoy\n")).message.contains("default, istio"))
        #expect(try #require(failure("slow_request: { threshold_ms: fast }\n")).message.contains("whole number"))
        #expect(try #require(failure("route_name: { use: maybe }\n")).message.contains("true or false"))
        #expect(try #require(failure("routes: { name: x }\n")).message.contains("list"))
        #expect(
            try #require(failure("labels: { static: { \"bad-name\": x } }\n")).message.contains(
                "not a valid label name"))
        #expect(try #require(failure("namespace: 9lives\n")).message.contains("metric name"))
        #expect(try #require(failure("routes:\n  - match: { path: /a }\n")).message.contains("needs a name"))
        #expect(
            try #require(failure("routes:\n  - name: a\n    match: { path: /a, path_prefix: /b }\n")).message.contains(
                "one way only"))
    }

    @Test func extractedLabelsAndFields() throws {
        let c = try ConfigurationLoader.load(
            yaml: """
                fields: { tier: x-user-tier }
                labels:
                  extract:
                    tier: { field: tier, max_values: 10 }
                    model: { field: path, segment: 3 }
                    api_version: { field: path, regex: "^/api/(v[0-9]+)/" }
                    agent: { field: x-agent }
                """)
        let compiled = try ConfigurationCompiler.compile(c)
        let requests = try #require(compiled.schema.families.first { $0.name == "logmetrics_http_requests" })
        let names = requests.labels.map(\.name)
        #expect(names.suffix(4) == ["tier", "model", "api_version", "agent"])
        #expect(compiled.schema.limits.maxValuesPerLabel["tier"] == 10)
        #expect(compiled.parser.fieldMap.field(forKey: "x-user-tier") != nil)
        #expect(compiled.parser.fieldMap.field(forKey: "x-agent") != nil)
        let sizes = try #require(compiled.schema.families.first { $0.name == "logmetrics_http_request_size_bytes" })
        #expect(!sizes.labels.map(\.name).contains("tier"))
    }

    @Test func istioPresetNamesAndBuckets() throws {
        let c = try ConfigurationLoader.load(yaml: "preset: istio\n")
        let compiled = try ConfigurationCompiler.compile(c)
        let names = compiled.schema.families.map(\.name)
        #expect(names.contains("istio_requests"))
        #expect(names.contains("istio_request_duration_milliseconds"))
        #expect(names.contains("istio_tcp_connections_closed"))
        let duration = try #require(compiled.schema.families.first { $0.name == "istio_request_duration_milliseconds" })
        #expect(duration.buckets?.upperBounds.first == 0.5)
        #expect(duration.buckets?.upperBounds.contains(1000) == true)
        #expect(duration.labels.map(\.name).contains("route_name"))
        #expect(duration.labels.map(\.name).contains("destination_service"))
    }

    @Test func durations() {
        #expect(ConfigNode.parseDuration("90s") == 90)
        #expect(ConfigNode.parseDuration("1h30m") == 5400)
        #expect(ConfigNode.parseDuration("2d") == 172_800)
        #expect(ConfigNode.parseDuration("600") == 600)
        #expect(ConfigNode.parseDuration("1x") == nil)
        #expect(ConfigNode.parseDuration("") == nil)
    }
}
