import Testing

@testable import AccessLogParser

@Suite struct IstioTextParserTests {
    // Istio 1.9+ (and 1.23+, whose field 17 is UPSTREAM_CLUSTER_RAW: same layout).
    let modern =
        #"[2026-11-20T10:00:00.123Z] "GET /users/42?x=1 HTTP/1.1" 503 URX,UF upstream_reset_before_response_started{remote_connection_failure|delayed_connect_error:_Connection_refused} - "delayed_connect_error:_Connection_refused" 0 190 63 - "203.0.113.9" "curl/8.5.0" "6e0d7462-2323-9e73-8dcf-43701a368edb" "shop.example.com" "10.244.2.4:8080" outbound|8080||users.shop.svc.cluster.local - 10.96.90.250:8080 10.244.1.3:36360 - users_item"#

    @Test func modernLayout() {
        let (status, line) = parseText(modern)
        #expect(status == .record)
        #expect(line[.startTime] == "2026-11-20T10:00:00.123Z")
        #expect(line[.method] == "GET")
        #expect(line[.path] == "/users/42?x=1")
        #expect(line[.protocol] == "HTTP/1.1")
        #expect(line.numbers[.responseCode] == 503)
        #expect(line[.responseFlags] == "URX,UF")
        #expect(line[.responseCodeDetails]?.hasPrefix("upstream_reset_before_response_started{") == true)
        #expect(line[.connectionTerminationDetails] == nil)
        #expect(line[.upstreamTransportFailureReason] == "delayed_connect_error:_Connection_refused")
        #expect(line.numbers[.bytesReceived] == 0)
        #expect(line.numbers[.bytesSent] == 190)
        #expect(line.numbers[.duration] == 63)
        #expect(line.numbers[.upstreamServiceTime] == nil)
        #expect(line[.xForwardedFor] == "203.0.113.9")
        #expect(line[.userAgent] == "curl/8.5.0")
        #expect(line[.requestID] == "6e0d7462-2323-9e73-8dcf-43701a368edb")
        #expect(line[.authority] == "shop.example.com")
        #expect(line[.upstreamHost] == "10.244.2.4:8080")
        #expect(line[.upstreamCluster] == "outbound|8080||users.shop.svc.cluster.local")
        #expect(line[.upstreamLocalAddress] == nil)
        #expect(line[.downstreamLocalAddress] == "10.96.90.250:8080")
        #expect(line[.downstreamRemoteAddress] == "10.244.1.3:36360")
        #expect(line[.requestedServerName] == nil)
        #expect(line[.routeName] == "users_item")
    }

    @Test func istio18Layout() {
        let (status, line) = parseText(
            #"[2020-11-20T10:00:00.123Z] "POST /api HTTP/2" 200 - "-" 12 34 5 4 "-" "grpc-go/1.61.0" "abc" "api:9090" "10.0.0.1:9090" outbound|9090||api.ns.svc.cluster.local 10.0.0.2:5000 10.0.0.3:9090 10.0.0.4:6000 outbound_.9090_._.api.ns.svc.cluster.local default"#
        )
        #expect(status == .record)
        #expect(line.numbers[.responseCode] == 200)
        #expect(line.numbers[.duration] == 5)
        #expect(line.numbers[.upstreamServiceTime] == 4)
        #expect(line[.userAgent] == "grpc-go/1.61.0")
        #expect(line[.requestedServerName] == "outbound_.9090_._.api.ns.svc.cluster.local")
        #expect(line[.routeName] == "default")
        #expect(line[.responseCodeDetails] == nil)
    }

    @Test func istio17LayoutWithMixerStatus() {
        let (status, line) = parseText(
            #"[2019-09-17T09:21:42.869Z] "- - -" 0 UF,URX "-" "-" 0 0 10002 - "-" "-" "-" "-" "10.0.0.1:7600" outbound|7600||keycloak.auth.svc.cluster.local - 10.0.0.1:7600 10.0.0.2:45621 - -"#
        )
        #expect(status == .record)
        #expect(line.numbers[.responseCode] == 0)
        #expect(line[.responseFlags] == "UF,URX")
        #expect(line[.method] == nil)
        #expect(line[.protocol] == nil)
        #expect(line.numbers[.duration] == 10002)
        #expect(line[.routeName] == nil)
        #expect(line[.upstreamCluster] == "outbound|7600||keycloak.auth.svc.cluster.local")
    }

    @Test func envoyDefaultLayout() {
        let (status, line) = parseText(
            #"[2016-04-15T20:17:00.310Z] "POST /api/v1/locations HTTP/2" 204 - 154 0 226 100 "10.0.35.28" "nsq2http" "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2" "locations" "tcp://10.0.2.1:80""#
        )
        #expect(status == .record)
        #expect(line.numbers[.responseCode] == 204)
        #expect(line.numbers[.duration] == 226)
        #expect(line[.authority] == "locations")
        #expect(line[.upstreamHost] == "tcp://10.0.2.1:80")
        #expect(line[.routeName] == nil)
    }

    @Test func quotesInsideTheUserAgentStayInTheUserAgent() {
        let hostile = modern.replacingOccurrences(
            of: #""curl/8.5.0""#, with: #""evil" "agent" "with" "quotes" "" x""#)
        let (status, line) = parseText(hostile)
        #expect(status == .record)
        #expect(line[.xForwardedFor] == "203.0.113.9")
        #expect(line[.userAgent] == #"evil" "agent" "with" "quotes" "" x"#)
        #expect(line[.requestID] == "6e0d7462-2323-9e73-8dcf-43701a368edb")
        #expect(line[.authority] == "shop.example.com")
        #expect(line[.routeName] == "users_item")
    }

    @Test func envoysOwnLogLinesAreNotAccessLogs() {
        #expect(
            parseText("[2026-11-20 10:00:00.123][15][warning][config] gRPC config stream closed").0 == .notAccessLog)
        #expect(parseText("[just text").0 == .notAccessLog)
    }

    @Test(arguments: [
        #"[2026-11-20T10:00:00.123Z] "GET / HTTP/1.1" 200"#,
        #"[2026-11-20T10:00:00.123Z] "GET / HTTP/1.1" 200 - via_upstream - "-" 0 1 2 3 "a" "b""#,
        #"[2026-11-20T10:00:00.123Z] "GET / HTTP/1.1" 200 - via_upstream - "-" 0 1 2"#,
        #"[2026-11-20T10:00:00.123Z] "GET""#,
    ])
    func truncatedTextIsMalformed(text: String) {
        #expect(parseText(text).0 == .malformed)
    }
}

extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        var result = ""
        var rest = Substring(self)
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
