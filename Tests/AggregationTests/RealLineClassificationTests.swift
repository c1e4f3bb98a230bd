import AccessLogParser
import Exposition
import Foundation
import Testing

@testable import Aggregation

/// Classification of access-log lines published from real meshes (Istio's typed and all-string
/// JSON, Envoy Gateway, gRPC, TCP proxy), one line at a time, against what each must give.
@Suite struct RealLineClassificationTests {
    static let lines: [String] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/real-world.jsonl")
        return (try? String(contentsOf: url, encoding: .utf8))?.split(separator: "\n").map(String.init) ?? []
    }()

    struct HTTP: Sendable, CustomStringConvertible {
        var line: Int
        var route, code, errorType, flags, destination: String
        var description: String { "line \(line)" }
    }

    /// Line by line: route (Envoy's `route_name` unless it is `default` or absent, else the
    /// path's template), response code, `error_type`, flags as a set, destination service.
    static let http: [HTTP] = [
        // Istio sidecar, inbound, route_name "default" (ignored): the path decides.
        HTTP(
            line: 0, route: "/reviews/{id}", code: "200", errorType: "none", flags: "-",
            destination: "reviews.default.svc.cluster.local"),
        // A codec error: no method, path or route; 400 DPE.
        HTTP(line: 2, route: "unknown", code: "400", errorType: "client_error", flags: "DPE", destination: "unknown"),
        // NR-like 404 with no route_name.
        HTTP(
            line: 3, route: "/wrongpath", code: "404", errorType: "client_error", flags: "-",
            destination: "frontend.online-boutique.svc.cluster.local"),
        // Envoy Gateway's route names are kept as they are.
        HTTP(
            line: 7, route: "httproute/default/backend/rule/0/match/0/www_example_com", code: "500",
            errorType: "server_error", flags: "-", destination: "unknown"),
        // Code 0: no response was sent (the downstream went away); not an error by code.
        HTTP(
            line: 8, route: "/delay/{id}", code: "0", errorType: "none", flags: "DC",
            destination: "mock-server.default.svc.cluster.local"),
        HTTP(
            line: 12, route: "/status/{id}", code: "503", errorType: "server_error", flags: "UF,URX",
            destination: "mock-server.default.svc.cluster.local"),
        HTTP(
            line: 13, route: "/delay/{id}", code: "504", errorType: "server_error", flags: "UT",
            destination: "mock-server.default.svc.cluster.local"),
        // gRPC over HTTP 200 with grpc-status Unavailable (all-string record): a server error.
        HTTP(
            line: 14, route: "/mock.MockService/Status", code: "200", errorType: "server_error", flags: "UH",
            destination: "mock-server.default.svc.cluster.local"),
        // Inbound with an empty service in the cluster name: the authority's host.
        HTTP(
            line: 15, route: "/mock.MockService/Delay", code: "0", errorType: "none", flags: "DR",
            destination: "mock-server"),
    ]

    static func classify(_ line: String) -> MetricSnapshot {
        let harness = Harness()
        harness.feed([line])
        return harness.snapshot()
    }

    @Test(arguments: http)
    func httpRecords(_ expected: HTTP) throws {
        let snapshot = Self.classify(Self.lines[expected.line])
        let requests = snapshot.values("logmetrics_http_requests")
        #expect(requests.count == 1)
        let labels = try #require(requests.keys.first)
        #expect(labels["route"] == expected.route)
        #expect(labels["response_code"] == expected.code)
        #expect(labels["error_type"] == expected.errorType)
        #expect(labels["response_flags"] == expected.flags)
        #expect(labels["destination_service"] == expected.destination)
        let flags = snapshot.values("logmetrics_http_response_flags")
        let single = expected.flags == "-" ? [] : expected.flags.split(separator: ",").map(String.init)
        #expect(Set(flags.keys.compactMap { $0["flag"] }) == Set(single))
    }

    /// `URX,UF` (Envoy before 1.29's order) and `UF,URX` are one value: the set in Envoy's table order.
    @Test func flagOrderDoesNotMakeASecondSeries() {
        let harness = Harness()
        harness.feed([Self.lines[12], Self.lines[12].replacingOccurrences(of: "\"URX,UF\"", with: "\"UF,URX\"")])
        let requests = harness.snapshot().values("logmetrics_http_requests")
        #expect(requests.count == 1)
        #expect(requests.values.first == 2)
    }

    /// tcp_proxy records (no protocol, no method): connections and bytes, not requests; the
    /// legacy all-string format of Istio 1.7 (`istio_policy_status`) reads the same.
    @Test func tcpRecords() {
        let harness = Harness()
        harness.feed([Self.lines[4], Self.lines[5], Self.lines[6]])
        let snapshot = harness.snapshot()
        #expect(snapshot.sum("logmetrics_http_requests") == 0)
        let connections = snapshot.values("logmetrics_tcp_connections")
        #expect(connections.count == 3)
        #expect(
            connections[[
                "destination_service": "keycloak-headless.our_ns.svc.cluster.local", "response_flags": "UF,URX",
            ]]
                == 1)
        #expect(connections[["destination_service": "InboundPassthroughClusterIpv4", "response_flags": "-"]] == 1)
        #expect(connections[["destination_service": "unknown", "response_flags": "UO"]] == 1)
        #expect(snapshot.sum("logmetrics_tcp_sent_bytes") == 759_108)
        #expect(snapshot.sum("logmetrics_tcp_received_bytes") == 5_120)
    }

    @Test func everyLineIsParsed() {
        #expect(Self.lines.count == 16)
        let harness = Harness()
        harness.feed(Self.lines)
        let snapshot = harness.snapshot()
        #expect(snapshot.sum("logmetrics_lines", where: ["result": "parsed"]) == 16)
        #expect(snapshot.sum("logmetrics_http_requests") + snapshot.sum("logmetrics_tcp_connections") == 16)
    }
}
