import Exposition
import Testing

@Suite struct NumberFormattingTests {
    /// Expected strings are what Go's `strconv.FormatFloat(v, 'g', -1, 64)` prints.
    @Test(
        arguments: [
            (0.0, "0"), (-0.0, "-0"), (1, "1"), (-1, "-1"), (0.005, "0.005"), (0.25, "0.25"), (2.5, "2.5"),
            (100_000, "100000"), (999_999, "999999"), (123_456.7, "123456.7"), (1_000_000, "1e+06"),
            (1_234_567, "1.234567e+06"), (3_600_000, "3.6e+06"), (608_863_452_348.1149, "6.088634523481149e+11"),
            (0.0001, "0.0001"), (0.00001, "1e-05"), (0.000123, "0.000123"), (1.5e-7, "1.5e-07"), (1e21, "1e+21"),
            (1e100, "1e+100"), (0.1 + 0.2, "0.30000000000000004"), (.leastNonzeroMagnitude, "5e-324"),
            (Double.greatestFiniteMagnitude, "1.7976931348623157e+308"), (-2.5e-10, "-2.5e-10"),
            (.infinity, "+Inf"), (-.infinity, "-Inf"), (.nan, "NaN"),
        ] as [(Double, String)])
    func goFloat(value: Double, expected: String) {
        #expect(NumberFormatting.goFloat(value) == expected)
    }

    @Test(
        arguments: [
            (1, "1.0"), (0, "0.0"), (-0.0, "0.0"), (10, "10.0"), (0.005, "0.005"), (1_000_000, "1e+06"),
            (2.5e-5, "2.5e-05"), (.infinity, "+Inf"), (-.infinity, "-Inf"), (.nan, "NaN"),
        ] as [(Double, String)])
    func openMetricsFloat(value: Double, expected: String) {
        #expect(NumberFormatting.openMetricsFloat(value) == expected)
    }

    @Test(
        arguments: [
            (1_700_000_000, "1700000000"), (1_700_000_000.25, "1700000000.25"), (0.5, "0.5"), (1e-7, "0.0000001"),
            (1e22, "10000000000000000000000"), (-3.5, "-3.5"),
        ] as [(Double, String)])
    func positional(value: Double, expected: String) {
        var out: [UInt8] = []
        NumberFormatting.appendPositional(value, to: &out)
        #expect(String(decoding: out, as: UTF8.self) == expected)
    }

    @Test(
        arguments: [
            (Int64(1234), -3, "1.234"), (1000, -3, "1"), (1, -3, "0.001"), (-1500, -3, "-1.5"), (0, -3, "0"),
            (12, 2, "1200"), (0, 2, "0"), (Int64.max, -6, "9223372036854.775807"),
        ] as [(Int64, Int, String)])
    func scaled(scaled: Int64, exponent: Int, expected: String) {
        var out: [UInt8] = []
        NumberFormatting.appendScaled(scaled, exponent: exponent, to: &out)
        #expect(String(decoding: out, as: UTF8.self) == expected)
        #expect(NumberFormatting.double(scaled: scaled, exponent: exponent) == Double(expected))
    }

    @Test func integers() {
        var out: [UInt8] = []
        for value in [UInt64(0), 9, 10, 1_234_567_890, .max] {
            out.removeAll()
            NumberFormatting.appendInteger(value, to: &out)
            #expect(String(decoding: out, as: UTF8.self) == String(value))
        }
        out.removeAll()
        NumberFormatting.appendInteger(Int64.min, to: &out)
        #expect(String(decoding: out, as: UTF8.self) == String(Int64.min))
    }

    @Test func bucketBoundsRenderBothSpellings() {
        let bounds = BucketBounds([0.005, 1, 3_600_000])
        #expect(bounds.textLabels.map { String(decoding: $0, as: UTF8.self) } == ["0.005", "1", "3.6e+06"])
        #expect(bounds.openMetricsLabels.map { String(decoding: $0, as: UTF8.self) } == ["0.005", "1.0", "3.6e+06"])
    }
}
