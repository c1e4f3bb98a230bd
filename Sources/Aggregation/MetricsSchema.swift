import AccessLogParser
import Exposition
import Histograms

/// Bounds on cardinality, applied when a series or label value is created.
public struct Limits: Sendable, Equatable {
    /// Series per family; observations for further series go to one `__overflow__` series.
    public var maxSeriesPerFamily: Int
    /// Distinct values per label name; further values become `__overflow__`.
    public var maxValuesPerLabel: [String: Int]
    /// The value cap of labels not listed in ``maxValuesPerLabel``.
    public var defaultMaxValuesPerLabel: Int

    public init(
        maxSeriesPerFamily: Int = 10_000, maxValuesPerLabel: [String: Int] = [:], defaultMaxValuesPerLabel: Int = 2_000
    ) {
        self.maxSeriesPerFamily = maxSeriesPerFamily
        self.maxValuesPerLabel = maxValuesPerLabel
        self.defaultMaxValuesPerLabel = defaultMaxValuesPerLabel
    }
}

/// The families to produce and everything needed to compute their labels, fixed at start (or
/// reload). Families refer to label *dimensions*: one per distinct ``LabelSource``, each with its
/// own table of values, shared by every family that uses it.
public final class MetricsSchema: Sendable {
    public let families: [FamilyDefinition]
    public let limits: Limits
    public let classification: Classification
    /// The access-log fields the families need; the parser skips the others.
    public let wantedFields: FieldSet

    let dimensions: [LabelSource]
    /// The value cap of each dimension: the smallest cap of the label names it appears under.
    let dimensionCaps: [Int]
    /// Per family, the dimension of each label.
    let familyDimensions: [[Int]]
    /// Per family, bucket bounds in observation units (milliseconds, bytes), for indexing.
    let observationBuckets: [BucketLayout?]
    let httpFamilies: [Int]
    let tcpFamilies: [Int]
    /// The same, as plain values for the per-line path.
    let plan: SchemaPlan

    /// Requests slower than this (milliseconds) are `slow_request="true"`.
    public var slowThresholdMilliseconds: Int64 { classification.slowThresholdMilliseconds }

    /// The same families with classic buckets only, for outputs that cannot carry native
    /// histograms (the text formats): keeping them would cost every observation a logarithm.
    public func withoutNativeHistograms() -> MetricsSchema {
        guard families.contains(where: { $0.native != nil }) else { return self }
        let families = families.map { family in
            var family = family
            family.native = nil
            return family
        }
        // The same labels and patterns as this schema, which were valid.
        return (try? MetricsSchema(families: families, limits: limits, classification: classification)) ?? self
    }

    /// - Throws: ``SchemaError`` for a label pattern that is not a valid regular expression.
    public init(
        families: [FamilyDefinition], limits: Limits = Limits(), classification: Classification = Classification()
    )
        throws(SchemaError)
    {
        self.families = families
        self.limits = limits
        self.classification = classification
        var dimensions: [LabelSource] = []
        var caps: [Int] = []
        var familyDimensions: [[Int]] = []
        for family in families {
            var dims: [Int] = []
            for label in family.labels {
                let cap = limits.maxValuesPerLabel[label.name] ?? limits.defaultMaxValuesPerLabel
                if let existing = dimensions.firstIndex(of: label.source) {
                    dims.append(existing)
                    caps[existing] = min(caps[existing], cap)
                } else {
                    dims.append(dimensions.count)
                    dimensions.append(label.source)
                    caps.append(cap)
                }
            }
            familyDimensions.append(dims)
        }
        // The per-flag counter splits the record's flag set, which is a dimension of its own: it
        // must exist (and be part of the record's cache key) even when no family is labelled by it.
        if dimensions.contains(.flag), !dimensions.contains(.responseFlags) {
            dimensions.append(.responseFlags)
            caps.append(limits.maxValuesPerLabel["response_flags"] ?? limits.defaultMaxValuesPerLabel)
        }
        self.dimensions = dimensions
        self.dimensionCaps = caps
        self.familyDimensions = familyDimensions
        self.observationBuckets = families.map { family in
            guard let buckets = family.buckets else { return nil }
            let scale = Double(family.observationsPerUnit)
            // Rounded to a nanounit so that 0.005 s becomes exactly 5 ms.
            return try? BucketLayout(upperBounds: buckets.upperBounds.map { ($0 * scale * 1e9).rounded() / 1e9 })
        }
        for source in dimensions {
            guard case .fieldPattern(_, let pattern) = source else { continue }
            do {
                _ = try Regex(pattern)
            } catch {
                throw .invalidPattern(pattern, reason: "\(error)")
            }
        }
        do {
            _ = try RouteMatcher(rules: classification.rules)
        } catch {
            throw .invalidRoute(error)
        }
        self.plan = SchemaPlan(
            families: families, dimensions: dimensions, familyDimensions: familyDimensions,
            observationBuckets: observationBuckets)
        self.httpFamilies = families.indices.filter { !families[$0].observation.isTCP }
        self.tcpFamilies = families.indices.filter { families[$0].observation.isTCP }
        var wanted: FieldSet = [.protocol, .method, .responseCode, .duration]
        for source in dimensions {
            switch source {
            case .route:
                wanted = wanted.union([.routeName, .path])
                if !classification.rules.isEmpty { wanted = wanted.union([.method, .authority]) }
            case .errorType where classification.grpcStatusDecidesErrorType: wanted.insert(.grpcStatus)
            case .grpcStatus: wanted.insert(.grpcStatus)
            case .reporter: wanted.insert(.upstreamCluster)
            case .pathSegment: wanted.insert(.path)
            case .fieldPattern(let field, _): wanted.insert(field)
            case .responseFlags, .flag: wanted.insert(.responseFlags)
            case .requestProtocol: wanted = wanted.union([.grpcStatus])
            case .destinationService, .destinationServiceName, .destinationServiceNamespace:
                wanted = wanted.union([.upstreamCluster, .requestedServerName, .authority])
            case .field(let field): wanted.insert(field)
            case .destinationPod: wanted.insert(.upstreamHost)
            case .destinationServiceLabel:
                wanted = wanted.union([.upstreamCluster, .requestedServerName, .authority])
            default: break
            }
        }
        for family in families {
            switch family.observation {
            case .requestBytes, .tcpReceivedBytes: wanted.insert(.bytesReceived)
            case .responseBytes, .tcpSentBytes: wanted.insert(.bytesSent)
            case .upstreamServiceTime: wanted.insert(.upstreamServiceTime)
            default: break
            }
        }
        if families.contains(where: \.exemplars) { wanted = wanted.union([.traceparent, .b3TraceID, .requestID]) }
        self.wantedFields = wanted
    }

    /// The default families of the metric contract, named under `namespace`.
    ///
    /// - Parameters:
    ///   - sourceLabels: labels added to every family (static labels, pod-log labels).
    ///   - slowThresholds: milliseconds; each becomes an exact bound of the duration histogram.
    public static func defaultFamilies(
        namespace: String = "logmetrics", sourceLabels: [FamilyDefinition.Label] = [],
        slowThresholds: [Int64] = [1000]
    ) -> [FamilyDefinition] {
        var seconds = BucketLayout.envoySeconds
        for threshold in slowThresholds {
            seconds = (try? seconds.inserting(boundary: Double(threshold) / 1000)) ?? seconds
        }
        let bytes = try! BucketLayout(upperBounds: [
            64, 256, 1024, 4096, 16384, 65536, 262_144, 1_048_576, 4_194_304, 16_777_216, 67_108_864,
        ])
        let route = FamilyDefinition.Label("route", .route)
        let method = FamilyDefinition.Label("method", .method)
        let errorType = FamilyDefinition.Label("error_type", .errorType)
        let flags = FamilyDefinition.Label("response_flags", .responseFlags)
        let destination = FamilyDefinition.Label("destination_service", .destinationService)
        let p = namespace.isEmpty ? "" : namespace + "_"
        return [
            FamilyDefinition(
                name: p + "http_requests",
                help: "HTTP requests by route, method, response code, error type, response flags and slowness.",
                type: .counter, observation: .requests,
                labels: [
                    route, method, .init("response_code", .responseCode), errorType, flags,
                    .init("slow_request", .slowRequest), destination,
                ] + sourceLabels, exemplars: true),
            FamilyDefinition(
                name: p + "http_request_duration_seconds",
                help: "HTTP request duration, first byte in to last byte out.",
                type: .histogram, unit: "seconds", observation: .duration,
                labels: [route, method, errorType] + sourceLabels,
                buckets: seconds, observationsPerUnit: 1000, native: .default, exemplars: true),
            FamilyDefinition(
                name: p + "http_request_size_bytes", help: "HTTP request body size.", type: .histogram, unit: "bytes",
                observation: .requestBytes, labels: [route] + sourceLabels, buckets: bytes),
            FamilyDefinition(
                name: p + "http_response_size_bytes", help: "HTTP response body size.", type: .histogram, unit: "bytes",
                observation: .responseBytes, labels: [route] + sourceLabels, buckets: bytes),
            FamilyDefinition(
                name: p + "http_upstream_service_time_seconds",
                help: "Time the upstream took to answer, from x-envoy-upstream-service-time.",
                type: .histogram, unit: "seconds", observation: .upstreamServiceTime, labels: [route] + sourceLabels,
                buckets: seconds, observationsPerUnit: 1000),
            FamilyDefinition(
                name: p + "http_response_flags", help: "Envoy response flags, one increment per flag of each request.",
                type: .counter, observation: .responseFlags, labels: [route, .init("flag", .flag)] + sourceLabels),
            FamilyDefinition(
                name: p + "tcp_connections", help: "TCP proxy connections (closed), by destination and response flags.",
                type: .counter, observation: .tcpConnections, labels: [destination, flags] + sourceLabels),
            FamilyDefinition(
                name: p + "tcp_sent_bytes", help: "Bytes sent to downstream clients on TCP proxy connections.",
                type: .counter, observation: .tcpSentBytes, labels: [destination, flags] + sourceLabels),
            FamilyDefinition(
                name: p + "tcp_received_bytes",
                help: "Bytes received from downstream clients on TCP proxy connections.",
                type: .counter, observation: .tcpReceivedBytes, labels: [destination, flags] + sourceLabels),
            FamilyDefinition(
                name: p + "tcp_connection_duration_seconds", help: "TCP proxy connection duration.", type: .histogram,
                unit: "seconds", observation: .tcpDuration, labels: [destination] + sourceLabels,
                buckets: BucketLayout.envoySeconds, observationsPerUnit: 1000),
        ]
    }
}

public enum SchemaError: Error, Equatable, CustomStringConvertible {
    case invalidPattern(String, reason: String)
    case invalidRoute(RouteRuleError)

    public var description: String {
        switch self {
        case .invalidPattern(let pattern, let reason): "\"\(pattern)\" is not a valid regular expression: \(reason)"
        case .invalidRoute(let error): error.description
        }
    }
}

extension MetricsSchema {
    /// Istio's standard metric names, labels and buckets, computed from access logs, plus
    /// `route_name`, `error_type` and `slow_request`: queries and dashboards written for Istio's
    /// own metrics keep working.
    ///
    /// Labels an access log cannot tell (the peer's canonical service, principals, mTLS) are
    /// `unknown`, as Istio itself reports missing peer metadata. `source_workload` and
    /// `source_workload_namespace` come from the pod log the line was read from, when known;
    /// `destination_workload` and `destination_workload_namespace` from the pod behind
    /// `upstream_host` when `podMetadata` is set (a ``MetadataLookup`` answers them).
    public static func istioFamilies(
        extraLabels: [FamilyDefinition.Label] = [], slowThresholds: [Int64] = [1000], podMetadata: Bool = false
    ) -> [FamilyDefinition] {
        var milliseconds = BucketLayout.envoyMilliseconds
        for threshold in slowThresholds {
            milliseconds = (try? milliseconds.inserting(boundary: Double(threshold))) ?? milliseconds
        }
        let unknown = LabelSource.constant(Registry.unknownValue)
        let common: [FamilyDefinition.Label] = [
            .init("reporter", .reporter),
            .init("source_workload", .input("workload")),
            .init("source_workload_namespace", .input("namespace")),
            .init("source_principal", unknown),
            .init("destination_workload", podMetadata ? .destinationPod(.workload) : unknown),
            .init("destination_workload_namespace", podMetadata ? .destinationPod(.namespace) : unknown),
            .init("destination_principal", unknown),
            .init("destination_service", .destinationService),
            .init("destination_service_name", .destinationServiceName),
            .init("destination_service_namespace", .destinationServiceNamespace),
            .init("request_protocol", .requestProtocol),
        ]
        let http =
            common + [
                .init("response_code", .responseCode),
                .init("grpc_response_status", .grpcStatus),
                .init("response_flags", .responseFlags),
                .init("connection_security_policy", unknown),
                .init("route_name", .route),
                .init("error_type", .errorType),
                .init("slow_request", .slowRequest),
            ] + extraLabels
        let tcp =
            common + [
                .init("response_flags", .responseFlags),
                .init("connection_security_policy", unknown),
            ] + extraLabels
        return [
            FamilyDefinition(
                name: "istio_requests", help: "Requests, from the proxy's access log.", type: .counter,
                observation: .requests, labels: http, exemplars: true),
            FamilyDefinition(
                name: "istio_request_duration_milliseconds", help: "Request duration, from the proxy's access log.",
                type: .histogram, unit: "milliseconds", observation: .duration, labels: http, buckets: milliseconds,
                native: .default, exemplars: true),
            FamilyDefinition(
                name: "istio_request_bytes", help: "Request body sizes, from the proxy's access log.", type: .histogram,
                unit: "bytes", observation: .requestBytes, labels: http, buckets: BucketLayout.envoyMilliseconds),
            FamilyDefinition(
                name: "istio_response_bytes", help: "Response body sizes, from the proxy's access log.",
                type: .histogram, unit: "bytes", observation: .responseBytes, labels: http,
                buckets: BucketLayout.envoyMilliseconds),
            FamilyDefinition(
                name: "istio_tcp_connections_closed", help: "TCP connections closed, from the proxy's access log.",
                type: .counter, observation: .tcpConnections, labels: tcp),
            FamilyDefinition(
                name: "istio_tcp_sent_bytes", help: "Bytes sent on TCP connections, from the proxy's access log.",
                type: .counter, observation: .tcpSentBytes, labels: tcp),
            FamilyDefinition(
                name: "istio_tcp_received_bytes",
                help: "Bytes received on TCP connections, from the proxy's access log.",
                type: .counter, observation: .tcpReceivedBytes, labels: tcp),
        ]
    }
}
