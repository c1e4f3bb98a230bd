import Exposition
import Histograms

/// Snapshots the writer tests share.
enum Fixtures {
    static let bounds = BucketBounds([0.005, 0.1, 1, 1_000_000])

    /// A counter, a gauge, a histogram with a native twin, exemplars, created times, an empty
    /// label set and units.
    static func snapshot() -> MetricSnapshot {
        var native = NativeHistogram()
        for value in [0.003, 0.05, 0.05, 0.7, 2.5] { native.observe(value) }
        let emptyNative = NativeHistogram(settings: try! NativeHistogramSettings(schema: 0, zeroThreshold: 0))
        let requests = MetricFamilySnapshot(
            name: "logmetrics_http_requests", help: "Requests by route and code.", type: .counter,
            labels: [
                LabelSet(["route": "/users/{id}", "response_code": "200"]),
                LabelSet(["route": "/health", "response_code": "503"]),
            ],
            values: .integers([1027, 3]),
            created: [1_700_000_000.25, 0],
            exemplars: [
                Exemplar(labels: LabelSet(["trace_id": "4bf92f3577b34da6"]), value: 1, timestamp: 1_700_000_100.5), nil,
            ])
        let inFlight = MetricFamilySnapshot(
            name: "logmetrics_files_followed", help: "Files followed now.", type: .gauge,
            labels: [.empty], values: .doubles([2.5]))
        let duration = MetricFamilySnapshot(
            name: "logmetrics_http_request_duration_seconds", help: "Request duration.", type: .histogram,
            unit: "seconds",
            labels: [LabelSet(["route": "/users/{id}"]), LabelSet(["route": "/idle"])],
            values: .histograms(
                HistogramColumns(
                    bounds: bounds, bucketCounts: [1, 2, 1, 1, 0, 0, 0, 0, 0, 0], scaledSums: [3303, 0],
                    sumExponent: -3,
                    native: [NativeHistogramSnapshot(native.encoded()), NativeHistogramSnapshot(emptyNative.encoded())])
            ),
            created: [1_700_000_000, 1_700_000_001],
            exemplars: [Exemplar(labels: LabelSet(["trace_id": "abc"]), value: 0.05, timestamp: 1_700_000_050), nil])
        let bytes = MetricFamilySnapshot(
            name: "logmetrics_tcp_sent_bytes", help: "Bytes \"sent\"\\upstream\nper connection.", type: .counter,
            unit: "bytes", labels: [.empty], values: .integers([0]))
        let untyped = MetricFamilySnapshot(
            name: "logmetrics_build_info", help: "Build information.", type: .unknown, unit: "bytes",
            labels: [LabelSet(["version": "1.0.0"])], values: .integers([1]))
        return MetricSnapshot(families: [requests, inFlight, duration, bytes, untyped], timestamp: 1_700_000_200)
    }

    /// One family per kind with a hostile label value in every series.
    static func hostileSnapshot(_ value: String) -> MetricSnapshot {
        let labels = [LabelSet(["route": value, "method": "GET"]), LabelSet(["route": "/ok", "method": value])]
        return MetricSnapshot(families: [
            MetricFamilySnapshot(name: "c", help: value, type: .counter, labels: labels, values: .integers([1, 2])),
            MetricFamilySnapshot(name: "g", help: value, type: .gauge, labels: labels, values: .doubles([1.5, -2])),
            MetricFamilySnapshot(
                name: "h", help: value, type: .histogram, labels: labels,
                values: .histograms(
                    HistogramColumns(
                        bounds: BucketBounds([1]), bucketCounts: [1, 1, 0, 3], scaledSums: [25, 7], sumExponent: -1)),
                exemplars: [Exemplar(labels: LabelSet(["trace_id": value]), value: 0.5), nil]),
        ])
    }

    /// A realistic family set: `series` routes, each with a counter and a 20-bucket histogram.
    static func realistic(series: Int) -> MetricSnapshot {
        let boundValues = [
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 20, 30, 60, 120, 300,
        ]
        let bounds = BucketBounds(boundValues)
        var labels: [LabelSet] = []
        var counts: [UInt64] = []
        var buckets: [UInt64] = []
        var sums: [Int64] = []
        for k in 0..<series {
            labels.append(
                LabelSet([
                    "route": "/api/v1/service\(k % 97)/items/{id}", "method": k % 3 == 0 ? "POST" : "GET",
                    "response_code": k % 11 == 0 ? "503" : "200", "error_type": k % 11 == 0 ? "server_error" : "none",
                ]))
            counts.append(UInt64(k * 7 + 1))
            for b in 0...boundValues.count { buckets.append(UInt64((k + b) % 5)) }
            sums.append(Int64(k * 1234))
        }
        return MetricSnapshot(families: [
            MetricFamilySnapshot(
                name: "logmetrics_http_requests", help: "HTTP requests.", type: .counter, labels: labels,
                values: .integers(counts)),
            MetricFamilySnapshot(
                name: "logmetrics_http_request_duration_seconds", help: "HTTP request duration.", type: .histogram,
                unit: "seconds", labels: labels,
                values: .histograms(
                    HistogramColumns(bounds: bounds, bucketCounts: buckets, scaledSums: sums, sumExponent: -3))),
        ])
    }
}
