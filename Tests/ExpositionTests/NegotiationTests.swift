import Exposition
import Testing

@Suite struct NegotiationTests {
    /// Accept headers real scrapers send, and what logmetrics answers.
    static let scrapers: [(String, String?, ExpositionFormat)] = [
        // Prometheus 2.42 (this machine's), default and with --enable-feature=native-histograms.
        (
            "Prometheus 2.42",
            "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
            .openMetrics
        ),
        (
            "Prometheus 2.42 native histograms",
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
            .protobuf
        ),
        // Prometheus 2.49-2.55 (scrape_protocols, weights from the protocol count).
        (
            "Prometheus 2.49",
            "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
            .openMetrics
        ),
        (
            "Prometheus 2.49 native histograms",
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.5,application/openmetrics-text;version=1.0.0;q=0.4,application/openmetrics-text;version=0.0.1;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1",
            .protobuf
        ),
        // Prometheus 3.x: text 1.0.0 joins, 1.0.0 formats carry escaping.
        (
            "Prometheus 3",
            "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
            .openMetrics
        ),
        (
            "Prometheus 3 native histograms",
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1",
            .protobuf
        ),
        // Prometheus 3.0.0 appended escaping to every entry.
        (
            "Prometheus 3.0.0",
            "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;escaping=allow-utf-8;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;escaping=allow-utf-8;q=0.3,*/*;q=0.2",
            .openMetrics
        ),
        ("scrape_protocols: [PrometheusText0.0.4]", "text/plain;version=0.0.4;q=0.6,*/*;q=0.5", .text),
        (
            "scrape_protocols: [OpenMetricsText0.0.1]", "application/openmetrics-text;version=0.0.1;q=0.6,*/*;q=0.5",
            .openMetrics
        ),
        (
            "scrape_protocols: [PrometheusText1.0.0]", "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.6,*/*;q=0.5",
            .text
        ),
        ("curl", "*/*", .text),
        ("no header", nil, .text),
        ("empty header", "", .text),
        ("browser", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", .text),
    ]

    @Test(arguments: scrapers)
    func realScrapers(name: String, accept: String?, expected: ExpositionFormat) {
        #expect(ExpositionFormat.negotiate(accept: accept) == expected, "\(name)")
    }

    @Test(arguments: [
        ("text/plain", ExpositionFormat.text),
        ("TEXT/PLAIN; Version=0.0.4", .text),
        ("text/plain;version=2.0.0", .text),  // unsupported: falls back to text anyway
        ("application/openmetrics-text", .openMetrics),
        ("application/openmetrics-text; version=\"1.0.0\"; charset=utf-8", .openMetrics),
        ("application/openmetrics-text;version=2.0.0, text/plain;q=0.1", .text),
        ("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily", .text),  // no delimited
        ("application/vnd.google.protobuf;proto=other.Message;encoding=delimited", .text),
        ("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text", .text),
        ("application/*", .openMetrics),
        ("application/*;q=0.5, application/openmetrics-text;q=0", .protobuf),
        ("text/*", .text),
        ("*/*;q=0.5, text/plain;q=0", .openMetrics),  // the specific q=0 excludes text
        ("text/plain;q=0", .text),  // nothing acceptable: text as a last resort
        ("text/plain;q=0.5, application/openmetrics-text;q=0.5", .text),  // tie: first listed
        ("application/openmetrics-text;q=0.5, text/plain;q=0.5", .openMetrics),
        ("text/plain;q=abc, application/openmetrics-text;q=0.1", .openMetrics),  // unreadable q: ignored
        ("text/plain;q=1.5, application/openmetrics-text;q=0.1", .openMetrics),
        (",,, ;;, application/openmetrics-text", .openMetrics),
        ("application/openmetrics-text;foo=\"a,b;c\";q=0.9, text/plain;q=0.8", .openMetrics),
    ])
    func mediaRanges(accept: String, expected: ExpositionFormat) {
        #expect(ExpositionFormat.negotiate(accept: accept) == expected, "\(accept)")
    }

    @Test func contentTypesCarryTheirVersion() {
        #expect(ExpositionFormat.text.contentType == "text/plain; version=0.0.4; charset=utf-8")
        #expect(
            ExpositionFormat.openMetrics.contentType == "application/openmetrics-text; version=1.0.0; charset=utf-8")
        #expect(
            ExpositionFormat.protobuf.contentType
                == "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited")
    }

    @Test(arguments: [
        ("gzip", ContentCoding.gzip), ("GZIP", .gzip), ("x-gzip", .gzip), ("identity", .identity), ("*", .gzip),
        ("gzip;q=0", .identity), ("gzip;q=0, *", .identity), ("deflate, br", .identity), ("br, gzip;q=0.5", .gzip),
        ("identity;q=1, gzip;q=0.5", .identity), ("identity;q=0.5, gzip;q=0.5", .gzip), ("*;q=0", .identity),
        ("*;q=0, gzip", .gzip), ("", .identity),
    ])
    func acceptEncoding(header: String, expected: ContentCoding) {
        #expect(ContentCoding.negotiate(acceptEncoding: header) == expected, "\(header)")
    }

    @Test func missingAcceptEncodingMeansIdentity() {
        #expect(ContentCoding.negotiate(acceptEncoding: nil) == .identity)
    }
}
