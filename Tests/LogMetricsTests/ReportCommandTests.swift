import Foundation
import Testing

@Suite(.serialized) struct ReportCommandTests {
    /// The committed real Envoy run, in its three forms, against the counts fixed before its traffic.
    @Test(arguments: ["access.log", "cri.log", "docker-json.log"])
    func countsEqualTheGroundTruth(file: String) throws {
        let result = try CommandRunner.run(["report", "--format", "prometheus", CommandRunner.fixture(file)])
        #expect(result.status == 0, "\(result.stderr)")
        let truth =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: CommandRunner.fixture("truth.json")))) as! [String: Any]
        let expected = truth["http_requests_total"] as? [[String: Any]] ?? []
        var want: [String: Double] = [:]
        for series in expected {
            let labels = series["labels"] as! [String: String]
            want[Self.key(labels), default: 0] += (series["value"] as! NSNumber).doubleValue
        }
        var got: [String: Double] = [:]
        for (labels, value) in samples(result.stdout, "logmetrics_http_requests_total") {
            got[Self.key(labels), default: 0] += value
        }
        #expect(!want.isEmpty)
        #expect(got == want)
        let parsed = samples(result.stdout, "logmetrics_lines_total").first { $0.0["result"] == "parsed" }?.1
        #expect(parsed == 600)
    }

    static func key(_ labels: [String: String]) -> String {
        ["route", "method", "response_code", "response_flags", "error_type", "slow_request"]
            .map { "\($0)=\(labels[$0] ?? "")" }.joined(separator: ",")
    }

    @Test func readsStandardInputWhenNoPathIsGiven() throws {
        let input = try Data(contentsOf: URL(fileURLWithPath: CommandRunner.fixture("access.log")))
        let result = try CommandRunner.run(["report", "--format", "prometheus"], stdin: input)
        #expect(result.status == 0)
        let total = samples(result.stdout, "logmetrics_http_requests_total").map(\.1).reduce(0, +)
        #expect(total == 600)
    }

    @Test func aMissingFileIsNamedAndTheOthersStillCounted() throws {
        let result = try CommandRunner.run([
            "report", "--format", "prometheus", "/nonexistent/access.log", CommandRunner.fixture("access.log"),
        ])
        #expect(result.status == 1)
        #expect(result.stderr.contains("/nonexistent/access.log"))
        let total = samples(result.stdout, "logmetrics_http_requests_total").map(\.1).reduce(0, +)
        #expect(total == 600)
    }

    /// A DaemonSet's backfill: a glob over kubelet's layout with a rotated, gzipped generation,
    /// labels from the path, and a gzip file cut short whose complete lines still count.
    @Test func globsOverPodLogsWithGzipGenerationsAndPathLabels() throws {
        let base = NSTemporaryDirectory() + "logmetrics-report-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: base) }
        let root = base + "/pods"
        let container = root + "/shop_checkout-7d9f8c6b5-x2x4q_6b1c/istio-proxy"
        try FileManager.default.createDirectory(atPath: container, withIntermediateDirectories: true)
        let log = try Data(contentsOf: URL(fileURLWithPath: CommandRunner.fixture("cri.log")))
        let lines = log.split(separator: 0x0A, omittingEmptySubsequences: false)
        let older = Data(lines[0..<400].joined(separator: [0x0A])) + Data([0x0A])
        let newer = Data(lines[400...].joined(separator: [0x0A]))
        try gzip(older).write(to: URL(fileURLWithPath: container + "/0.log.20261201-101500.gz"))
        try newer.write(to: URL(fileURLWithPath: container + "/0.log"))
        let config = root + "/config.yaml"
        try "labels: { source: [namespace, pod, container, workload] }\n".write(
            toFile: config, atomically: true, encoding: .utf8)
        let result = try CommandRunner.run(["report", "--format", "prometheus", "--config", config, root + "/*/*/*"])
        #expect(result.status == 0, "\(result.stderr)")
        let requests = samples(result.stdout, "logmetrics_http_requests_total")
        #expect(requests.map(\.1).reduce(0, +) == 600)
        #expect(requests.allSatisfy { $0.0["namespace"] == "shop" && $0.0["workload"] == "checkout" })
        #expect(requests.allSatisfy { $0.0["pod"] == "checkout-7d9f8c6b5-x2x4q" && $0.0["container"] == "istio-proxy" })

        let cut = root + "/cut.log.gz"
        let whole = try gzip(older)
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: cut))
        let damaged = try CommandRunner.run(["report", "--format", "prometheus", cut])
        #expect(damaged.status == 1)
        #expect(damaged.stderr.contains(cut))
        let parsed = samples(damaged.stdout, "logmetrics_lines_total").first { $0.0["result"] == "parsed" }?.1 ?? 0
        #expect(parsed > 0 && parsed < 400)

        let none = try CommandRunner.run(["report", "--format", "prometheus", root + "/nothing/*.log"])
        #expect(none.status == 1)
        #expect(none.stderr.contains("no file matches"))
    }

    func gzip(_ data: Data) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-c"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(data)
        try input.fileHandleForWriting.close()
        let result = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return result
    }

    @Test func badLinesAreCountedAndTheRestSurvive() throws {
        var input = try Data(contentsOf: URL(fileURLWithPath: CommandRunner.fixture("access.log")))
        input.append(contentsOf: Array("{\"response_code\":200,\"path\":\"/cut".utf8) + [0x0A])
        input.append(contentsOf: [0xFF, 0xFE, 0x00, 0x01, 0x0A, 0x0A])
        input.append(contentsOf: Array("[2026-11-20 10:00:00.123][15][warning][config] gRPC stream closed\n".utf8))
        let result = try CommandRunner.run(["report", "--format", "prometheus"], stdin: input)
        let lines = Dictionary(
            samples(result.stdout, "logmetrics_lines_total").map {
                ("\($0.0["result"]!)/\($0.0["reason"] ?? "")", $0.1)
            },
            uniquingKeysWith: +)
        #expect(lines["parsed/"] == 600)
        #expect(lines["malformed/truncated_json"] == 1)
        #expect(lines["skipped/not_access_log"] == 2)
        #expect(lines["skipped/empty"] == 1)
    }

    @Test func unknownOptionsAreRejectedWithUsage() throws {
        let result = try CommandRunner.run(["report", "--format", "prometheus", "--no-such-option"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("--no-such-option"))
    }
}
