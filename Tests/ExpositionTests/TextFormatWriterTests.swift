import Exposition
import Testing

@Suite struct TextFormatWriterTests {
    @Test func goldenOutput() throws {
        var out: [UInt8] = []
        TextFormatWriter.write(Fixtures.snapshot(), into: &out)
        #expect(String(decoding: out, as: UTF8.self) == Self.golden)
        let parsed = try ExpositionParser.parse(out, openMetrics: false)
        #expect(try parsed.checkHistogramInvariants() == 2)
    }

    @Test func skipsFamiliesWithoutSeries() {
        var out: [UInt8] = []
        let empty = MetricFamilySnapshot(name: "x", help: "h", type: .counter, values: .integers([]))
        TextFormatWriter.write(MetricSnapshot(families: [empty]), into: &out)
        #expect(out.isEmpty)
    }

    @Test func histogramTypeWithScalarValuesIsUntyped() throws {
        var out: [UInt8] = []
        let family = MetricFamilySnapshot(
            name: "x", help: "", type: .histogram, labels: [.empty], values: .doubles([1e21]))
        TextFormatWriter.write(family, into: &out)
        #expect(String(decoding: out, as: UTF8.self) == "# TYPE x untyped\nx 1e+21\n")
    }

    @Test func mismatchedColumnsWriteOnlyCompleteSeries() throws {
        var out: [UInt8] = []
        let family = MetricFamilySnapshot(
            name: "x", help: "", type: .gauge, labels: [LabelSet(["a": "1"]), LabelSet(["a": "2"])],
            values: .integers([7]))
        TextFormatWriter.write(family, into: &out)
        #expect(String(decoding: out, as: UTF8.self) == "# TYPE x gauge\nx{a=\"1\"} 7\n")
    }

    static let golden = """
        # HELP logmetrics_http_requests_total Requests by route and code.
        # TYPE logmetrics_http_requests_total counter
        logmetrics_http_requests_total{route="/users/{id}",response_code="200"} 1027
        logmetrics_http_requests_total{route="/health",response_code="503"} 3
        # HELP logmetrics_files_followed Files followed now.
        # TYPE logmetrics_files_followed gauge
        logmetrics_files_followed 2.5
        # HELP logmetrics_http_request_duration_seconds Request duration.
        # TYPE logmetrics_http_request_duration_seconds histogram
        logmetrics_http_request_duration_seconds_bucket{route="/users/{id}",le="0.005"} 1
        logmetrics_http_request_duration_seconds_bucket{route="/users/{id}",le="0.1"} 3
        logmetrics_http_request_duration_seconds_bucket{route="/users/{id}",le="1"} 4
        logmetrics_http_request_duration_seconds_bucket{route="/users/{id}",le="1e+06"} 5
        logmetrics_http_request_duration_seconds_bucket{route="/users/{id}",le="+Inf"} 5
        logmetrics_http_request_duration_seconds_sum{route="/users/{id}"} 3.303
        logmetrics_http_request_duration_seconds_count{route="/users/{id}"} 5
        logmetrics_http_request_duration_seconds_bucket{route="/idle",le="0.005"} 0
        logmetrics_http_request_duration_seconds_bucket{route="/idle",le="0.1"} 0
        logmetrics_http_request_duration_seconds_bucket{route="/idle",le="1"} 0
        logmetrics_http_request_duration_seconds_bucket{route="/idle",le="1e+06"} 0
        logmetrics_http_request_duration_seconds_bucket{route="/idle",le="+Inf"} 0
        logmetrics_http_request_duration_seconds_sum{route="/idle"} 0
        logmetrics_http_request_duration_seconds_count{route="/idle"} 0
        # HELP logmetrics_tcp_sent_bytes_total Bytes "sent"\\\\upstream\\nper connection.
        # TYPE logmetrics_tcp_sent_bytes_total counter
        logmetrics_tcp_sent_bytes_total 0
        # HELP logmetrics_build_info Build information.
        # TYPE logmetrics_build_info untyped
        logmetrics_build_info{version="1.0.0"} 1

        """
}
