/// The order of the keys in a JSON line.
public enum KeyOrder: String, CaseIterable, Sendable {
    /// Sorted by key, as Envoy 1.40 writes `json_format` (it sorts the struct's fields).
    case alphabetical
    /// The order Istio declares its default JSON format in (`EnvoyJSONLogFormatIstio`).
    case declared
}

/// The keys of Istio's default JSON access-log format, in the order Istio declares them.
enum LogKey: Int, CaseIterable {
    case startTime, method, path, `protocol`, responseCode, responseFlags, responseCodeDetails
    case connectionTerminationDetails, upstreamTransportFailureReason, bytesReceived, bytesSent, duration
    case upstreamServiceTime, xForwardedFor, userAgent, requestID, authority, upstreamHost, upstreamCluster
    case upstreamLocalAddress, downstreamLocalAddress, downstreamRemoteAddress, requestedServerName, routeName

    var name: String {
        switch self {
        case .startTime: "start_time"
        case .method: "method"
        case .path: "path"
        case .protocol: "protocol"
        case .responseCode: "response_code"
        case .responseFlags: "response_flags"
        case .responseCodeDetails: "response_code_details"
        case .connectionTerminationDetails: "connection_termination_details"
        case .upstreamTransportFailureReason: "upstream_transport_failure_reason"
        case .bytesReceived: "bytes_received"
        case .bytesSent: "bytes_sent"
        case .duration: "duration"
        case .upstreamServiceTime: "upstream_service_time"
        case .xForwardedFor: "x_forwarded_for"
        case .userAgent: "user_agent"
        case .requestID: "request_id"
        case .authority: "authority"
        case .upstreamHost: "upstream_host"
        case .upstreamCluster: "upstream_cluster"
        case .upstreamLocalAddress: "upstream_local_address"
        case .downstreamLocalAddress: "downstream_local_address"
        case .downstreamRemoteAddress: "downstream_remote_address"
        case .requestedServerName: "requested_server_name"
        case .routeName: "route_name"
        }
    }

    static func ordered(_ order: KeyOrder) -> [LogKey] {
        switch order {
        case .declared: allCases
        case .alphabetical: allCases.sorted { $0.name < $1.name }
        }
    }
}

/// Writes ``SyntheticRequest``s as Envoy would: typed JSON (Istio's 24 keys), the same wrapped
/// in a CRI envelope, or Istio's default TEXT format.
struct LineRenderer {
    let format: CorpusFormat
    private let keys: [LogKey]
    /// `"key":` for each key of ``keys``, with the separating comma before all but the first.
    private let keyPrefixes: [[UInt8]]
    /// Per route, per variant: the route name as logged.
    private let routeNames: [[[UInt8]]]
    private let clusters: [[UInt8]]
    private let methods: [[UInt8]]
    private let userAgents: [[UInt8]]
    private let authorities: [[UInt8]]
    private let outcomes: [(flags: [UInt8], details: [UInt8], failureReason: [UInt8]?)]

    init(format: CorpusFormat, routeVariants: Int) {
        self.format = format
        switch format {
        case .json(let order), .cri(let order): keys = LogKey.ordered(order)
        case .text: keys = LogKey.allCases
        }
        keyPrefixes = keys.enumerated().map { index, key in Array(((index == 0 ? "" : ",") + "\"\(key.name)\":").utf8) }
        routeNames = TrafficModel.routes.map { route in
            (0..<max(1, routeVariants)).map { variant in
                guard let name = route.name else { return [] }
                return Array((variant == 0 ? name : "\(name)_v\(variant)").utf8)
            }
        }
        clusters = TrafficModel.routes.map { Array("outbound|\($0.port)||\($0.service).shop.svc.cluster.local".utf8) }
        methods = TrafficModel.methods.map { Array($0.utf8) }
        userAgents = TrafficModel.userAgents.map { Array($0.0.utf8) }
        authorities = TrafficModel.authorities.map { Array($0.0.utf8) }
        outcomes = TrafficModel.outcomes.map {
            (Array($0.flags.utf8), Array($0.details.utf8), $0.failureReason.map { Array($0.utf8) })
        }
    }

    /// Appends the line for `r`, newline included.
    func append(_ r: SyntheticRequest, to out: inout [UInt8]) {
        switch format {
        case .json:
            appendJSON(r, to: &out)
        case .cri:
            // containerd's CRI log line: time, stream, full-line tag, content.
            out.appendContainerdTime(nanos: r.endNanos + 20_000 + Int64(r.requestIDHigh & 0xFFFF))
            out.append(" stdout F ")
            appendJSON(r, to: &out)
        case .text:
            appendText(r, to: &out)
        }
        out.append(0x0A)
    }

    // MARK: JSON

    private func appendJSON(_ r: SyntheticRequest, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        for (index, key) in keys.enumerated() {
            out.append(contentsOf: keyPrefixes[index])
            appendJSONValue(key, r, to: &out)
        }
        out.append(UInt8(ascii: "}"))
    }

    /// Values are typed as Istio's `json_format` makes Envoy write them: numbers for the numeric
    /// operators, a string for the upstream service time (a header), `null` for no value.
    /// No value here needs escaping: the model has no quotes, backslashes or control bytes.
    private func appendJSONValue(_ key: LogKey, _ r: SyntheticRequest, to out: inout [UInt8]) {
        let outcome = outcomes[r.outcome]
        switch key {
        case .responseCode:
            out.appendDecimal(TrafficModel.outcomes[r.outcome].code)
        case .bytesReceived:
            out.appendDecimal(r.bytesReceived)
        case .bytesSent:
            out.appendDecimal(r.bytesSent)
        case .duration:
            out.appendDecimal(r.durationMillis)
        case .connectionTerminationDetails:
            out.append("null")
        case .upstreamTransportFailureReason where outcome.failureReason == nil,
            .upstreamServiceTime where r.upstreamServiceTime < 0,
            .xForwardedFor where r.forwardedHops == 0,
            .upstreamHost where r.upstreamHost == 0,
            .upstreamLocalAddress where r.upstreamLocalPort == 0,
            .upstreamCluster where TrafficModel.routes[r.route].kind == .unrouted,
            .routeName where TrafficModel.routes[r.route].name == nil,
            .requestedServerName where !r.tls:
            out.append("null")
        default:
            out.append(UInt8(ascii: "\""))
            appendText(key, r, to: &out)
            out.append(UInt8(ascii: "\""))
        }
    }

    /// The text of a value that is present, unquoted.
    private func appendText(_ key: LogKey, _ r: SyntheticRequest, to out: inout [UInt8]) {
        let outcome = outcomes[r.outcome]
        switch key {
        case .startTime: out.appendEnvoyTime(nanos: r.startNanos)
        case .method: out.append(contentsOf: methods[r.method])
        case .path: out.append(contentsOf: r.path)
        case .protocol: out.append(r.http2 ? "HTTP/2" : "HTTP/1.1")
        case .responseCode: out.appendDecimal(TrafficModel.outcomes[r.outcome].code)
        case .responseFlags: out.append(contentsOf: outcome.flags)
        case .responseCodeDetails: out.append(contentsOf: outcome.details)
        case .connectionTerminationDetails: out.append(UInt8(ascii: "-"))
        case .upstreamTransportFailureReason: out.append(contentsOf: outcome.failureReason ?? [UInt8(ascii: "-")])
        case .bytesReceived: out.appendDecimal(r.bytesReceived)
        case .bytesSent: out.appendDecimal(r.bytesSent)
        case .duration: out.appendDecimal(r.durationMillis)
        case .upstreamServiceTime: out.appendDecimal(r.upstreamServiceTime)
        case .xForwardedFor:
            out.appendIPv4(r.client)
            if r.forwardedHops == 2 {
                out.append(", ")
                out.appendIPv4(r.proxy)
            }
        case .userAgent: out.append(contentsOf: userAgents[r.userAgent])
        case .requestID:
            out.appendHex(r.requestIDHigh &>> 32, digits: 8)
            out.append(UInt8(ascii: "-"))
            out.appendHex(r.requestIDHigh &>> 16, digits: 4)
            out.append(UInt8(ascii: "-"))
            out.appendHex(r.requestIDHigh, digits: 4)
            out.append(UInt8(ascii: "-"))
            out.appendHex(r.requestIDLow &>> 48, digits: 4)
            out.append(UInt8(ascii: "-"))
            out.appendHex(r.requestIDLow, digits: 12)
        case .authority: out.append(contentsOf: authorities[r.authority])
        case .upstreamHost: out.appendIPv4(r.upstreamHost, port: TrafficModel.routes[r.route].port)
        case .upstreamCluster: out.append(contentsOf: clusters[r.route])
        case .upstreamLocalAddress: out.appendIPv4(TrafficModel.gatewayAddress, port: r.upstreamLocalPort)
        case .downstreamLocalAddress: out.appendIPv4(TrafficModel.gatewayAddress, port: r.tls ? 8443 : 8080)
        case .downstreamRemoteAddress: out.appendIPv4(r.forwardedHops == 0 ? r.client : r.proxy, port: r.downstreamPort)
        case .requestedServerName: out.append(contentsOf: authorities[r.authority])
        case .routeName: out.append(contentsOf: routeNames[r.route][r.variant])
        }
    }

    // MARK: TEXT

    private static let textCodeFields: [LogKey] = [
        .responseCode, .responseFlags, .responseCodeDetails, .connectionTerminationDetails,
    ]
    private static let textNumberFields: [LogKey] = [.bytesReceived, .bytesSent, .duration, .upstreamServiceTime]
    private static let textQuotedFields: [LogKey] = [.xForwardedFor, .userAgent, .requestID, .authority, .upstreamHost]
    private static let textTailFields: [LogKey] = [
        .upstreamCluster, .upstreamLocalAddress, .downstreamLocalAddress, .downstreamRemoteAddress,
        .requestedServerName, .routeName,
    ]

    /// Istio's default TEXT format (1.23 and later): positional, `-` for no value, quoted
    /// fields in double quotes.
    private func appendText(_ r: SyntheticRequest, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "["))
        appendText(.startTime, r, to: &out)
        out.append("] \"")
        appendText(.method, r, to: &out)
        out.append(UInt8(ascii: " "))
        appendText(.path, r, to: &out)
        out.append(UInt8(ascii: " "))
        appendText(.protocol, r, to: &out)
        out.append("\" ")
        for key in Self.textCodeFields {
            appendTextField(key, r, to: &out)
            out.append(UInt8(ascii: " "))
        }
        appendQuotedTextField(.upstreamTransportFailureReason, r, to: &out)
        for key in Self.textNumberFields {
            out.append(UInt8(ascii: " "))
            appendTextField(key, r, to: &out)
        }
        for key in Self.textQuotedFields {
            out.append(UInt8(ascii: " "))
            appendQuotedTextField(key, r, to: &out)
        }
        for key in Self.textTailFields {
            out.append(UInt8(ascii: " "))
            appendTextField(key, r, to: &out)
        }
    }

    private func appendQuotedTextField(_ key: LogKey, _ r: SyntheticRequest, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        appendTextField(key, r, to: &out)
        out.append(UInt8(ascii: "\""))
    }

    private func appendTextField(_ key: LogKey, _ r: SyntheticRequest, to out: inout [UInt8]) {
        var absent = false
        switch key {
        case .upstreamTransportFailureReason: absent = outcomes[r.outcome].failureReason == nil
        case .upstreamServiceTime: absent = r.upstreamServiceTime < 0
        case .xForwardedFor: absent = r.forwardedHops == 0
        case .upstreamHost: absent = r.upstreamHost == 0
        case .upstreamLocalAddress: absent = r.upstreamLocalPort == 0
        case .upstreamCluster: absent = TrafficModel.routes[r.route].kind == .unrouted
        case .routeName: absent = TrafficModel.routes[r.route].name == nil
        case .requestedServerName: absent = !r.tls
        default: break
        }
        if absent {
            out.append(UInt8(ascii: "-"))
        } else {
            appendText(key, r, to: &out)
        }
    }
}
