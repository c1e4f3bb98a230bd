import Exposition
import Testing

@Suite struct OpenMetricsFormatWriterTests {
    @Test func goldenOutput() throws {
        var out: [UInt8] = []
        OpenMetricsFormatWriter.write(Fixtures.snapshot(), into: &out)
        #expect(String(decoding: out, as: UTF8.self) == Self.golden)
        let parsed = try ExpositionParser.parse(out, openMetrics: true)
        #expect(try parsed.checkHistogramInvariants() == 2)
        #expect(
            parsed.metadata.first { $0.name == "logmetrics_tcp_sent_bytes" }?.text
                == "Bytes \"sent\"\\upstream\nper connection.")
    }

    @Test func unitThatIsNotTheNameSuffixIsLeftOut() {
        var out: [UInt8] = []
        for unit in ["bytes", "sbytes", "", "seconds\n"] {
            let family = MetricFamilySnapshot(
                name: "x_bytes", help: "", type: .gauge, unit: unit, labels: [.empty], values: .integers([1]))
            out.removeAll()
            OpenMetricsFormatWriter.write(family, into: &out)
            let hasUnit = String(decoding: out, as: UTF8.self).contains("# UNIT x_bytes bytes\n")
            #expect(hasUnit == (unit == "bytes"), "unit \(unit)")
        }
    }

    /// A snapshot's exemplar column has a slot for every bucket of every series, and an entry
    /// only for the slots that hold one; an exemplar is a value either way.
    @Test func anExemplarColumnHoldsOnlyItsExemplars() {
        let column = ExemplarColumn(
            (0..<21_000).map { $0 % 21 == 3 ? Exemplar(label: "trace_id", "t\($0)", value: Double($0)) : nil })
        #expect(column.count == 21_000 && column.entryCount == 1_000)
        #expect(column[3 + 21 * 7]?.labels == LabelSet(["trace_id": "t150"]) && column[4] == nil)
        let values: [Double] = column.compactMap { $0?.value }
        let expected: [Double] = (0..<1_000).map { Double($0 * 21 + 3) }
        #expect(values == expected)
        #expect(MemoryLayout<Exemplar>.stride <= 2 * MemoryLayout<Int>.stride)
        var exemplar = Exemplar(labels: LabelSet(["trace_id": "a"]), value: 1, timestamp: 2)
        let copy = exemplar
        exemplar.value = 3
        #expect(copy.value == 1 && exemplar.value == 3 && exemplar.labels == copy.labels && exemplar != copy)
    }

    @Test func exemplarOverTheLabelLimitIsDropped() throws {
        let fits = String(repeating: "é", count: 128 - "trace_id".count)
        let tooLong = fits + "x"
        let family = MetricFamilySnapshot(
            name: "c", help: "", type: .counter, labels: [LabelSet(["a": "1"]), LabelSet(["a": "2"])],
            values: .integers([1, 2]),
            exemplars: [
                Exemplar(labels: LabelSet(["trace_id": fits]), value: 1),
                Exemplar(labels: LabelSet(["trace_id": tooLong]), value: 1),
            ])
        var out: [UInt8] = []
        OpenMetricsFormatWriter.write(MetricSnapshot(families: [family]), into: &out)
        let parsed = try ExpositionParser.parse(out, openMetrics: true)
        #expect(parsed.samples.map(\.exemplar?.labels["trace_id"]) == [fits, nil])
    }

    @Test(arguments: [
        // Per series: each exemplar goes to the bucket its value falls in (le is inclusive).
        ([0.5, 1, 7, 100] as [Double?], 4, [0: 0.5, 4: 1, 10: 7, 15: 100] as [Int: Double]),
        // Per series and bucket, one misplaced: it moves to its own bucket if that slot is free.
        ([nil, 0.5, nil, 50, nil, nil, nil, nil] as [Double?], 2, [0: 0.5, 3: 50] as [Int: Double]),
        // A misplaced exemplar never displaces one that sits in its own slot.
        ([0.2, 0.7, nil, nil, nil, nil, nil, nil] as [Double?], 2, [0: 0.2] as [Int: Double]),
    ])
    func exemplarGoesOnTheBucketItsValueFallsIn(values: [Double?], series: Int, expected: [Int: Double]) throws {
        let bounds = BucketBounds([1, 5, 10])
        let labels = (0..<series).map { LabelSet(["s": "\($0)"]) }
        let family = MetricFamilySnapshot(
            name: "h", help: "", type: .histogram, labels: labels,
            values: .histograms(
                HistogramColumns(
                    bounds: bounds, bucketCounts: Array(repeating: 1, count: series * 4),
                    scaledSums: Array(repeating: 1, count: series), sumExponent: 0)),
            exemplars: ExemplarColumn(values.map { $0.map { Exemplar(labels: LabelSet(["id": "x"]), value: $0) } }))
        var out: [UInt8] = []
        OpenMetricsFormatWriter.write(MetricSnapshot(families: [family]), into: &out)
        let buckets = try ExpositionParser.parse(out, openMetrics: true).samples(named: "h_bucket")
        var found: [Int: Double] = [:]
        for (index, bucket) in buckets.enumerated() {
            if let exemplar = bucket.exemplar { found[index] = Double(exemplar.value) }
        }
        #expect(found == expected)
        // And each written exemplar lies within its bucket.
        for (index, value) in found {
            let upper = index % 4 < 3 ? bounds.values[index % 4] : .infinity
            let lower = index % 4 == 0 ? -.infinity : bounds.values[index % 4 - 1]
            #expect(value > lower && value <= upper)
        }
    }

    @Test func negativeSumIsLeftOut() throws {
        let family = MetricFamilySnapshot(
            name: "h", help: "", type: .histogram, labels: [.empty],
            values: .histograms(
                HistogramColumns(bounds: BucketBounds([0]), bucketCounts: [1, 0], scaledSums: [-5], sumExponent: 0)))
        var out: [UInt8] = []
        OpenMetricsFormatWriter.write(MetricSnapshot(families: [family]), into: &out)
        let parsed = try ExpositionParser.parse(out, openMetrics: true)
        #expect(parsed.samples(named: "h_sum").isEmpty)
        #expect(parsed.samples(named: "h_bucket").map(\.labels["le"]) == ["0.0", "+Inf"])
    }

    static let golden = """
        # HELP logmetrics_http_requests Requests by route and code.
        # TYPE logmetrics_http_requests counter
        logmetrics_http_requests_total{route="/users/{id}",response_code="200"} 1027 # {trace_id="4bf92f3577b34da6"} 1 1700000100.5
        logmetrics_http_requests_created{route="/users/{id}",response_code="200"} 1700000000.25
        logmetrics_http_requests_total{route="/health",response_code="503"} 3
        # HELP logmetrics_files_followed Files followed now.
        # TYPE logmetrics_files_followed gauge
        logmetrics_files_followed 2.5
        # HELP logmetrics_http_request_duration_seconds Request duration.
        # TYPE logmetrics_http_request_duration_seconds histogram
        # UNIT logmetrics_http_request_duration_seconds seconds
        logmetrics_http_request_duration_seconds_bucket{route="/users/{id}",le="0.005"} 1
        logmetrics_http_request_duration_seconds_bucket{route="/users/{id}",le="0.1"} 3 # {trace_id="abc"} 0.05 1700000050
        logmetrics_http_request_duration_seconds_bucket{route="/users/{id}",le="1.0"} 4
        logmetrics_http_request_duration_seconds_bucket{route="/users/{id}",le="1e+06"} 5
        logmetrics_http_request_duration_seconds_bucket{route="/users/{id}",le="+Inf"} 5
        logmetrics_http_request_duration_seconds_sum{route="/users/{id}"} 3.303
        logmetrics_http_request_duration_seconds_count{route="/users/{id}"} 5
        logmetrics_http_request_duration_seconds_created{route="/users/{id}"} 1700000000
        logmetrics_http_request_duration_seconds_bucket{route="/idle",le="0.005"} 0
        logmetrics_http_request_duration_seconds_bucket{route="/idle",le="0.1"} 0
        logmetrics_http_request_duration_seconds_bucket{route="/idle",le="1.0"} 0
        logmetrics_http_request_duration_seconds_bucket{route="/idle",le="1e+06"} 0
        logmetrics_http_request_duration_seconds_bucket{route="/idle",le="+Inf"} 0
        logmetrics_http_request_duration_seconds_sum{route="/idle"} 0
        logmetrics_http_request_duration_seconds_count{route="/idle"} 0
        logmetrics_http_request_duration_seconds_created{route="/idle"} 1700000001
        # HELP logmetrics_tcp_sent_bytes Bytes \\"sent\\"\\\\upstream\\nper connection.
        # TYPE logmetrics_tcp_sent_bytes counter
        # UNIT logmetrics_tcp_sent_bytes bytes
        logmetrics_tcp_sent_bytes_total 0
        # HELP logmetrics_build_info Build information.
        # TYPE logmetrics_build_info unknown
        logmetrics_build_info{version="1.0.0"} 1
        # EOF

        """
}
