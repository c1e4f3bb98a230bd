import Exposition
import Histograms
import Testing

@Suite struct ProtobufFormatWriterTests {
    @Test func decodesToTheSnapshot() throws {
        var out: [UInt8] = []
        ProtobufFormatWriter.write(Fixtures.snapshot(), into: &out)
        let families = try PrometheusProtoDecoder.families(out)
        #expect(
            families.map(\.name) == [
                "logmetrics_http_requests_total", "logmetrics_files_followed",
                "logmetrics_http_request_duration_seconds",
                "logmetrics_tcp_sent_bytes_total", "logmetrics_build_info",
            ])
        #expect(families.map(\.type) == [0, 1, 4, 0, 3])
        #expect(families.map(\.unit) == [nil, nil, "seconds", "bytes", nil])
        #expect(families[3].help == "Bytes \"sent\"\\upstream\nper connection.")

        let requests = families[0].metrics
        #expect(requests.map(\.labelOrder) == [["route", "response_code"], ["route", "response_code"]])
        #expect(requests.map(\.counter) == [1027, 3])
        #expect(requests[0].counterCreated == 1_700_000_000.25)
        #expect(requests[1].counterCreated == nil)
        #expect(
            requests[0].counterExemplar
                == DecodedExemplar(labels: ["trace_id": "4bf92f3577b34da6"], value: 1, timestamp: 1_700_000_100.5))
        #expect(requests[1].counterExemplar == nil)

        #expect(families[1].metrics.map(\.gauge) == [2.5])
        #expect(families[1].metrics[0].labels.isEmpty)
        #expect(families[3].metrics.map(\.counter) == [0])
        #expect(families[4].metrics.map(\.untyped) == [1])
    }

    @Test func histogramCarriesClassicAndNativeBuckets() throws {
        var out: [UInt8] = []
        ProtobufFormatWriter.write(Fixtures.snapshot(), into: &out)
        let metrics = try PrometheusProtoDecoder.families(out)[2].metrics
        let busy = try #require(metrics[0].histogram)
        #expect(busy.sampleCount == 5)
        #expect(busy.sampleSum == 3.303)
        #expect(busy.buckets.map(\.cumulativeCount) == [1, 3, 4, 5, 5])
        #expect(busy.buckets.map(\.upperBound) == [0.005, 0.1, 1, 1_000_000, .infinity])
        #expect(busy.buckets.last?.cumulativeCount == busy.sampleCount)
        #expect(busy.buckets.map { $0.exemplar?.labels["trace_id"] } == [nil, "abc", nil, nil, nil])
        #expect(busy.created == 1_700_000_000)

        var native = NativeHistogram()
        for value in [0.003, 0.05, 0.05, 0.7, 2.5] { native.observe(value) }
        let encoded = native.encoded()
        #expect(busy.schema == encoded.schema)
        #expect(busy.zeroThreshold == encoded.zeroThreshold)
        #expect(busy.zeroCount == encoded.zeroCount)
        #expect(busy.positiveSpans == encoded.positive.spans.map { DecodedSpan(offset: $0.offset, length: $0.length) })
        #expect(busy.positiveDeltas == encoded.positive.deltas)
        #expect(busy.negativeSpans.isEmpty && busy.negativeDeltas.isEmpty)
        let decodedBuckets = EncodedBuckets(
            spans: busy.positiveSpans.map { BucketSpan(offset: $0.offset, length: $0.length) },
            deltas: busy.positiveDeltas
        ).decoded()
        #expect(decodedBuckets == native.positiveBuckets)

        // The empty native histogram with zero threshold 0 keeps its no-op span, so it still
        // reads as native.
        let idle = try #require(metrics[1].histogram)
        #expect(idle.schema == 0 && idle.zeroThreshold == 0 && idle.zeroCount == 0)
        #expect(idle.positiveSpans == [DecodedSpan(offset: 0, length: 0)])
        #expect(idle.buckets.last?.cumulativeCount == idle.sampleCount)
    }

    @Test func classicOnlyHistogramHasNoNativeFields() throws {
        var out: [UInt8] = []
        ProtobufFormatWriter.write(Fixtures.realistic(series: 3), into: &out)
        let families = try PrometheusProtoDecoder.families(out)
        for metric in families[1].metrics {
            let histogram = try #require(metric.histogram)
            #expect(histogram.schema == nil && histogram.zeroThreshold == nil && histogram.positiveSpans.isEmpty)
            #expect(histogram.buckets.count == 21)
            #expect(histogram.buckets.last?.cumulativeCount == histogram.sampleCount)
        }
    }

    /// The exact bytes of a small family, worked out by hand from the wire format.
    @Test func exactBytes() {
        let family = MetricFamilySnapshot(
            name: "g", help: "h", type: .gauge, labels: [LabelSet(["a": "b"])], values: .integers([1]))
        var out: [UInt8] = []
        ProtobufFormatWriter.write(family, into: &out)
        let expected: [UInt8] = [
            0x1D,  // family length 29
            0x0A, 0x01, 0x67,  // name "g"
            0x12, 0x01, 0x68,  // help "h"
            0x18, 0x01,  // type GAUGE
            0x22, 0x13,  // metric, 19 bytes
            0x0A, 0x06, 0x0A, 0x01, 0x61, 0x12, 0x01, 0x62,  // label a="b"
            0x12, 0x09, 0x09, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F,  // gauge { value = 1.0 }
        ]
        #expect(out == expected)
    }
}
