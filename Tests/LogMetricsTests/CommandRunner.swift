import Foundation

/// Runs the built `logmetrics` executable, as a user would.
struct CommandRunner {
    /// The executable next to the test bundle in the build directory.
    static let executable: URL = {
        var directory = Bundle.main.bundleURL
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("logmetrics")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: ".build/debug/logmetrics")
    }()

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ arguments: [String], stdin: Data? = nil) throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let input = Pipe()
        process.standardInput = stdin == nil ? FileHandle.nullDevice : input
        try process.run()
        if let stdin {
            input.fileHandleForWriting.write(stdin)
            try input.fileHandleForWriting.close()
        }
        // Read both pipes before waiting so that a large output cannot block the child.
        let stdoutData = out.fileHandleForReading.readDataToEndOfFile()
        let stderrData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, stdout: String(decoding: stdoutData, as: UTF8.self),
            stderr: String(decoding: stderrData, as: UTF8.self))
    }

    /// The repository root (for the committed fixtures).
    static let repository: URL = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url
    }()

    static func fixture(_ name: String) -> String {
        repository.appendingPathComponent("e2e/fixtures/envoy-1.40/\(name)").path
    }
}

/// Prometheus text samples of one family, label sets as dictionaries.
func samples(_ exposition: String, _ name: String) -> [([String: String], Double)] {
    var result: [([String: String], Double)] = []
    for line in exposition.split(separator: "\n") where line.hasPrefix(name + "{") || line.hasPrefix(name + " ") {
        guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
            continue
        }
        var labels: [String: String] = [:]
        if let open = line.firstIndex(of: "{"), let close = line.lastIndex(of: "}") {
            let body = line[line.index(after: open)..<close]
            var rest = Substring(body)
            while let equals = rest.firstIndex(of: "=") {
                let key = String(rest[..<equals]).trimmingCharacters(in: CharacterSet(charactersIn: ","))
                var value = ""
                var index = rest.index(equals, offsetBy: 2)
                while index < rest.endIndex && rest[index] != "\"" {
                    if rest[index] == "\\" {
                        index = rest.index(after: index)
                        value.append(rest[index] == "n" ? "\n" : rest[index])
                    } else {
                        value.append(rest[index])
                    }
                    index = rest.index(after: index)
                }
                labels[key] = value
                rest = rest[rest.index(after: index)...]
            }
        }
        result.append((labels, value))
    }
    return result
}
