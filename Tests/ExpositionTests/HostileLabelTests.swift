import Exposition
import Testing

/// A label value can only ever end up inside its own quotes (or its own protobuf string): no
/// value adds a series, breaks one, or changes another's value, in any format.
@Suite struct HostileLabelTests {
    static let values: [String] = [
        "\"", "\\", "\n", "\\n", "} 1e9\nfake_metric 1", "\"} 1\nfake_metric{a=\"b\"} 2\n# EOF\n",
        "# TYPE fake counter", "\r\n", "{}", "a=\"b\",c=\"d", sanitized([0x66, 0xFF, 0xFE, 0x00, 0x6F, 0xC3]),
        sanitized([0x00]), "é\u{2028}💥",
    ]

    static func sanitized(_ bytes: [UInt8]) -> String {
        bytes.withUnsafeBufferPointer { Escaping.sanitizedString($0) }
    }

    @Test func sanitizingRemovesInvalidUTF8AndNUL() {
        let value = Self.sanitized([0x66, 0xFF, 0x00, 0x6F])
        #expect(value == "f\u{FFFD}\u{FFFD}o")
        #expect(!value.utf8.contains(0))
    }

    @Test(arguments: values)
    func textFormats(value: String) throws {
        let snapshot = Fixtures.hostileSnapshot(value)
        for openMetrics in [false, true] {
            var out: [UInt8] = []
            if openMetrics {
                OpenMetricsFormatWriter.write(snapshot, into: &out)
            } else {
                TextFormatWriter.write(snapshot, into: &out)
            }
            let parsed = try ExpositionParser.parse(out, openMetrics: openMetrics)
            let names = Set(parsed.samples.map(\.name))
            let expectedNames: Set<String> = ["c_total", "g", "h_bucket", "h_sum", "h_count"]
            #expect(names == expectedNames)
            // 2 counters + 2 gauges + 2 × (2 buckets + sum + count).
            #expect(parsed.samples.count == 12)
            #expect(
                parsed.samples(named: "c_total").map(\.labels) == [
                    ["route": value, "method": "GET"], ["route": "/ok", "method": value],
                ])
            #expect(parsed.samples(named: "g").map(\.value) == ["1.5", "-2"])
            #expect(try parsed.checkHistogramInvariants() == 2)
            #expect(parsed.metadata.filter { $0.kind == "HELP" }.allSatisfy { $0.text == value })
            if openMetrics {
                let exemplar = parsed.samples(named: "h_bucket").compactMap(\.exemplar)
                #expect(exemplar.map(\.labels) == [["trace_id": value]])
            }
        }
    }

    @Test(arguments: values)
    func protobuf(value: String) throws {
        var out: [UInt8] = []
        ProtobufFormatWriter.write(Fixtures.hostileSnapshot(value), into: &out)
        let families = try PrometheusProtoDecoder.families(out)
        #expect(families.map(\.name) == ["c_total", "g", "h"])
        #expect(families.allSatisfy { $0.help == value })
        for family in families {
            #expect(
                family.metrics.map(\.labels) == [
                    ["route": value, "method": "GET"], ["route": "/ok", "method": value],
                ])
        }
    }
}
