import Exposition
import Foundation
import Testing

/// `promtool check metrics` (from the `prometheus` package) must accept what the text writer
/// produces, lint warnings included.
///
/// promtool reads only the text format (it parses OpenMetrics' `# {…}` exemplars and `foo_total`
/// samples of a `foo` counter as errors and as separate families), so OpenMetrics output is
/// checked by the strict reader in `ExpositionParser` instead.
@Suite struct PromtoolTests {
    static let promtool: String? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/promtool"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }()

    static func check(_ bytes: [UInt8]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: promtool!)
        process.arguments = ["check", "metrics"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        input.fileHandleForWriting.write(Data(bytes))
        try input.fileHandleForWriting.close()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }

    /// A few hundred series of the shapes logmetrics serves, and one family of each kind.
    static func realistic() -> MetricSnapshot {
        var snapshot = Fixtures.realistic(series: 50)
        let names = Set(snapshot.families.map(\.name))
        snapshot.families += Fixtures.snapshot().families.filter { !names.contains($0.name) }
        return snapshot
    }

    @Test(.enabled(if: promtool != nil, "promtool is not on PATH (apt-get install -y prometheus)"))
    func textFormat() throws {
        var out: [UInt8] = []
        TextFormatWriter.write(Self.realistic(), into: &out)
        let result = try Self.check(out)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.isEmpty, "\(result.output)")
    }
}
