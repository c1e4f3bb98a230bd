import AccessLogParser

/// How a record's route, error type and slowness are decided: compiled once from the
/// configuration, shared by every shard.
public struct Classification: Sendable {
    /// User rules, tried first; the first match names the route. Each shard compiles its own
    /// matcher from them (compiled regular expressions are not shared between threads).
    public var rules: [RouteRule]
    /// Whether Envoy's `route_name` names the route when no rule matched.
    public var useRouteName: Bool
    /// `route_name` values that say nothing (Istio sidecars log `default` for every request).
    public var ignoredRouteNames: Set<String>
    /// The template applied to the path when neither rules nor `route_name` named the route; `nil`
    /// uses the path as is (without its query).
    public var pathTemplate: PathTemplate?
    /// Requests slower than this (milliseconds) are `slow_request="true"`.
    public var slowThresholdMilliseconds: Int64
    /// Per-route thresholds, by route label value.
    public var slowThresholdsByRoute: [String: Int64]
    /// Whether a gRPC call's status decides its error type when the HTTP code is 200.
    public var grpcStatusDecidesErrorType: Bool

    public init(
        rules: [RouteRule] = [], useRouteName: Bool = true, ignoredRouteNames: Set<String> = ["default"],
        pathTemplate: PathTemplate? = PathTemplate(), slowThresholdMilliseconds: Int64 = 1000,
        slowThresholdsByRoute: [String: Int64] = [:], grpcStatusDecidesErrorType: Bool = true
    ) {
        self.rules = rules
        self.useRouteName = useRouteName
        self.ignoredRouteNames = ignoredRouteNames
        self.pathTemplate = pathTemplate
        self.slowThresholdMilliseconds = slowThresholdMilliseconds
        self.slowThresholdsByRoute = slowThresholdsByRoute
        self.grpcStatusDecidesErrorType = grpcStatusDecidesErrorType
    }

    /// Every slow-request threshold, in milliseconds: each must be an exact bucket bound.
    public var allSlowThresholds: [Int64] {
        Array(Set([slowThresholdMilliseconds] + slowThresholdsByRoute.values)).sorted()
    }
}

/// gRPC status -> error type, for calls whose HTTP status is 200.
///
/// Statuses that mean the server failed (`UNKNOWN`, `DEADLINE_EXCEEDED`, `UNIMPLEMENTED`,
/// `INTERNAL`, `UNAVAILABLE`, `DATA_LOSS`) are `server_error`; the ones that blame the request or
/// the caller (`CANCELLED`, `INVALID_ARGUMENT`, `NOT_FOUND`, `ALREADY_EXISTS`, `PERMISSION_DENIED`,
/// `RESOURCE_EXHAUSTED`, `FAILED_PRECONDITION`, `ABORTED`, `OUT_OF_RANGE`, `UNAUTHENTICATED`) are
/// `client_error`, as the usual gRPC-to-HTTP mapping has them. Envoy writes the status as a name
/// (`%GRPC_STATUS%`: `Unavailable`) or a number (`%GRPC_STATUS_NUMBER%`: `14`); both are read.
public enum GRPCStatus {
    /// 1 none, 2 client error, 3 server error (the error type dimension's identifiers); nil when
    /// the status is not recognised.
    public static func errorType(_ status: UnsafeBufferPointer<UInt8>) -> UInt32? {
        guard let code = code(status) else { return nil }
        switch code {
        case 0: return 1
        case 2, 4, 12, 13, 14, 15: return 3
        case 1, 3, 5, 6, 7, 8, 9, 10, 11, 16: return 2
        default: return nil
        }
    }

    static let names: [String: Int] = [
        "ok": 0, "cancelled": 1, "canceled": 1, "unknown": 2, "invalidargument": 3, "deadlineexceeded": 4,
        "notfound": 5, "alreadyexists": 6, "permissiondenied": 7, "resourceexhausted": 8, "failedprecondition": 9,
        "aborted": 10, "outofrange": 11, "unimplemented": 12, "internal": 13, "unavailable": 14, "dataloss": 15,
        "unauthenticated": 16,
    ]

    /// The numeric code of a status written as a number or a name in any case, with or without
    /// underscores.
    public static func code(_ status: UnsafeBufferPointer<UInt8>) -> Int? {
        guard !status.isEmpty, status.count <= 24 else { return nil }
        if status.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) {
            return Int(String(decoding: status, as: UTF8.self))
        }
        var name = ""
        for c in status where c != UInt8(ascii: "_") {
            name.unicodeScalars.append(Unicode.Scalar(c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z") ? c + 32 : c))
        }
        return names[name]
    }
}
