import Exposition
import Foundation
import NIOCore
import NIOPosix
import ScrapeServer
import Synchronization
import Testing

@Suite struct ScrapeServerTests {
    /// A counter and a histogram with a native twin, the shapes a scrape carries.
    static func snapshot() -> MetricSnapshot {
        let labels = [LabelSet(["route": "/a"]), LabelSet(["route": "/b"])]
        return MetricSnapshot(families: [
            MetricFamilySnapshot(
                name: "logmetrics_http_requests", help: "Requests.", type: .counter, labels: labels,
                values: .integers([5, 7])),
            MetricFamilySnapshot(
                name: "logmetrics_http_request_duration_seconds", help: "Duration.", type: .histogram,
                unit: "seconds", labels: labels,
                values: .histograms(
                    HistogramColumns(
                        bounds: BucketBounds([0.1, 1]), bucketCounts: [1, 2, 3, 0, 0, 1], scaledSums: [4500, 2000],
                        sumExponent: -3,
                        native: [
                            NativeHistogramSnapshot(
                                schema: 0, zeroThreshold: 0, zeroCount: 0, count: 6, sum: 4.5,
                                positiveSpans: [(offset: -3, length: 4)], positiveDeltas: [1, 1, 0, 1]), nil,
                        ]))),
        ])
    }

    /// Runs `body` against a server on 127.0.0.1 with an OS-picked port, then shuts it down.
    static func withServer(
        _ configure: (inout ScrapeServer.Configuration) -> Void = { _ in },
        snapshot: @escaping @Sendable () -> MetricSnapshot = { ScrapeServerTests.snapshot() },
        isReady: @escaping @Sendable () -> Bool = { true },
        _ body: (ScrapeServer, Int) async throws -> Void
    ) async throws {
        var configuration = ScrapeServer.Configuration(host: "127.0.0.1", port: 0)
        configure(&configuration)
        let server = ScrapeServer(configuration: configuration, snapshot: snapshot, isReady: isReady)
        let address = try await server.start()
        do {
            try await body(server, try #require(address.port))
        } catch {
            try await server.shutdown()
            throw error
        }
        try await server.shutdown()
    }

    static func get(_ port: Int, _ path: String, headers: [(String, String)] = []) async throws -> RawResponse {
        try await TestHTTPConnection.with(port: port) { connection in
            try await connection.send(TestHTTPConnection.request("GET", path, headers: headers))
            return try #require(try await connection.response())
        }
    }

    static func expectStatus(
        _ port: Int, _ path: String, _ status: Int, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let response = try await get(port, path)
        #expect(response.status == status, sourceLocation: sourceLocation)
    }

    // MARK: - Scrapes

    @Test func plainGetServesText() async throws {
        try await Self.withServer { _, port in
            let response = try await Self.get(port, "/metrics")
            #expect(response.status == 200)
            #expect(response.header("content-type") == "text/plain; version=0.0.4; charset=utf-8")
            #expect(response.header("content-encoding") == nil)
            // Written as it is made: chunked, no length.
            #expect(response.header("transfer-encoding") == "chunked" && response.header("content-length") == nil)
            #expect(response.text.contains("logmetrics_http_requests_total{route=\"/a\"} 5\n"))
            #expect(response.text.contains("# TYPE logmetrics_scrape_duration_seconds histogram\n"))
            #expect(response.text.contains("logmetrics_scrape_size_bytes{format=\"text\",encoding=\"gzip\"} 0\n"))
            // 2 served + 3 for the scrape-duration histogram (one per format).
            #expect(try ResponseChecks.textHistograms(response.text) == 5)
        }
    }

    static let prometheusHeaders: [(String, String, String)] = [
        (
            "2.42",
            "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
            "application/openmetrics-text; version=1.0.0; charset=utf-8"
        ),
        (
            "2.42 native histograms",
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
            "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
        ),
        (
            "3.x",
            "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
            "application/openmetrics-text; version=1.0.0; charset=utf-8"
        ),
        (
            "3.x native histograms",
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1",
            "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
        ),
        (
            "OpenMetrics 0.0.1 only", "application/openmetrics-text;version=0.0.1",
            "application/openmetrics-text; version=1.0.0; charset=utf-8"
        ),
        ("curl", "*/*", "text/plain; version=0.0.4; charset=utf-8"),
    ]

    @Test(arguments: prometheusHeaders, [false, true])
    func negotiatesFormatAndEncoding(scraper: (String, String, String), gzip: Bool) async throws {
        let (name, accept, contentType) = scraper
        try await Self.withServer { _, port in
            var headers = [("Accept", accept)]
            if gzip { headers.append(("Accept-Encoding", "gzip")) }
            let response = try await Self.get(port, "/metrics", headers: headers)
            #expect(response.status == 200)
            #expect(response.header("content-type") == contentType, "\(name)")
            #expect(response.headers.filter { $0.name.lowercased() == "content-type" }.count == 1)
            #expect(response.header("content-encoding") == (gzip ? "gzip" : nil))
            let body = gzip ? try Inflate.gunzip(response.body) : response.body
            if contentType.hasPrefix("application/vnd.google.protobuf") {
                let result = try ResponseChecks.protobufHistograms(body)
                #expect(result.histograms == 5)
                #expect(result.names.contains("logmetrics_http_requests_total"))
            } else {
                let text = String(decoding: body, as: UTF8.self)
                #expect(try ResponseChecks.textHistograms(text) == 5)
                #expect(text.hasSuffix("# EOF\n") == contentType.hasPrefix("application/openmetrics-text"))
            }
        }
    }

    @Test func gzipRefusedServesIdentity() async throws {
        try await Self.withServer { _, port in
            let response = try await Self.get(port, "/metrics", headers: [("Accept-Encoding", "gzip;q=0, identity")])
            #expect(response.header("content-encoding") == nil)
            #expect(response.text.hasPrefix("# HELP"))
        }
    }

    /// A body of many chunks comes whole, the same bytes whether chunked (HTTP/1.1) or with its
    /// length (HTTP/1.0), and gzipped.
    @Test func aLargeScrapeArrivesWholeChunkedOrWithItsLength() async throws {
        let routes = 20_000
        let labels = (0..<routes).map { LabelSet(["route": "/r/\($0)"]) }
        let big = MetricSnapshot(families: [
            MetricFamilySnapshot(
                name: "logmetrics_http_requests", help: "Requests.", type: .counter, labels: labels,
                values: .integers((0..<routes).map { UInt64($0) }))
        ])
        try await Self.withServer(snapshot: { big }) { _, port in
            let chunked = try await Self.get(port, "/metrics")
            #expect(chunked.header("transfer-encoding") == "chunked")
            #expect(chunked.body.count > 2 * 256 * 1024)
            #expect(chunked.text.contains("logmetrics_http_requests_total{route=\"/r/19999\"} 19999\n"))
            let whole = try await TestHTTPConnection.with(port: port) { connection in
                try await connection.send(TestHTTPConnection.request("GET", "/metrics", version: "HTTP/1.0"))
                return try #require(try await connection.response())
            }
            #expect(whole.header("content-length") == String(whole.body.count))
            // The scrape-duration histogram has counted the first scrape by now; the rest is equal.
            let families = { (text: String) in text.components(separatedBy: "# HELP logmetrics_scrape")[0] }
            #expect(families(whole.text) == families(chunked.text))
            let gzipped = try await Self.get(port, "/metrics", headers: [("Accept-Encoding", "gzip")])
            #expect(gzipped.header("content-encoding") == "gzip" && gzipped.header("transfer-encoding") == "chunked")
            #expect(
                families(String(decoding: try Inflate.gunzip(gzipped.body), as: UTF8.self)) == families(chunked.text))
        }
    }

    @Test func headHasHeadersButNoBody() async throws {
        try await Self.withServer { _, port in
            try await TestHTTPConnection.with(port: port) { connection in
                try await connection.send(TestHTTPConnection.request("HEAD", "/metrics"))
                let head = try #require(try await connection.response(toHead: true))
                #expect(head.status == 200)
                #expect(head.header("content-type") == "text/plain; version=0.0.4; charset=utf-8")
                #expect(Int(head.header("content-length") ?? "") ?? 0 > 100)
                // Were there a body, it would be read as the start of the next response.
                try await connection.send(TestHTTPConnection.request("GET", "/healthz"))
                let next = try #require(try await connection.response())
                #expect(next.status == 200 && next.text == "ok")
            }
        }
    }

    @Test func snapshotIsTakenOffTheEventLoop() async throws {
        let onEventLoop = Mutex<Bool?>(nil)
        try await Self.withServer(snapshot: {
            onEventLoop.withLock { $0 = MultiThreadedEventLoopGroup.currentEventLoop != nil }
            return ScrapeServerTests.snapshot()
        }) { _, port in
            _ = try await Self.get(port, "/metrics")
        }
        #expect(onEventLoop.withLock { $0 } == false)
    }

    @Test func selfMetricsCountEarlierScrapesAndUseTheNamespace() async throws {
        try await Self.withServer({ $0.namespace = "edge" }) { _, port in
            _ = try await Self.get(port, "/metrics")
            _ = try await Self.get(port, "/metrics", headers: [("Accept-Encoding", "gzip")])
            let text = try await Self.get(port, "/metrics").text
            #expect(text.contains("edge_scrape_duration_seconds_count{format=\"text\"} 2\n"))
            #expect(text.contains("edge_scrape_connections_rejected_total 0\n"))
            #expect(!text.contains("logmetrics_scrape"))
            let gzipSize = try #require(
                text.split(separator: "\n").first {
                    $0.hasPrefix("edge_scrape_size_bytes{format=\"text\",encoding=\"gzip\"}")
                })
            #expect(Int(gzipSize.split(separator: " ").last!)! > 0)
        }
    }

    @Test func queryStringIsIgnored() async throws {
        try await Self.withServer { _, port in
            try await Self.expectStatus(port, "/metrics?collect[]=x", 200)
        }
    }

    // MARK: - Other routes

    @Test func healthAndReadiness() async throws {
        let ready = Atomic<Bool>(false)
        try await Self.withServer(isReady: { ready.load(ordering: .relaxed) }) { _, port in
            let health = try await Self.get(port, "/healthz")
            #expect(health.status == 200 && health.text == "ok")
            try await Self.expectStatus(port, "/readyz", 503)
            ready.store(true, ordering: .relaxed)
            try await Self.expectStatus(port, "/readyz", 200)
        }
    }

    @Test func aPageIsServedOnItsPathAndOthersStay404() async throws {
        let configuration = ScrapeServer.Configuration(host: "127.0.0.1", port: 0)
        let server = ScrapeServer(
            configuration: configuration, snapshotFor: { _ in Self.snapshot() },
            pages: ["/": { ("text/html; charset=utf-8", Array("<p>status</p>".utf8)) }])
        let port = try #require(try await server.start().port)
        do {
            let page = try await Self.get(port, "/")
            #expect(page.status == 200 && page.text == "<p>status</p>")
            #expect(page.header("content-type") == "text/html; charset=utf-8")
            try await Self.expectStatus(port, "/status", 404)
            try await Self.expectStatus(port, "/metrics", 200)
        } catch {
            try await server.shutdown()
            throw error
        }
        try await server.shutdown()
    }

    @Test func unknownPathIs404() async throws {
        try await Self.withServer { _, port in
            try await Self.expectStatus(port, "/", 404)
            try await Self.expectStatus(port, "/metricsx", 404)
        }
    }

    @Test(arguments: ["POST", "PUT", "DELETE", "OPTIONS"], ["/metrics", "/healthz", "/readyz"])
    func otherMethodsAre405(method: String, path: String) async throws {
        try await Self.withServer { _, port in
            try await TestHTTPConnection.with(port: port) { connection in
                try await connection.send(TestHTTPConnection.request(method, path, headers: [("Content-Length", "0")]))
                let response = try #require(try await connection.response())
                #expect(response.status == 405)
                #expect(response.header("allow") == "GET, HEAD")
            }
        }
    }

    // MARK: - Connections and limits

    @Test func keepAliveServesTwoRequestsOnOneConnection() async throws {
        try await Self.withServer { _, port in
            try await TestHTTPConnection.with(port: port) { connection in
                for _ in 0..<2 {
                    try await connection.send(TestHTTPConnection.request("GET", "/metrics"))
                    let response = try #require(try await connection.response())
                    #expect(response.status == 200)
                    #expect(response.header("connection") == nil)
                }
                // Pipelined: both requests at once, answered in order.
                try await connection.send(
                    TestHTTPConnection.request("GET", "/healthz") + TestHTTPConnection.request("GET", "/readyz"))
                #expect(try await connection.response()?.text == "ok")
                #expect(try await connection.response()?.text == "ready")
                #expect(!connection.closedByServer)
            }
        }
    }

    @Test(arguments: [
        (TestHTTPConnection.request("GET", "/healthz", headers: [("Connection", "close")]), true),
        (TestHTTPConnection.request("GET", "/healthz", version: "HTTP/1.0"), true),
        (
            TestHTTPConnection.request("GET", "/healthz", headers: [("Connection", "keep-alive")], version: "HTTP/1.0"),
            false
        ),
    ])
    func connectionHeaderIsHonoured(request: String, closes: Bool) async throws {
        try await Self.withServer { _, port in
            try await TestHTTPConnection.with(port: port) { connection in
                try await connection.send(request)
                let response = try #require(try await connection.response())
                #expect(response.header("connection") == (closes ? "close" : "keep-alive"))
                if closes { #expect(try await connection.closesWithoutResponse()) }
            }
        }
    }

    @Test func oversizedHeadersGet431() async throws {
        try await Self.withServer({ $0.maxRequestHeaderBytes = 1024 }) { _, port in
            try await TestHTTPConnection.with(port: port) { connection in
                let padding = String(repeating: "a", count: 2048)
                try await connection.send(
                    TestHTTPConnection.request("GET", "/metrics", headers: [("X-Padding", padding)]))
                let response = try #require(try await connection.response())
                #expect(response.status == 431)
                #expect(try await connection.closesWithoutResponse())
            }
            // A request within the limit still works.
            try await Self.expectStatus(port, "/healthz", 200)
        }
    }

    @Test func oversizedBodiesGet413() async throws {
        try await Self.withServer({ $0.maxRequestBodyBytes = 16 }) { _, port in
            for headers in [[("Content-Length", "1000")], [("Transfer-Encoding", "chunked")]] {
                try await TestHTTPConnection.with(port: port) { connection in
                    var request = TestHTTPConnection.request("POST", "/metrics", headers: headers)
                    if headers[0].0 == "Transfer-Encoding" {
                        request += "20\r\n" + String(repeating: "x", count: 32) + "\r\n"
                    }
                    try await connection.send(request)
                    let response = try #require(try await connection.response())
                    #expect(response.status == 413)
                    #expect(try await connection.closesWithoutResponse())
                }
            }
        }
    }

    @Test func malformedRequestGets400() async throws {
        try await Self.withServer { _, port in
            try await TestHTTPConnection.with(port: port) { connection in
                try await connection.send("NOT HTTP AT ALL\r\n\r\n")
                #expect(try await connection.response()?.status == 400)
                #expect(try await connection.closesWithoutResponse())
            }
        }
    }

    /// Idle connections cannot shut scrapers out: at the limit, the oldest one waiting on its
    /// client makes room for the new one.
    @Test func atTheLimitTheOldestWaitingConnectionMakesRoom() async throws {
        try await Self.withServer({ $0.maxConnections = 2 }) { server, port in
            try await TestHTTPConnection.with(port: port) { first in
                try await first.send(TestHTTPConnection.request("GET", "/healthz"))
                _ = try await first.response()
                try await TestHTTPConnection.with(port: port) { second in
                    try await second.send(TestHTTPConnection.request("GET", "/healthz"))
                    _ = try await second.response()
                    #expect(server.connectionCount == 2)
                    let third = try await Self.get(port, "/healthz")
                    #expect(third.status == 200)
                    // The first, idle the longest, was closed for it.
                    #expect(try await first.closesWithoutResponse())
                    try await second.send(TestHTTPConnection.request("GET", "/healthz"))
                    #expect(try await second.response()?.status == 200)
                }
            }
            try await waitUntil { server.connectionCount == 0 }
            let text = try await Self.get(port, "/metrics").text
            #expect(text.contains("logmetrics_scrape_connections_evicted_total 1\n"))
            #expect(text.contains("logmetrics_scrape_connections_rejected_total 0\n"))
        }
    }

    /// Only when every connection is busy answering is a new one refused.
    @Test func connectionsBeyondTheLimitAreRefusedWhenAllAreBusy() async throws {
        // Only the first scrape is slow: the one that is busy while the other connects.
        let scrapes = Atomic<Int>(0)
        let slow: @Sendable () -> MetricSnapshot = {
            if scrapes.add(1, ordering: .sequentiallyConsistent).newValue == 1 { usleep(800_000) }
            return ScrapeServerTests.snapshot()
        }
        try await Self.withServer({ $0.maxConnections = 1 }, snapshot: slow) { server, port in
            try await TestHTTPConnection.with(port: port) { busy in
                try await busy.send(TestHTTPConnection.request("GET", "/metrics"))
                // Busy from the moment its scrape is being taken, however loaded the machine.
                for _ in 0..<2000 where scrapes.load(ordering: .sequentiallyConsistent) == 0 {
                    try await Task.sleep(for: .milliseconds(5))
                }
                let refused = try await TestHTTPConnection.with(port: port) { other in
                    try await other.closesWithoutResponse()
                }
                #expect(refused)
                #expect(try await busy.response()?.status == 200)
            }
            try await waitUntil { server.connectionCount == 0 }
            let text = try await Self.get(port, "/metrics").text
            #expect(text.contains("logmetrics_scrape_connections_rejected_total 1\n"))
        }
    }

    @Test func idleConnectionsAreClosed() async throws {
        // Long enough that a busy test machine usually sends each request before the timer
        // fires; when it does not, the send fails on a closed connection, which is the behaviour
        // under test too, and the attempt is made again.
        try await Self.withServer({ $0.idleTimeout = .milliseconds(750) }) { _, port in
            try await TestHTTPConnection.with(port: port) { (connection: inout TestHTTPConnection) async throws in
                // Half a request head, then nothing: the timer is not reset by trickling bytes.
                if (try? await connection.send("GET /metrics HTTP/1.1\r\n")) != nil {
                    #expect(try await connection.closesWithoutResponse())
                }
            }
            var answered = false
            for _ in 0..<5 where !answered {
                try await TestHTTPConnection.with(port: port) { (connection: inout TestHTTPConnection) async throws in
                    guard (try? await connection.send(TestHTTPConnection.request("GET", "/healthz"))) != nil,
                        let response = try? await connection.response()
                    else { return }
                    answered = true
                    #expect(response.status == 200)
                    // Kept alive after the response, then closed once idle.
                    #expect(try await connection.closesWithoutResponse())
                }
            }
            #expect(answered)
        }
    }

    @Test func shutdownClosesConnectionsAndStopsListening() async throws {
        let server = ScrapeServer(
            configuration: .init(host: "127.0.0.1", port: 0), snapshot: { ScrapeServerTests.snapshot() })
        let port = try #require(try await server.start().port)
        try await TestHTTPConnection.with(port: port) { connection in
            try await connection.send(TestHTTPConnection.request("GET", "/healthz"))
            _ = try await connection.response()
            try await server.shutdown()
            #expect(try await connection.closesWithoutResponse())
        }
        await #expect(throws: (any Error).self) {
            try await TestHTTPConnection.with(port: port) { _ in }
        }
        await #expect(throws: ScrapeServerError.alreadyStarted) { _ = try await server.start() }
    }

    /// Polls `condition` on a short interval; connection bookkeeping finishes on an event loop
    /// just after the client sees the close.
    func waitUntil(_ condition: () -> Bool) async throws {
        for _ in 0..<200 where !condition() {
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(condition())
    }
}
