import Foundation
import Synchronization
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A running `logmetrics` serving on a free port, stopped at the end.
final class RunningServer {
    let process = Process()
    let errors = Pipe()
    private(set) var port = 0

    init(_ arguments: [String]) throws {
        process.executableURL = CommandRunner.executable
        process.arguments = ["--listen", "127.0.0.1:0"] + arguments
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // The first line on stderr says where it listens.
        var text = ""
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let chunk = errors.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
            if let range = text.range(of: #"127\.0\.0\.1:([0-9]+)/metrics"#, options: .regularExpression) {
                let match = text[range]
                port = Int(match.split(separator: ":")[1].split(separator: "/")[0])!
                break
            }
        }
        guard port > 0 else { throw ServerError.didNotStart(text) }
    }

    enum ServerError: Error { case didNotStart(String) }

    func get(_ path: String = "/metrics") throws -> (Int, String) {
        let url = URL(string: "http://127.0.0.1:\(port)\(path)")!
        let result = Mutex<(Int, String)?>(nil)
        let done = DispatchSemaphore(value: 0)
        URLSession.shared.dataTask(with: url) { data, response, _ in
            result.withLock {
                $0 = ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data ?? Data(), as: UTF8.self))
            }
            done.signal()
        }.resume()
        _ = done.wait(timeout: .now() + 10)
        return result.withLock { $0 } ?? (0, "")
    }

    /// Scrapes until `condition` holds (the server follows files on an interval), at most 10 s.
    func scrape(until condition: (String) -> Bool) throws -> String {
        var body = ""
        for _ in 0..<100 {
            body = try get().1
            if condition(body) { return body }
            usleep(100_000)
        }
        return body
    }

    func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    func stop() -> Int32 {
        signal(SIGTERM)
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { process.terminate() }
    }
}

func total(_ exposition: String, _ name: String = "logmetrics_http_requests_total") -> Double {
    samples(exposition, name).map(\.1).reduce(0, +)
}

@Suite(.serialized) struct ServeCommandTests {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "logmetrics-serve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func fixtureLines() throws -> [String] {
        try String(contentsOfFile: CommandRunner.fixture("access.log"), encoding: .utf8).split(separator: "\n").map(
            String.init)
    }

    func append(_ lines: ArraySlice<String>, to file: URL) throws {
        let handle = try FileHandle(forWritingTo: file)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data((lines.joined(separator: "\n") + "\n").utf8))
        try handle.close()
    }

    @Test func followsAFileThroughRotationAndServesExactCounts() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let lines = try fixtureLines()
        let log = directory.appendingPathComponent("access.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        try append(lines[0..<200], to: log)
        let server = try RunningServer(["--from", "head", "--poll-interval-ms", "50", log.path])
        var body = try server.scrape { total($0) == 200 }
        #expect(total(body) == 200)
        try append(lines[200..<300], to: log)
        // Rotation by rename: the old file gets its last lines, then a new file appears.
        try FileManager.default.moveItem(at: log, to: directory.appendingPathComponent("access.log.1"))
        try append(lines[300..<350], to: directory.appendingPathComponent("access.log.1"))
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        try append(lines[350..<600], to: log)
        body = try server.scrape { total($0) == 600 }
        #expect(total(body) == 600)
        #expect(samples(body, "logmetrics_lines_total").first { $0.0["result"] == "parsed" }?.1 == 600)
        #expect(try server.get("/healthz").0 == 200)
        #expect(try server.get("/nope").0 == 404)
        #expect(server.stop() == 0)
    }

    @Test func reloadsOnHangupAndKeepsCounters() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let lines = try fixtureLines()
        let log = directory.appendingPathComponent("access.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        try append(lines[0..<300], to: log)
        let config = directory.appendingPathComponent("config.yaml")
        try "routes:\n  - name: users\n    match: { path: \"/users/{id}\" }\n".write(
            to: config, atomically: true, encoding: .utf8)
        let server = try RunningServer([
            "--config", config.path, "--from", "head", "--poll-interval-ms", "50", log.path,
        ])
        _ = try server.scrape { total($0) == 300 }
        // A broken configuration is refused and counted; the counting goes on.
        try "routes: [\n".write(to: config, atomically: true, encoding: .utf8)
        server.signal(SIGHUP)
        var body = try server.scrape { $0.contains(#"logmetrics_config_reloads_total{result="failure"} 1"#) }
        #expect(body.contains(#"logmetrics_config_reloads_total{result="failure"} 1"#))
        // A good one is taken, and no counter that still exists starts over.
        try
            "routes:\n  - name: users\n    match: { path: \"/users/{id}\" }\nlabels:\n  families: { http_request_duration_seconds: [route] }\n"
            .write(to: config, atomically: true, encoding: .utf8)
        server.signal(SIGHUP)
        _ = try server.scrape { $0.contains(#"logmetrics_config_reloads_total{result="success"} 1"#) }
        try append(lines[300..<600], to: log)
        body = try server.scrape { total($0) == 600 }
        #expect(total(body) == 600)
        #expect(samples(body, "logmetrics_lines_total").first { $0.0["result"] == "parsed" }?.1 == 600)
        #expect(server.stop() == 0)
    }

    /// SIGHUP while a writer appends: every line is counted once, and no request counter that
    /// the new configuration keeps is ever seen lower than before.
    @Test func reloadsUnderLoadLoseNoCountAndResetNoCounter() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let lines = try fixtureLines()
        let log = directory.appendingPathComponent("access.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let config = directory.appendingPathComponent("config.yaml")
        let configurations = [
            "routes:\n  - name: users\n    match: { path: \"/users/{id}\" }\n",
            "routes:\n  - name: users\n    match: { path: \"/users/{id}\" }\n"
                + "labels:\n  families: { http_request_duration_seconds: [route] }\n",
            "routes: [\n",  // broken: refused, the one in force kept
        ]
        try configurations[0].write(to: config, atomically: true, encoding: .utf8)
        let server = try RunningServer(["--config", config.path, "--from", "head", log.path])
        let batches = 20
        let writer = Thread { [self] in
            for _ in 0..<batches {
                try? append(lines[0..<600], to: log)
                usleep(50_000)
            }
        }
        writer.start()
        var highest: [String: Double] = [:]
        var decreases: [String] = []
        // Every body the scrapes see is looked at, and the one a wait ends on is the one judged.
        func look(_ body: String) {
            for (labels, value) in samples(body, "logmetrics_http_requests_total") {
                let key = labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
                if value < highest[key, default: 0] { decreases.append("\(key): \(highest[key]!) -> \(value)") }
                highest[key] = max(value, highest[key, default: 0])
            }
        }
        for reload in 0..<12 {
            try configurations[reload % 3].write(to: config, atomically: true, encoding: .utf8)
            server.signal(SIGHUP)
            // One at a time: signals sent faster than they are handled may arrive as one.
            let done = reload + 1
            _ = try server.scrape { body in
                look(body)
                let counts = samples(body, "logmetrics_config_reloads_total").map(\.1).reduce(0, +)
                return counts >= Double(done)
            }
        }
        let body = try server.scrape { body in
            look(body)
            return total(body) == Double(batches * 600)
        }
        #expect(total(body) == Double(batches * 600))
        #expect(decreases.isEmpty, "\(decreases.prefix(3))")
        #expect(body.contains(#"logmetrics_config_reloads_total{result="failure"} 4"#))
        #expect(body.contains(#"logmetrics_config_reloads_total{result="success"} 8"#))
        #expect(server.stop() == 0)
    }

    /// A CRI record split in `P` parts, killed between its parts: the checkpoint's position goes
    /// back to its first part, so after the restart it is read whole, once.
    @Test func aSplitRecordPendingAtAKillIsReadWholeAfterTheRestart() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let lines = try fixtureLines()
        func cri(_ content: String, _ tag: String) -> String {
            "2026-12-01T10:00:00.000000001Z stdout \(tag) \(content)\n"
        }
        let log = directory.appendingPathComponent("0.log")
        let state = directory.appendingPathComponent("state")
        let split = lines[10]
        try (lines[0..<10].map { cri($0, "F") }.joined() + cri(String(split.prefix(300)), "P"))
            .write(to: log, atomically: false, encoding: .utf8)
        let arguments = ["--from", "head", "--state-dir", state.path, log.path]
        let first = try RunningServer(arguments)
        let body = try first.scrape { total($0) == 10 }
        #expect(total(body) == 10)
        first.signal(SIGKILL)
        first.process.waitUntilExit()
        let handle = try FileHandle(forWritingTo: log)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(cri(String(split.dropFirst(300)), "F").utf8))
        try handle.close()
        let second = try RunningServer(arguments)
        let after = try second.scrape { total($0) == 11 }
        #expect(total(after) == 11)
        let malformed = samples(after, "logmetrics_lines_total").filter { $0.0["result"] == "malformed" }.map(\.1)
        #expect(malformed.reduce(0, +) == 0)
        #expect(second.stop() == 0)
    }

    @Test func standardInputUntilItEnds() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let process = Process()
        process.executableURL = CommandRunner.executable
        process.arguments = ["--listen", "127.0.0.1:0", "--exit-on-eof"]
        let input = Pipe()
        process.standardInput = input
        process.standardError = FileHandle.nullDevice
        try process.run()
        input.fileHandleForWriting.write(
            try Data(contentsOf: URL(fileURLWithPath: CommandRunner.fixture("access.log"))))
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }

    /// `kubectl logs -f` keeps the pipe open and may say nothing for minutes: SIGTERM must still
    /// end the process promptly rather than wait for the writer.
    @Test func aStopIsPromptWhileStandardInputStaysOpenAndSilent() throws {
        let process = Process()
        process.executableURL = CommandRunner.executable
        process.arguments = ["--listen", "127.0.0.1:0"]
        let input = Pipe()
        process.standardInput = input
        process.standardError = FileHandle.nullDevice
        try process.run()
        input.fileHandleForWriting.write(
            try Data(contentsOf: URL(fileURLWithPath: CommandRunner.fixture("access.log"))))
        usleep(500_000)
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        let stopped = !process.isRunning
        if !stopped { process.terminate() }
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        #expect(stopped)
        #expect(process.terminationStatus == 0)
    }
}
