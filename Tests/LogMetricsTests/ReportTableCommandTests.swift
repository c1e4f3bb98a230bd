import Foundation
import Testing

/// `report`'s table and JSON against the committed real Envoy run and its ground truth.
@Suite(.serialized) struct ReportTableCommandTests {
    struct Expected {
        var requests = 0
        var clientErrors = 0
        var serverErrors = 0
        var slow = 0
        var flags: [String: Int] = [:]
        var durations: [Int] = []

        /// The duration of the request of rank ceil(q * n), the definition the report estimates.
        func quantile(_ q: Double) -> Double {
            let sorted = durations.sorted()
            let rank = max(1, Int((q * Double(sorted.count)).rounded(.up)))
            return Double(sorted[rank - 1])
        }
    }

    /// Per route, from truth.json's counts (fixed before the traffic ran) and the durations Envoy logged.
    static func expected() throws -> (rows: [String: Expected], span: Double) {
        let truth =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: CommandRunner.fixture("truth.json")))) as! [String: Any]
        var rows: [String: Expected] = [:]
        for series in truth["http_requests_total"] as! [[String: Any]] {
            let labels = series["labels"] as! [String: String]
            let value = (series["value"] as! NSNumber).intValue
            var row = rows[labels["route"]!] ?? Expected()
            row.requests += value
            let code = Int(labels["response_code"]!)!
            if (400..<500).contains(code) { row.clientErrors += value }
            if code >= 500 { row.serverErrors += value }
            if labels["slow_request"] == "true" { row.slow += value }
            for flag in labels["response_flags"]!.split(separator: ",") where flag != "-" {
                row.flags[String(flag), default: 0] += value
            }
            rows[labels["route"]!] = row
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var times: [Double] = []
        for line in try String(contentsOfFile: CommandRunner.fixture("access.log"), encoding: .utf8).split(
            separator: "\n")
        {
            let record = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            let path = (record["path"] as! String).split(separator: "?", omittingEmptySubsequences: false)[0]
            let route = (record["route_name"] as? String) ?? String(path)
            rows[route]!.durations.append((record["duration"] as! NSNumber).intValue)
            times.append(formatter.date(from: record["start_time"] as! String)!.timeIntervalSince1970)
        }
        return (rows, times.max()! - times.min()!)
    }

    static func json(_ arguments: [String]) throws -> [String: Any] {
        let result = try CommandRunner.run(["report", "--format", "json"] + arguments)
        #expect(result.status == 0, "\(result.stderr)")
        return try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
    }

    @Test(arguments: ["access.log", "cri.log", "docker-json.log"])
    func jsonRowsMatchTheGroundTruth(file: String) throws {
        let (expected, span) = try Self.expected()
        let report = try Self.json([CommandRunner.fixture(file)])
        #expect(report["requests"] as? Int == 600)
        #expect(abs((report["span_seconds"] as! Double) - span) < 0.001)
        #expect((report["lines"] as! [String: Int])["parsed"] == 600)
        let rows = report["rows"] as! [[String: Any]]
        #expect(rows.count == expected.count)
        // By traffic, highest first.
        let counts = rows.map { $0["requests"] as! Int }
        #expect(counts == counts.sorted(by: >))
        for row in rows {
            let key = row["key"] as! String
            let want = try #require(expected[key], "unexpected row \(key)")
            #expect(row["requests"] as? Int == want.requests, "\(key)")
            #expect(row["client_errors"] as? Int == want.clientErrors, "\(key)")
            #expect(row["server_errors"] as? Int == want.serverErrors, "\(key)")
            #expect(row["slow"] as? Int == want.slow, "\(key)")
            #expect(row["response_flags"] as? [String: Int] == want.flags, "\(key)")
            let ratio = row["server_error_ratio"] as! Double
            #expect(abs(ratio - Double(want.serverErrors) / Double(want.requests)) < 1e-9)
            let rate = row["requests_per_second"] as! Double
            #expect(abs(rate - Double(want.requests) / span) < 1e-6)
            let duration = row["duration_ms"] as! [String: Any]
            for (name, q) in [("p50", 0.5), ("p95", 0.95), ("p99", 0.99)] {
                let truth = want.quantile(q)
                let estimate = duration[name] as! Double
                // Exact up to 64 ms (whole milliseconds each have a bucket), within 2.2 % above.
                if truth <= 64 {
                    #expect(estimate == truth, "\(key) \(name)")
                } else {
                    #expect(abs(estimate - truth) / truth <= 0.022, "\(key) \(name): \(estimate) vs \(truth)")
                }
            }
        }
    }

    @Test func theTableShowsTheSameNumbersForAPerson() throws {
        let (expected, _) = try Self.expected()
        let result = try CommandRunner.run(["report", "--top", "5", CommandRunner.fixture("access.log")])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(
            lines[0].split(separator: " ", omittingEmptySubsequences: true) == [
                "ROUTE", "REQUESTS", "REQ/S", "4XX%", "5XX%", "P50", "P95", "P99", "SLOW%", "FLAGS",
            ])
        let top = expected.sorted {
            $0.value.requests != $1.value.requests ? $0.value.requests > $1.value.requests : $0.key < $1.key
        }
        for (k, (route, want)) in top.prefix(5).enumerated() {
            let cells = lines[k + 1].split(separator: " ").map(String.init)
            #expect(cells[0] == route)
            #expect(cells[1] == String(want.requests))
            func percent(_ part: Int) -> String {
                part == 0 ? "0" : String(format: "%.1f", 100 * Double(part) / Double(want.requests))
            }
            #expect(cells[3] == percent(want.clientErrors), "\(route) 4xx")
            #expect(cells[4] == percent(want.serverErrors), "\(route) 5xx")
            #expect(cells[8] == percent(want.slow), "\(route) slow")
        }
        #expect(lines[6] == "… \(expected.count - 5) more routes (--top)")
        #expect(result.stdout.contains("600 requests over "))
        #expect(result.stdout.contains("lines: 600 parsed, 0 skipped, 0 malformed, 0 oversized"))
        // Without a terminal there is no progress meter.
        #expect(result.stderr.isEmpty)
    }

    @Test func rowsCanBeByResponseCodeMethodAuthorityOrDestination() throws {
        let byCode = try Self.json(["--by", "response_code", CommandRunner.fixture("access.log")])
        let codes = Dictionary(
            uniqueKeysWithValues: (byCode["rows"] as! [[String: Any]]).map {
                ($0["key"] as! String, $0["requests"] as! Int)
            })
        #expect(
            codes == [
                "0": 2, "200": 369, "201": 20, "202": 34, "204": 13, "301": 10, "404": 61, "429": 20, "500": 20,
                "503": 39, "504": 12,
            ])
        let byDestination = try Self.json(["--by", "destination", CommandRunner.fixture("access.log")])
        let destinations = (byDestination["rows"] as! [[String: Any]]).map { $0["key"] as! String }
        #expect(destinations.contains("users.shop.svc.cluster.local"))
        let byAuthority = try Self.json(["--by", "authority", CommandRunner.fixture("access.log")])
        #expect((byAuthority["rows"] as! [[String: Any]]).map { $0["requests"] as! Int }.reduce(0, +) == 600)
        let byMethod = try Self.json(["--by", "method", "--top", "1", CommandRunner.fixture("access.log")])
        #expect((byMethod["rows"] as! [[String: Any]]).count == 1)
    }

    @Test func aGzippedLogReadsTheSame() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("report-gz-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let copy = directory.appendingPathComponent("access.log")
        try FileManager.default.copyItem(atPath: CommandRunner.fixture("access.log"), toPath: copy.path)
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        gzip.arguments = ["gzip", copy.path]
        try gzip.run()
        gzip.waitUntilExit()
        let plain = try Self.json([CommandRunner.fixture("access.log")])
        let compressed = try Self.json([copy.path + ".gz"])
        #expect(NSDictionary(dictionary: plain) == NSDictionary(dictionary: compressed))
    }

    @Test func progressIsShownOnStandardErrorWhenAsked() throws {
        // Large enough to take longer than the meter's first redraw interval, in a debug build.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("report-progress-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let big = directory.appendingPathComponent("access.log")
        let once = try Data(contentsOf: URL(fileURLWithPath: CommandRunner.fixture("access.log")))
        #expect(FileManager.default.createFile(atPath: big.path, contents: nil))
        let handle = try FileHandle(forWritingTo: big)
        for _ in 0..<100 { handle.write(once) }
        try handle.close()
        let result = try CommandRunner.run(["report", "--progress", big.path])
        #expect(result.status == 0)
        #expect(result.stderr.contains("lines/s") && result.stderr.contains("%"), "\(result.stderr.suffix(200))")
        // Erased before the table is printed, which stays clean.
        #expect(result.stderr.hasSuffix("\r\u{1B}[K"))
        #expect(result.stdout.hasPrefix("ROUTE"))
        #expect(result.stdout.contains("60000 requests"))
        let quiet = try CommandRunner.run(["report", "--no-progress", big.path])
        #expect(quiet.stderr.isEmpty)
    }

    @Test func openMetricsCountsTheSameAndEnds() throws {
        let result = try CommandRunner.run(["report", "--format", "openmetrics", CommandRunner.fixture("access.log")])
        #expect(result.status == 0)
        #expect(result.stdout.hasSuffix("# EOF\n"))
        let total = result.stdout.split(separator: "\n").filter { $0.hasPrefix("logmetrics_http_requests_total{") }
            .map { Double($0.split(separator: " ")[1])! }.reduce(0, +)
        #expect(total == 600)
    }
}
