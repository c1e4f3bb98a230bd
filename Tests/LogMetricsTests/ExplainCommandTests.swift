import Foundation
import Testing

@Suite struct ExplainCommandTests {
    /// One request, one tcp_proxy connection and one line that is not a record: each says how it
    /// was classified and which series it changes, and the end gives the series per family.
    @Test func eachLineSaysWhatItDoes() throws {
        let request =
            #"{"authority":"mock:8080","bytes_received":0,"bytes_sent":190,"duration":63,"method":"GET","path":"/status/503","protocol":"HTTP/1.1","response_code":503,"response_flags":"URX,UF","route_name":null,"upstream_cluster":"outbound|8080||mock-server.default.svc.cluster.local"}"#
        let connection =
            #"{"bytes_received":"0","bytes_sent":"0","duration":"10002","method":"-","protocol":"-","response_code":"0","response_flags":"UF,URX","upstream_cluster":"outbound|7600||keycloak.auth.svc.cluster.local"}"#
        let input = Data((request + "\n" + connection + "\nnot json at all\n").utf8)
        let result = try CommandRunner.run(["explain"], stdin: input)
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines[0] == "line 1: request")
        #expect(
            lines[1]
                == "  route=/status/{id} error_type=server_error response_flags=UF,URX slow_request=false "
                + "destination_service=mock-server.default.svc.cluster.local")
        #expect(
            lines.contains {
                $0.hasPrefix("  logmetrics_http_requests_total{route=\"/status/{id}\"") && $0.hasSuffix(" +1")
            })
        #expect(lines.contains { $0.contains("logmetrics_http_response_flags_total") && $0.contains("flag=\"URX\"") })
        #expect(
            lines.contains { $0.contains("logmetrics_http_request_duration_seconds") && $0.hasSuffix("observe 0.063") })
        #expect(lines.contains("line 2: tcp connection"))
        #expect(lines.contains("  response_flags=UF,URX destination_service=keycloak.auth.svc.cluster.local"))
        #expect(lines.contains("line 3: skipped (not_access_log)"))
        #expect(lines.contains("  logmetrics_http_response_flags_total: 2"))
        #expect(lines.contains("  logmetrics_tcp_connections_total: 1"))
    }
}
