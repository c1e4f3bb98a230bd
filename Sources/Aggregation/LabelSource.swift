import AccessLogParser

/// Where the value of a label comes from.
public enum LabelSource: Hashable, Sendable, CustomStringConvertible {
    /// The route: a matching rule, else Envoy's `route_name`, else a template of the path.
    case route
    case method
    /// The decimal response code; `0` when Envoy sent none.
    case responseCode
    /// The response flags as a set in Envoy's table order (`UF,URX`), `-` for none.
    case responseFlags
    /// `server_error` (code >= 500), `client_error` (>= 400) or `none`.
    case errorType
    /// `true` when the duration is above the route's slow-request threshold.
    case slowRequest
    /// `http`, `grpc` or `tcp`.
    case requestProtocol
    case destinationService
    case destinationServiceName
    case destinationServiceNamespace
    /// One individual response flag (for the per-flag counter).
    case flag
    /// The gRPC status as Envoy logged it (`grpc_status`), empty for calls that are not gRPC.
    case grpcStatus
    /// Which proxy saw the request, Istio's `reporter`: `source` for outbound traffic (sidecars
    /// calling out, gateways), `destination` for inbound, `waypoint` for ambient waypoints.
    case reporter
    /// One segment of the path, counted from 1 (`/v1/models/<model>/infer`: 3 is the model).
    case pathSegment(Int)
    /// The first capture group of a regular expression searched in a field.
    case fieldPattern(AccessLogField, String)
    /// A label with one value, from the configuration.
    case constant(String)
    /// A label of the input the line came from (namespace, pod, container from a pod log path).
    case input(String)
    /// The value of a logged field, as written (custom labels).
    case field(AccessLogField)
    /// The pod that has the record's `upstream_host` address, from a ``MetadataLookup``:
    /// `unknown` when no pod has it (or the pod lacks the label).
    case destinationPod(PodAttribute)
    /// A label of the record's destination service (`destination_service_name` in
    /// `destination_service_namespace`), from a ``MetadataLookup``.
    case destinationServiceLabel(String)
    /// The pod whose log the line was read from (a Kubernetes pod log path), from a
    /// ``MetadataLookup``.
    case sourcePod(PodAttribute)

    public var description: String {
        switch self {
        case .route: "route"
        case .method: "method"
        case .responseCode: "response_code"
        case .responseFlags: "response_flags"
        case .errorType: "error_type"
        case .slowRequest: "slow_request"
        case .requestProtocol: "request_protocol"
        case .destinationService: "destination_service"
        case .destinationServiceName: "destination_service_name"
        case .destinationServiceNamespace: "destination_service_namespace"
        case .flag: "flag"
        case .grpcStatus: "grpc_status"
        case .reporter: "reporter"
        case .pathSegment(let index): "path_segment(\(index))"
        case .fieldPattern(let field, let pattern): "field(\(field)) =~ \(pattern)"
        case .constant(let value): "constant(\(value))"
        case .input(let name): "input(\(name))"
        case .field(let field): "field(\(field))"
        case .destinationPod(let attribute): "destination_pod(\(attribute))"
        case .destinationServiceLabel(let key): "destination_service_label(\(key))"
        case .sourcePod(let attribute): "source_pod(\(attribute))"
        }
    }
}

/// What a family counts or observes, per record.
public enum Observation: Sendable, Equatable {
    /// One per HTTP request.
    case requests
    /// One per individual response flag of an HTTP request.
    case responseFlags
    /// HTTP request duration, milliseconds.
    case duration
    /// Request body bytes.
    case requestBytes
    /// Response body bytes.
    case responseBytes
    /// The upstream service time header, milliseconds.
    case upstreamServiceTime
    /// One per TCP connection record.
    case tcpConnections
    /// Bytes sent to the downstream on a TCP connection.
    case tcpSentBytes
    /// Bytes received from the downstream on a TCP connection.
    case tcpReceivedBytes
    /// TCP connection duration, milliseconds.
    case tcpDuration

    /// Whether the family counts TCP records (otherwise HTTP records).
    public var isTCP: Bool {
        switch self {
        case .tcpConnections, .tcpSentBytes, .tcpReceivedBytes, .tcpDuration: true
        default: false
        }
    }
}
