import AccessLogParser
import Aggregation
import Configuration
import Foundation
import Testing

@testable import Reporting

/// Reads `text` through the table's schema for `configuration` and returns its table.
func table(
    _ text: String, by grouping: Grouping = .route, configuration: LogMetricsConfiguration = LogMetricsConfiguration()
) throws -> Table {
    let compiled = try ConfigurationCompiler.compile(configuration)
    let counting = compiled.counting(
        into: try RouteTable.schema(by: grouping, like: compiled.schema), alsoReading: [.startTime])
    let pipeline = Pipeline(schema: counting.schema, shards: 1)
    let decoder = AccessLogDecoder(configuration: counting.parser)
    var span = TimeSpan()
    let bytes = Array(text.utf8)
    pipeline.shards[0].withRecorder { state in
        state.currentInput = state.addInput(labels: [:])
        state.updateClock()
        withUnsafeMutablePointer(to: &state) { pointer in
            var sink = TimeSpanSink(inner: pointer, span: span)
            bytes.withUnsafeBufferPointer { decoder.feed($0, into: &sink) }
            decoder.finish(into: &sink)
            span = sink.span
        }
        state.updateInput(lines: decoder.counts, bytes: UInt64(bytes.count))
    }
    var result = RouteTable.table(from: pipeline.snapshot(includeNative: false), by: grouping)
    result.firstRequest = span.first
    result.lastRequest = span.last
    return result
}

func line(
    route: String? = nil, path: String = "/", method: String = "GET", code: Int = 200, flags: String = "-",
    duration: Int = 1, authority: String = "shop.example.com", cluster: String? = nil,
    start: String = "2026-11-22T04:45:08.800Z"
) -> String {
    let routeValue = route.map { "\"\($0)\"" } ?? "null"
    let clusterValue = cluster.map { "\"\($0)\"" } ?? "null"
    return """
        {"authority":"\(authority)","duration":\(duration),"method":"\(method)","path":"\(path)",\
        "protocol":"HTTP/1.1","response_code":\(code),"response_flags":"\(flags)","route_name":\(routeValue),\
        "start_time":"\(start)","upstream_cluster":\(clusterValue)}
        """
}

@Suite struct RouteTableTests {
    @Test func rowsCountCodesSlownessAndFlagsByTraffic() throws {
        var lines: [String] = []
        for _ in 0..<3 { lines.append(line(route: "users", code: 200)) }
        lines.append(line(route: "users", code: 404, flags: "NR"))
        lines.append(line(route: "users", code: 503, flags: "URX,UF", duration: 1500))
        lines.append(line(route: "orders", code: 0, flags: "DC"))
        let t = try table(lines.joined(separator: "\n") + "\n")
        #expect(t.rows.map(\.key) == ["users", "orders"])
        let users = t.rows[0]
        #expect(users.requests == 5)
        #expect(users.clientErrors == 1)
        #expect(users.serverErrors == 1)
        #expect(users.slow == 1)
        #expect(users.flags == ["NR": 1, "UF": 1, "URX": 1])
        #expect(t.rows[1].serverErrors == 0 && t.rows[1].clientErrors == 0)  // code 0 is neither
        #expect(t.lines["parsed"] == 6)
    }

    @Test func quantilesAreExactUpToSixtyFourMillisecondsAndWithinTheBoundAbove() throws {
        // 1 ... 200 ms, one request each: the rank-r request took r ms.
        let lines = (1...200).map { line(route: "r", duration: $0) }
        let row = try table(lines.joined(separator: "\n")).rows[0]
        #expect(row.durationQuantile(0.25) == 50)
        #expect(row.durationQuantile(0.005) == 1)
        for (q, truth) in [(0.5, 100.0), (0.95, 190.0), (0.99, 198.0), (1.0, 200.0)] {
            let estimate = try #require(row.durationQuantile(q))
            #expect(abs(estimate - truth) / truth <= RouteTable.relativeError, "q=\(q): \(estimate) vs \(truth)")
        }
        #expect(row.durationSumMilliseconds == Double((1...200).reduce(0, +)))
    }

    @Test func zeroMillisecondRequestsHaveAZeroQuantile() throws {
        let row = try table((0..<10).map { _ in line(route: "r", duration: 0) }.joined(separator: "\n")).rows[0]
        #expect(row.durationQuantile(0.99) == 0)
    }

    @Test(arguments: Grouping.allCases)
    func everyGroupingKeysTheRows(grouping: Grouping) throws {
        let lines = [
            line(
                route: "a", method: "GET", code: 200, authority: "a.example.com",
                cluster: "outbound|80||a.shop.svc.cluster.local"),
            line(
                route: "a", method: "GET", code: 200, authority: "a.example.com",
                cluster: "outbound|80||a.shop.svc.cluster.local"),
            line(
                route: "b", method: "POST", code: 503, authority: "b.example.com",
                cluster: "outbound|80||b.shop.svc.cluster.local"),
        ]
        let t = try table(lines.joined(separator: "\n"), by: grouping)
        let expected: [String] =
            switch grouping {
            case .route: ["a", "b"]
            case .destination: ["a.shop.svc.cluster.local", "b.shop.svc.cluster.local"]
            case .authority: ["a.example.com", "b.example.com"]
            case .method: ["GET", "POST"]
            case .responseCode: ["200", "503"]
            }
        #expect(t.rows.map(\.key) == expected)
        #expect(t.rows.map(\.requests) == [2, 1])
        #expect(t.rows[1].serverErrors == 1)
    }

    @Test func configuredRoutesAndPerRouteThresholdsApply() throws {
        let yaml = """
            routes:
              - name: user
                match: { path: "/users/{id}" }
            slow_request: { threshold_ms: 1000, per_route: { user: 100 } }
            """
        let configuration = try ConfigurationLoader.load(yaml: yaml, file: "test.yaml")
        let lines = [line(path: "/users/1", duration: 150), line(path: "/users/2", duration: 50)]
        let t = try table(lines.joined(separator: "\n"), configuration: configuration)
        #expect(t.rows.map(\.key) == ["user"])
        #expect(t.rows[0].slow == 1)
    }

    @Test func theTimeSpanComesFromTheStartTimes() throws {
        let lines = [
            line(route: "a", start: "2026-11-22T04:45:10.000Z"),
            line(route: "a", start: "2026-11-22T04:45:08.500Z"),
            line(route: "a", start: "2026-11-22T04:46:08.500Z"),
        ]
        let t = try table(lines.joined(separator: "\n"))
        #expect(t.spanSeconds == 60)
        #expect(t.firstRequest == 1_795_322_708.5)
    }

    @Test func aLaterReadingLessAnEarlierOneIsWhatHappenedBetween() throws {
        let first = try table([line(route: "a"), line(route: "b", code: 500)].joined(separator: "\n"))
        let second = try table(
            [
                line(route: "a"), line(route: "b", code: 500), line(route: "b", code: 500),
                line(route: "b", duration: 70),
            ]
            .joined(separator: "\n"))
        let between = second.subtracting(first)
        #expect(between.rows.map(\.key) == ["b"])
        #expect(between.rows[0].requests == 2)
        #expect(between.rows[0].serverErrors == 1)
        #expect(between.rows[0].durationCount == 2)
        #expect(between.lines["parsed"] == 2)
    }
}

@Suite struct StartTimeTests {
    func parse(_ s: String) -> Double? {
        Array(s.utf8).withUnsafeBufferPointer { StartTime.parse($0) }
    }

    @Test func envoysFormatsParse() {
        #expect(parse("1970-01-01T00:00:00.000Z") == 0)
        #expect(parse("2026-11-22T04:45:08.800Z") == 1_795_322_708.8)
        #expect(parse("[2026-11-22T04:45:08.800Z]") == 1_795_322_708.8)
        #expect(parse("2026-11-22T04:45:08Z") == 1_795_322_708)
        #expect(parse("2026-11-22T05:45:08.800+01:00") == 1_795_322_708.8)
        #expect(parse("2000-02-29T00:00:00.000Z") == 951_782_400)
        #expect(parse("2024-02-29T00:00:00Z") != nil)
    }

    @Test func anythingElseIsNil() {
        for bad in [
            "", "-", "2026-11-22", "2026-13-01T00:00:00Z", "2026-11-22T25:00:00Z", "yesterday", "1795409108",
            "2026-02-31T00:00:00Z", "2025-02-29T00:00:00Z", "2026-11-22T04:45:08.800Zjunk",
        ] {
            #expect(parse(bad) == nil, "\(bad)")
        }
    }
}

@Suite struct TableWriterTests {
    @Test func controlCharactersFromTheLogDoNotReachTheTerminal() throws {
        let hostile = line(path: "/a", authority: "evil\\u001b]0;PWNED\\u0007\\u001b[31m")
        let t = try table(hostile, by: .authority)
        #expect(t.rows.first?.key == "evil\u{1B}]0;PWNED\u{07}\u{1B}[31m")
        let text = TableWriter.text(t)
        #expect(!text.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 })
        #expect(text.contains("evil\\x1B]0;PWNED\\x07\\x1B[31m"))
        #expect(TableWriter.displayable("caf\u{E9} \u{9B}") == "caf\u{E9} \\x9B")
    }
}

@Suite struct ErrorTypeTests {
    /// As the metrics and the alerts: a gRPC call that failed is a server error though HTTP said 200.
    @Test func aFailedGRPCCallAnsweredWith200IsAServerError() throws {
        let grpc = """
            {"method":"POST","path":"/shop.Cart/Add","protocol":"HTTP/2","response_code":200,"grpc_status":"14",\
            "response_flags":"-","duration":3,"route_name":"cart","start_time":"2026-11-22T04:45:08.800Z"}
            """
        let t = try table(grpc + "\n" + line(route: "cart"))
        #expect(t.rows.first?.requests == 2)
        #expect(t.rows.first?.serverErrors == 1)
    }

    /// A pipeline with the default metrics, fed `text`.
    private func metricsPipeline(_ text: String) throws -> (Pipeline, MetricsSchema) {
        let compiled = try ConfigurationCompiler.compile(LogMetricsConfiguration())
        let pipeline = Pipeline(schema: compiled.schema, shards: 1)
        let decoder = AccessLogDecoder(configuration: compiled.parser)
        let bytes = Array(text.utf8)
        pipeline.shards[0].withRecorder { state in
            state.currentInput = state.addInput(labels: [:])
            state.updateClock()
            bytes.withUnsafeBufferPointer { decoder.feed($0, into: &state) }
            decoder.finish(into: &state)
        }
        return (pipeline, compiled.schema)
    }

    @Test func aTableFromTheMetricsCanKeepTheDetailOfItsBusiestRowsOnly() throws {
        var lines: [String] = []
        for route in 0..<6 {
            for k in 0...(route * 3) {
                lines.append(
                    line(
                        route: "r\(route)", code: k % 4 == 0 ? 503 : 200, flags: k % 4 == 0 ? "UF" : "-",
                        duration: 5 + k))
            }
        }
        let (pipeline, schema) = try metricsPipeline(lines.joined(separator: "\n") + "\n")
        let full = RouteTable.table(fromMetrics: pipeline.snapshot(includeNative: false), schema: schema)
        // The families the table reads are enough for it.
        let read = RouteTable.familiesRead(from: schema)
        #expect(read.contains("logmetrics_http_requests") && !read.contains("logmetrics_http_request_size_bytes"))
        let narrow = pipeline.snapshot(includeNative: false, families: read)
        #expect(narrow.families.contains { $0.name == "logmetrics_http_requests" })
        #expect(!narrow.families.contains { $0.name == "logmetrics_http_request_size_bytes" })
        #expect(RouteTable.table(fromMetrics: narrow, schema: schema) == full)
        // Read from deferred values, a piece at a time, the table is the same.
        let deferred = pipeline.snapshot(includeNative: false, families: read, deferring: true)
        #expect(deferred.families.contains { $0.deferred != nil })
        #expect(
            RouteTable.table(fromMetrics: deferred, schema: schema, rowsWithDetail: 2)
                == RouteTable.table(fromMetrics: narrow, schema: schema, rowsWithDetail: 2))
        let limited = RouteTable.table(fromMetrics: narrow, schema: schema, rowsWithDetail: 2)
        #expect(limited.rows.map(\.key) == full.rows.map(\.key))
        #expect(Array(limited.rows.prefix(2)) == Array(full.rows.prefix(2)))
        #expect(limited.rows.dropFirst(2).elementsEqual(full.rows.dropFirst(2).map { $0.withoutDetail() }))
        #expect(full.rows[0].durationQuantile(0.5) != nil && full.rows[0].flags["UF"] == 4)
        // The report's own families count the same requests, errors, slow requests and flags.
        let report = try table(lines.joined(separator: "\n") + "\n")
        #expect(full.rows.map(\.key) == report.rows.map(\.key))
        for (a, b) in zip(full.rows, report.rows) {
            #expect(a.requests == b.requests && a.clientErrors == b.clientErrors && a.serverErrors == b.serverErrors)
            #expect(a.slow == b.slow && a.flags == b.flags, "\(a.key)")
        }
    }
}
