import Aggregation
import Exposition
import Histograms

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// What the rows of a report are: one per route, destination service, authority, method or code.
public enum Grouping: String, CaseIterable, Sendable {
    case route
    case destination
    case authority
    case method
    case responseCode = "response_code"

    /// The label the rows are keyed by, named as in the metrics so that the configured value
    /// caps (`limits.max_values_per_label`) apply to the report too.
    var label: FamilyDefinition.Label {
        switch self {
        case .route: .init("route", .route)
        case .destination: .init("destination_service", .destinationService)
        case .authority: .init("authority", .field(.authority))
        case .method: .init("method", .method)
        case .responseCode: .init("response_code", .responseCode)
        }
    }
}

/// The families a report counts into, and how its rows are read back from their snapshot.
///
/// A report runs the same classification as the metrics (routes, destinations, slow-request
/// thresholds), into families of its own: requests by key, code and slowness; durations by key
/// in fine buckets; flags by key.
public enum RouteTable {
    static let requestsFamily = "report_requests"
    static let durationFamily = "report_duration_milliseconds"
    static let flagsFamily = "report_response_flags"
    static let tcpFamily = "report_tcp_connections"

    /// Every integer millisecond up to 64 has a bucket of its own, so quantiles there are exact
    /// (Envoy logs whole milliseconds); above, 32 buckets per doubling up to 2^22 ms (70 min), so
    /// a quantile is within a factor 2^(1/32) of the true one: 2.2 %.
    public static let exactUpToMilliseconds = 64
    public static let relativeError = 0.0219
    static let durationLayout: BucketLayout = {
        var bounds = (0...exactUpToMilliseconds).map(Double.init)
        var k = 1
        while true {
            let bound = Double(exactUpToMilliseconds) * exp2(Double(k) / 32)
            if bound > Double(1 << 22) { break }
            bounds.append(bound)
            k += 1
        }
        return try! BucketLayout(upperBounds: bounds)
    }()

    /// The families for rows keyed by `grouping`.
    public static func families(by grouping: Grouping) -> [FamilyDefinition] {
        let key = grouping.label
        // By error_type, as the metrics, dashboards and alerts classify: a gRPC call that failed
        // with HTTP 200 is a server error here too.
        let requestLabels: [FamilyDefinition.Label] = [
            key, .init("error_type", .errorType), .init("slow_request", .slowRequest),
        ]
        return [
            FamilyDefinition(
                name: requestsFamily, help: "", type: .counter, observation: .requests, labels: requestLabels),
            FamilyDefinition(
                name: durationFamily, help: "", type: .histogram, observation: .duration, labels: [key],
                buckets: durationLayout),
            FamilyDefinition(
                name: flagsFamily, help: "", type: .counter, observation: .responseFlags,
                labels: [key, .init("flag", .flag)]),
            FamilyDefinition(
                name: tcpFamily, help: "", type: .counter, observation: .tcpConnections,
                labels: [.init("destination_service", .destinationService)]),
        ]
    }

    /// A schema for rows keyed by `grouping` that classifies as `schema` does.
    ///
    /// The series cap is raised to at least 100 000: a report is read by a person, not stored
    /// by Prometheus, and it would be wrong rather than protected if it folded rows together.
    /// Per-label value caps stay, since they bound what automatic route templates can produce.
    public static func schema(by grouping: Grouping, like schema: MetricsSchema) throws(SchemaError) -> MetricsSchema {
        var limits = schema.limits
        limits.maxSeriesPerFamily = max(limits.maxSeriesPerFamily, 100_000)
        return try MetricsSchema(
            families: families(by: grouping), limits: limits, classification: schema.classification)
    }

    /// The rows, and the totals, counted in `snapshot` of a pipeline built on ``schema(by:like:)``.
    public static func table(from snapshot: MetricSnapshot, by grouping: Grouping) -> Table {
        let keyName = grouping.label.name
        var rows: [String: Row] = [:]
        var table = Table(grouping: grouping)
        func row(_ key: String) -> Row { rows[key] ?? Row(key: key) }
        for family in snapshot.families {
            switch family.name {
            case requestsFamily:
                guard case .integers(let values) = family.values else { continue }
                let labels = family.labels
                for (k, value) in zip(labels.indices, values) {
                    let key = labels.value(named: keyName, k) ?? ""
                    var r = row(key)
                    r.requests += value
                    let errorType = labels.value(named: "error_type", k)
                    if errorType == "client_error" { r.clientErrors += value }
                    if errorType == "server_error" { r.serverErrors += value }
                    if labels.value(named: "slow_request", k) == "true" { r.slow += value }
                    rows[key] = r
                }
            case durationFamily:
                guard case .histograms(let columns) = family.values else { continue }
                let width = columns.bucketsPerSeries
                for index in family.labels.indices {
                    let key = family.labels.value(named: keyName, index) ?? ""
                    var r = row(key)
                    r.addDurations(columns.bucketCounts[(index * width)..<((index + 1) * width)])
                    r.durationSumMilliseconds += columns.sum(index)
                    rows[key] = r
                }
            case flagsFamily:
                guard case .integers(let values) = family.values else { continue }
                let labels = family.labels
                for (k, value) in zip(labels.indices, values) {
                    let key = labels.value(named: keyName, k) ?? ""
                    var r = row(key)
                    r.flags[labels.value(named: "flag", k) ?? "", default: 0] += value
                    rows[key] = r
                }
            case tcpFamily:
                guard case .integers(let values) = family.values else { continue }
                table.tcpConnections = values.reduce(0, +)
            case "logmetrics_lines":
                guard case .integers(let values) = family.values else { continue }
                for (k, value) in zip(family.labels.indices, values) {
                    table.lines[family.labels.value(named: "result", k) ?? "", default: 0] += value
                }
            default:
                continue
            }
        }
        // Rows with no request are series created but never counted (a migrated or empty family).
        table.rows = rows.values.filter { $0.requests > 0 }.sorted {
            $0.requests != $1.requests ? $0.requests > $1.requests : $0.key < $1.key
        }
        return table
    }
}

/// One row: the requests of one key.
public struct Row: Sendable, Equatable {
    public var key: String
    public var requests: UInt64 = 0
    /// `error_type="client_error"`: answered 400 to 499.
    public var clientErrors: UInt64 = 0
    /// `error_type="server_error"`: answered 500 or above, or a failed gRPC status.
    public var serverErrors: UInt64 = 0
    /// Requests slower than their route's threshold.
    public var slow: UInt64 = 0
    /// Per individual response flag, the requests that carried it.
    public var flags: [String: UInt64] = [:]
    /// The upper bounds, in milliseconds, of the buckets ``durationBuckets`` index; nil for
    /// ``RouteTable/durationLayout``.
    var bounds: [Double]?
    /// The populated buckets of ``RouteTable/durationLayout`` (the last index is `+Inf`), by
    /// index: sparse, since a live view keeps a reading per second of every row.
    var durationBuckets: [(index: Int, count: UInt64)] = []
    public var durationSumMilliseconds: Double = 0
    /// False for a row kept without its flags and durations (``withoutDetail()``); a row less
    /// such a row has none either, rather than ones since start.
    public private(set) var hasDetail = true

    public init(key: String) {
        self.key = key
    }

    /// The counts alone: what an older reading of a window keeps of a row that is not among the
    /// busiest, for a tenth of the memory.
    public func withoutDetail() -> Row {
        var row = Row(key: key)
        row.requests = requests
        row.clientErrors = clientErrors
        row.serverErrors = serverErrors
        row.slow = slow
        row.hasDetail = false
        return row
    }

    public var durationCount: UInt64 { durationBuckets.reduce(0) { $0 + $1.count } }

    public static func == (a: Row, b: Row) -> Bool {
        a.key == b.key && a.bounds == b.bounds && a.requests == b.requests && a.clientErrors == b.clientErrors
            && a.serverErrors == b.serverErrors && a.slow == b.slow && a.flags == b.flags
            && a.durationBuckets.elementsEqual(b.durationBuckets, by: { $0 == $1 })
            && a.durationSumMilliseconds == b.durationSumMilliseconds && a.hasDetail == b.hasDetail
    }

    /// Adds dense non-cumulative bucket counts (one per bucket of the layout, `+Inf` last).
    mutating func addDurations(_ dense: ArraySlice<UInt64>) {
        var merged: [(index: Int, count: UInt64)] = []
        var k = 0
        for (offset, count) in dense.enumerated() where count > 0 {
            while k < durationBuckets.count, durationBuckets[k].index < offset {
                merged.append(durationBuckets[k])
                k += 1
            }
            if k < durationBuckets.count, durationBuckets[k].index == offset {
                merged.append((offset, durationBuckets[k].count + count))
                k += 1
            } else {
                merged.append((offset, count))
            }
        }
        merged += durationBuckets[k...]
        durationBuckets = merged
    }

    /// The `q` quantile of the request duration in milliseconds: the duration of the request of
    /// rank `ceil(q * count)`; exact up to ``RouteTable/exactUpToMilliseconds``, within
    /// ``RouteTable/relativeError`` above. Nil when no request was timed.
    public func durationQuantile(_ q: Double) -> Double? {
        let count = durationCount
        guard count > 0 else { return nil }
        let rank = max(1, UInt64((q * Double(count)).rounded(.up)))
        let bounds = self.bounds ?? RouteTable.durationLayout.upperBounds
        if self.bounds != nil { return Self.histogramQuantile(q, durationBuckets, bounds: bounds, count: count) }
        var below: UInt64 = 0
        for (index, inBucket) in durationBuckets where inBucket > 0 {
            guard below + inBucket >= rank else {
                below += inBucket
                continue
            }
            guard index < bounds.count else { return bounds.last }  // beyond 70 minutes
            let upper = bounds[index]
            if upper <= Double(RouteTable.exactUpToMilliseconds) { return upper }
            // Spread the bucket's requests evenly on a log scale, as PromQL does for native
            // histograms; the answer stays inside the bucket, hence the bound on the error.
            let lower = bounds[index - 1]
            let fraction = Double(rank - below) / Double(inBucket)
            return lower * pow(upper / lower, fraction)
        }
        return bounds.last
    }

    /// A metric's coarse buckets, estimated as PromQL's `histogram_quantile` does: rank `q * n`
    /// (not rounded), linear within the bucket, 0 as the lower edge of the first, and the highest
    /// finite bound for a rank in `+Inf`.
    static func histogramQuantile(
        _ q: Double, _ buckets: [(index: Int, count: UInt64)], bounds: [Double], count: UInt64
    ) -> Double? {
        let rank = q * Double(count)
        var below: UInt64 = 0
        for (index, inBucket) in buckets where inBucket > 0 {
            guard Double(below + inBucket) >= rank else {
                below += inBucket
                continue
            }
            guard index < bounds.count else { return bounds.last }
            let upper = bounds[index]
            let lower = index == 0 ? min(0, upper) : bounds[index - 1]
            if index == 0 && upper <= 0 { return upper }
            return lower + (upper - lower) * (rank - Double(below)) / Double(inBucket)
        }
        return bounds.last
    }

    /// The flags that appear most often, most frequent first.
    public func topFlags(_ n: Int) -> [(flag: String, count: UInt64)] {
        flags.filter { $0.value > 0 }.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            .prefix(n).map { (flag: $0.key, count: $0.value) }
    }

    /// This row's counts less those of `earlier`, a reading of the same row taken before.
    func subtracting(_ earlier: Row) -> Row {
        // Fewer than before: its series expired (idle), or a reload began them again. As
        // Prometheus treats a counter reset, what there is now is what happened since.
        if requests < earlier.requests || clientErrors < earlier.clientErrors
            || serverErrors < earlier.serverErrors || slow < earlier.slow
        {
            return self
        }
        var r = self
        r.requests -= min(r.requests, earlier.requests)
        r.clientErrors -= min(r.clientErrors, earlier.clientErrors)
        r.serverErrors -= min(r.serverErrors, earlier.serverErrors)
        r.slow -= min(r.slow, earlier.slow)
        guard earlier.hasDetail else {
            r.flags = [:]
            r.durationBuckets = []
            r.durationSumMilliseconds = 0
            r.hasDetail = false
            return r
        }
        for (flag, count) in earlier.flags { r.flags[flag] = (r.flags[flag] ?? 0) - min(r.flags[flag] ?? 0, count) }
        let before = Dictionary(earlier.durationBuckets.map { ($0.index, $0.count) }, uniquingKeysWith: +)
        r.durationBuckets = r.durationBuckets.compactMap { bucket in
            let left = bucket.count - min(bucket.count, before[bucket.index] ?? 0)
            return left > 0 ? (bucket.index, left) : nil
        }
        r.durationSumMilliseconds = max(0, r.durationSumMilliseconds - earlier.durationSumMilliseconds)
        return r
    }
}

/// The rows of a report with what it says about the input as a whole.
public struct Table: Sendable, Equatable {
    public var grouping: Grouping
    /// By traffic, highest first.
    public var rows: [Row] = []
    /// TCP proxy connections, which are not requests and have no row.
    public var tcpConnections: UInt64 = 0
    /// Lines read, by outcome (`parsed`, `skipped`, `malformed`, `oversized`).
    public var lines: [String: UInt64] = [:]
    /// The requests' start times, first and last, when the log had them (Unix seconds).
    public var firstRequest: Double?
    public var lastRequest: Double?

    public init(grouping: Grouping) {
        self.grouping = grouping
    }

    public var requests: UInt64 { rows.reduce(0) { $0 + $1.requests } }

    /// The time the requests span, seconds; nil when unknown or a single instant.
    public var spanSeconds: Double? {
        guard let first = firstRequest, let last = lastRequest, last > first else { return nil }
        return last - first
    }

    /// The counts of this table less those of `earlier`: what happened between the two readings.
    public func subtracting(_ earlier: Table) -> Table {
        var result = self
        let before = Dictionary(earlier.rows.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        result.rows = rows.map { row in before[row.key].map { row.subtracting($0) } ?? row }.filter {
            $0.requests > 0
        }.sorted { $0.requests != $1.requests ? $0.requests > $1.requests : $0.key < $1.key }
        result.tcpConnections -= min(tcpConnections, earlier.tcpConnections)
        for (result_, count) in earlier.lines {
            result.lines[result_] = (lines[result_] ?? 0) - min(lines[result_] ?? 0, count)
        }
        return result
    }
}
