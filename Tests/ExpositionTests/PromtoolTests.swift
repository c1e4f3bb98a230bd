import Exposition
import Foundation
import Testing

/// `promtool check metrics` (from the `prometheus` package) must accept what the text writer
/// produces, lint warnings included.
///
/// promtool 2.42 reads OpenMetrics with its text-format parser (an OpenMetrics reader for it is
/// prometheus/prometheus#8932): it takes the `foo_total` samples of a counter `foo` and the
/// `foo_created` samples for families of their own without HELP, and cannot read exemplars at
/// all. OpenMetrics output without exemplars is checked by promtool for everything else; the
/// strict reader in `ExpositionParser` checks it whole, and real Prometheus reads it with
/// exemplars in `e2e/prometheus`.
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

    @Test(.enabled(if: promtool != nil, "promtool is not on PATH (apt-get install -y prometheus)"))
    func openMetricsFormatHasOnlyTheLintsOfTextParsing() throws {
        var snapshot = Self.realistic()
        // OpenMetrics' `unknown` type is the text format's `untyped`; logmetrics serves neither.
        snapshot.families.removeAll { $0.type == .unknown }
        for k in snapshot.families.indices {
            snapshot.families[k].exemplars = nil
            // OpenMetrics escapes a quote in HELP, which the text format does not allow.
            snapshot.families[k].help = snapshot.families[k].help.replacingOccurrences(of: "\"", with: "'")
            snapshot.families[k].created = Array(repeating: 1_700_000_000.5, count: snapshot.families[k].seriesCount)
        }
        var out: [UInt8] = []
        OpenMetricsFormatWriter.write(snapshot, into: &out)
        let result = try Self.check(out)
        #expect(result.status == 0 || result.status == 3, "a parse error, not lints: \(result.output)")
        var expected = Set<String>()
        for family in snapshot.families {
            if family.type == .counter { expected.insert("\(family.name)_total no help text") }
            if family.type != .gauge { expected.insert("\(family.name)_created no help text") }
        }
        let lines = result.output.split(separator: "\n").map(String.init)
        #expect(!lines.isEmpty)
        for line in lines { #expect(expected.contains(line), "unexpected promtool finding: \(line)") }
    }
}
