import AccessLogParser
import Exposition
import Testing

@testable import Aggregation

/// Classification of records shaped like the ones Istio and Envoy write in the field.
@Suite struct ClassificationTests {
    func grpc(_ code: Int, _ flags: String, _ status: String?) -> String {
        let statusField = status.map { ",\"grpc_status\":\"\($0)\"" } ?? ""
        return """
            {"method":"POST","path":"/mock.MockService/Status","protocol":"HTTP/2","response_code":"\(code)",\
            "response_flags":"\(flags)","duration":"347","route_name":"-",\
            "upstream_cluster":"outbound|9090||mock-server.default.svc.cluster.local"\(statusField)}
            """
    }

    @Test func grpcCallsOnHTTP200AreClassifiedByTheirStatus() {
        let harness = Harness()
        harness.feed([
            grpc(200, "UH", "Unavailable"), grpc(200, "-", "OK"), grpc(200, "-", "NotFound"), grpc(200, "-", "13"),
            grpc(200, "-", nil), grpc(503, "UF", "Unavailable"),
        ])
        let snapshot = harness.snapshot()
        let requests = "logmetrics_http_requests"
        #expect(
            snapshot.sum(
                requests, where: ["response_code": "200", "response_flags": "UH", "error_type": "server_error"]) == 1)
        #expect(snapshot.sum(requests, where: ["response_code": "200", "error_type": "none"]) == 2)
        #expect(snapshot.sum(requests, where: ["response_code": "200", "error_type": "client_error"]) == 1)
        #expect(snapshot.sum(requests, where: ["response_code": "200", "error_type": "server_error"]) == 2)
        #expect(snapshot.sum(requests, where: ["response_code": "503", "error_type": "server_error"]) == 1)
    }

    @Test func grpcStatusNamesAndNumbers() {
        func type(_ s: String) -> UInt32? { Array(s.utf8).withUnsafeBufferPointer { GRPCStatus.errorType($0) } }
        #expect(type("OK") == 1)
        #expect(type("0") == 1)
        #expect(type("UNAVAILABLE") == 3)
        #expect(type("DeadlineExceeded") == 3)
        #expect(type("DEADLINE_EXCEEDED") == 3)
        #expect(type("RESOURCE_EXHAUSTED") == 2)
        #expect(type("16") == 2)
        #expect(type("-") == nil)
        #expect(type("99") == nil)
    }

    @Test func clientAbortsHaveCodeZeroAndNoErrorType() {
        let harness = Harness()
        harness.feed([line(code: 0, flags: "DC", duration: 2966), line(code: 0, flags: "DR")])
        let snapshot = harness.snapshot()
        #expect(snapshot.sum("logmetrics_http_requests", where: ["response_code": "0", "error_type": "none"]) == 2)
        #expect(snapshot.sum("logmetrics_http_response_flags", where: ["flag": "DC"]) == 1)
        #expect(snapshot.sum("logmetrics_http_response_flags", where: ["flag": "DR"]) == 1)
    }

    @Test func istio123TrailingSemicolonAndNoRouteName() {
        let harness = Harness()
        harness.feed([
            line(route: nil, path: "/reviews/0", cluster: "outbound|9080||reviews.default.svc.cluster.local;"),
            line(route: nil, path: "/nope", code: 404, flags: "NR", cluster: nil),
        ])
        let snapshot = harness.snapshot()
        #expect(
            snapshot.sum(
                "logmetrics_http_requests",
                where: ["destination_service": "reviews.default.svc.cluster.local", "route": "/reviews/{id}"]) == 1)
        #expect(
            snapshot.sum("logmetrics_http_requests", where: ["route": "/nope", "destination_service": "unknown"]) == 1)
    }

    @Test func ignoredRouteNamesFallBackToThePathTemplate() {
        let harness = Harness()
        harness.feed([line(route: "default", path: "/reviews/42?x=1"), line(route: "productpage", path: "/p/1")])
        let routes = Set(harness.snapshot().values("logmetrics_http_requests").keys.compactMap { $0["route"] })
        #expect(routes == ["/reviews/{id}", "productpage"])
    }
}
