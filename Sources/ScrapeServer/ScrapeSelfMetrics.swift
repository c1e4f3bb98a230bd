import Exposition
import Synchronization

/// The server's own metrics, appended to every snapshot it serves.
///
/// Every series exists from the start (one per format, and per format and coding for sizes), so
/// a dashboard never sees a series appear mid-way. Values describe the scrapes served before the
/// current one: a scrape cannot report its own duration.
final class ScrapeSelfMetrics: Sendable {
    /// Upper bounds of the duration histogram, in seconds: 1 ms to 10 s, where a scrape of
    /// anything from a few series to a few hundred thousand falls.
    static let durationBounds: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    static let codings: [ContentCoding] = [.identity, .gzip]

    private struct State {
        /// Per format, non-cumulative bucket counts (``durationBounds`` plus `+Inf`).
        var durationBuckets: [UInt64]
        /// Per format, the summed durations in microseconds.
        var durationSumMicros: [Int64]
        /// Per format and coding, the size of the last body served, in bytes.
        var lastSizes: [UInt64]
        var rejectedConnections: UInt64 = 0
        var evictedConnections: UInt64 = 0
    }

    private let state: Mutex<State>
    private let durationName: String
    private let sizeName: String
    private let rejectedName: String
    private let evictedName: String
    private let bounds = BucketBounds(ScrapeSelfMetrics.durationBounds)
    private let formatLabels: [LabelSet]
    private let sizeLabels: [LabelSet]

    init(namespace: String) {
        let prefix = namespace.isEmpty ? "" : namespace + "_"
        durationName = prefix + "scrape_duration_seconds"
        sizeName = prefix + "scrape_size_bytes"
        rejectedName = prefix + "scrape_connections_rejected"
        evictedName = prefix + "scrape_connections_evicted"
        let formats = ExpositionFormat.allCases
        formatLabels = formats.map { LabelSet(names: ["format"], values: [$0.name]) }
        sizeLabels = formats.flatMap { format in
            Self.codings.map {
                LabelSet(names: ["format", "encoding"], values: [format.name, $0.headerValue ?? "identity"])
            }
        }
        let width = Self.durationBounds.count + 1
        state = Mutex(
            State(
                durationBuckets: Array(repeating: 0, count: formats.count * width),
                durationSumMicros: Array(repeating: 0, count: formats.count),
                lastSizes: Array(repeating: 0, count: formats.count * Self.codings.count)))
    }

    /// The names of the families this type adds, to keep a provider's family of the same name
    /// from being shadowed by a duplicate.
    var familyNames: Set<String> { [durationName, sizeName, rejectedName, evictedName] }

    func recordScrape(format: ExpositionFormat, coding: ContentCoding, duration: Duration, bodyBytes: Int) {
        let formatIndex = ExpositionFormat.allCases.firstIndex(of: format)!
        let codingIndex = Self.codings.firstIndex(of: coding)!
        let (seconds, attoseconds) = duration.components
        let durationSeconds = Double(seconds) + Double(attoseconds) * 1e-18
        let micros = seconds * 1_000_000 + attoseconds / 1_000_000_000_000
        let bucket = Self.durationBounds.firstIndex { durationSeconds <= $0 } ?? Self.durationBounds.count
        let width = Self.durationBounds.count + 1
        state.withLock { state in
            state.durationBuckets[formatIndex * width + bucket] &+= 1
            state.durationSumMicros[formatIndex] &+= micros
            state.lastSizes[formatIndex * Self.codings.count + codingIndex] = UInt64(bodyBytes)
        }
    }

    func recordRejectedConnection() {
        state.withLock { $0.rejectedConnections &+= 1 }
    }

    func recordEvictedConnection() {
        state.withLock { $0.evictedConnections &+= 1 }
    }

    /// The current values as families, copied under the lock and built outside it.
    func families() -> [MetricFamilySnapshot] {
        let current = state.withLock { $0 }
        return [
            MetricFamilySnapshot(
                name: durationName, help: "Time to take, render and compress one scrape of /metrics.",
                type: .histogram, unit: "seconds", labels: formatLabels,
                values: .histograms(
                    HistogramColumns(
                        bounds: bounds, bucketCounts: current.durationBuckets, scaledSums: current.durationSumMicros,
                        sumExponent: -6))),
            MetricFamilySnapshot(
                name: sizeName, help: "Size of the last scrape body served, by format and content encoding.",
                type: .gauge, unit: "bytes", labels: sizeLabels, values: .integers(current.lastSizes)),
            MetricFamilySnapshot(
                name: rejectedName,
                help: "Connections closed on accept because the connection limit was reached and every one was busy.",
                type: .counter, labels: [.empty], values: .integers([current.rejectedConnections])),
            MetricFamilySnapshot(
                name: evictedName,
                help: "Connections waiting on their client closed to make room for a new one at the connection limit.",
                type: .counter, labels: [.empty], values: .integers([current.evictedConnections])),
        ]
    }
}
