/// Which JSON key carries which logical field.
///
/// Built-in presets cover the formats Envoy deployments write by default; a custom map starts
/// from one of them (or from nothing) and adds or replaces keys. Key order in a record is never
/// relied on.
public struct FieldMap: Sendable {
    /// A known access-log layout.
    public enum Preset: String, Sendable, CaseIterable {
        /// Istio's `accessLogEncoding: JSON` default (24 keys), typed since Istio 1.8.
        case istio
        /// Istio <= 1.7: the same keys, every value a string, plus `istio_policy_status`.
        case istioLegacy = "istio-legacy"
        /// Envoy Gateway's default JSON (`:authority`, `x-envoy-origin-path`, ...).
        case envoyGateway = "envoy-gateway"
        /// Istio's default TEXT format (positional, not JSON).
        case istioText = "istio-text"
    }

    /// Hint bits attached to keys that only one preset uses; used to report the detected preset.
    public struct Hints: Sendable {
        public static let envoyGateway: UInt8 = 1
        public static let istioLegacy: UInt8 = 2
        public static let istio: UInt8 = 4
    }

    public private(set) var entries: [(key: String, field: AccessLogField, hint: UInt8)]
    /// Custom fields by the name the configuration gave them.
    public private(set) var customFields: [(name: String, field: AccessLogField)] = []

    public init(entries: [(key: String, field: AccessLogField, hint: UInt8)] = []) {
        self.entries = entries
    }

    /// Keys every preset understands: trace context written by custom formats.
    static let commonKeys: [(String, AccessLogField)] = [
        ("traceparent", .traceparent),
        ("x-b3-traceid", .b3TraceID),
        ("x_b3_traceid", .b3TraceID),
        ("grpc_status", .grpcStatus),
        ("upstream_request_attempt_count", .upstreamRequestAttemptCount),
    ]

    static let istioKeys: [(String, AccessLogField)] = [
        ("start_time", .startTime), ("method", .method), ("path", .path), ("protocol", .protocol),
        ("response_code", .responseCode), ("response_flags", .responseFlags),
        ("response_code_details", .responseCodeDetails),
        ("connection_termination_details", .connectionTerminationDetails),
        ("upstream_transport_failure_reason", .upstreamTransportFailureReason),
        ("bytes_received", .bytesReceived), ("bytes_sent", .bytesSent), ("duration", .duration),
        ("upstream_service_time", .upstreamServiceTime), ("x_forwarded_for", .xForwardedFor),
        ("user_agent", .userAgent), ("request_id", .requestID), ("authority", .authority),
        ("upstream_host", .upstreamHost), ("upstream_cluster", .upstreamCluster),
        ("upstream_local_address", .upstreamLocalAddress), ("downstream_local_address", .downstreamLocalAddress),
        ("downstream_remote_address", .downstreamRemoteAddress), ("requested_server_name", .requestedServerName),
        ("route_name", .routeName),
    ]

    /// Envoy Gateway spells six keys after the header or operator instead of Istio's names.
    static let envoyGatewayKeys: [(String, AccessLogField)] = [
        ("x-envoy-origin-path", .path), (":authority", .authority),
        ("x-envoy-upstream-service-time", .upstreamServiceTime), ("x-forwarded-for", .xForwardedFor),
        ("user-agent", .userAgent), ("x-request-id", .requestID),
    ]

    static let sharedWithGateway: Set<String> = [
        "start_time", "method", "protocol", "response_code", "response_flags", "response_code_details",
        "connection_termination_details", "upstream_transport_failure_reason", "bytes_received", "bytes_sent",
        "duration", "upstream_host", "upstream_cluster", "upstream_local_address", "downstream_local_address",
        "downstream_remote_address", "requested_server_name", "route_name",
    ]

    /// The map for one preset.
    public static func preset(_ preset: Preset) -> FieldMap {
        var entries: [(String, AccessLogField, UInt8)] = []
        switch preset {
        case .istio, .istioText:
            entries = istioKeys.map { ($0.0, $0.1, 0) }
        case .istioLegacy:
            entries =
                istioKeys.map { ($0.0, $0.1, 0) } + [("istio_policy_status", .istioPolicyStatus, Hints.istioLegacy)]
        case .envoyGateway:
            entries =
                istioKeys.filter { sharedWithGateway.contains($0.0) }.map { ($0.0, $0.1, 0) }
                + envoyGatewayKeys.map { ($0.0, $0.1, Hints.envoyGateway) }
        }
        entries += commonKeys.map { ($0.0, $0.1, 0) }
        return FieldMap(entries: entries.map { (key: $0.0, field: $0.1, hint: $0.2) })
    }

    /// Every preset's keys at once, for inputs whose layout is detected from the records: Istio and
    /// Envoy Gateway spell a field differently but never use one key for two fields, so the union
    /// reads either. Keys unique to one preset carry a hint bit so the layout can be reported.
    public static var automatic: FieldMap {
        var entries: [(String, AccessLogField, UInt8)] = istioKeys.map {
            ($0.0, $0.1, sharedWithGateway.contains($0.0) ? 0 : Hints.istio)
        }
        entries += envoyGatewayKeys.map { ($0.0, $0.1, Hints.envoyGateway) }
        entries.append(("istio_policy_status", .istioPolicyStatus, Hints.istioLegacy))
        entries += commonKeys.map { ($0.0, $0.1, 0) }
        return FieldMap(entries: entries.map { (key: $0.0, field: $0.1, hint: $0.2) })
    }

    /// Maps `key` to `field`, replacing any earlier mapping of that key.
    public mutating func map(key: String, to field: AccessLogField) {
        entries.removeAll { $0.key == key }
        entries.insert((key: key, field: field, hint: 0), at: 0)
    }

    /// Registers a field beyond the built-ins, read from `key`, and returns its identifier.
    /// Asking again for the same name returns the same field and maps the additional key.
    public mutating func addCustomField(name: String, key: String) throws(FieldMapError) -> AccessLogField {
        if let existing = customFields.first(where: { $0.name == name }) {
            map(key: key, to: existing.field)
            return existing.field
        }
        let next = Int(AccessLogField.firstCustom) + customFields.count
        guard next < AccessLogField.capacity else {
            throw .tooManyCustomFields(limit: AccessLogField.capacity - Int(AccessLogField.firstCustom))
        }
        let field = AccessLogField(rawValue: UInt8(next))
        customFields.append((name: name, field: field))
        map(key: key, to: field)
        return field
    }

    /// The field for a key, if mapped.
    public func field(forKey key: String) -> AccessLogField? {
        entries.first { $0.key == key }?.field
    }

    /// A lookup table for this map; the scanner records only the values of `wanted` fields and
    /// skips the others unread.
    public func makeKeyTable(wanted: FieldSet = .all) -> KeyTable {
        KeyTable(entries, wanted: wanted)
    }
}

public enum FieldMapError: Error, Equatable, CustomStringConvertible {
    case tooManyCustomFields(limit: Int)

    public var description: String {
        switch self {
        case .tooManyCustomFields(let limit): "at most \(limit) custom fields can be extracted"
        }
    }
}
