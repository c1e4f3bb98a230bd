/// A logical access-log field, independent of the JSON key or TEXT position a format uses for it.
///
/// The built-in fields cover what Istio, Envoy Gateway and Envoy write by default. Further
/// fields (a header a user logs, say) are registered on a ``FieldMap`` and get identifiers
/// from ``firstCustom`` up to ``capacity``.
public struct AccessLogField: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let rawValue: UInt8

    @inlinable
    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    @inlinable
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    // Inlinable computed properties, not `static let`s: a stored static is reached through an
    // addressor call (and its once-check) from every other module, several times a line.
    @inlinable public static var startTime: Self { Self(rawValue: 0) }
    @inlinable public static var method: Self { Self(rawValue: 1) }
    @inlinable public static var path: Self { Self(rawValue: 2) }
    @inlinable public static var `protocol`: Self { Self(rawValue: 3) }
    @inlinable public static var responseCode: Self { Self(rawValue: 4) }
    @inlinable public static var responseFlags: Self { Self(rawValue: 5) }
    @inlinable public static var responseCodeDetails: Self { Self(rawValue: 6) }
    @inlinable public static var connectionTerminationDetails: Self { Self(rawValue: 7) }
    @inlinable public static var upstreamTransportFailureReason: Self { Self(rawValue: 8) }
    @inlinable public static var bytesReceived: Self { Self(rawValue: 9) }
    @inlinable public static var bytesSent: Self { Self(rawValue: 10) }
    /// Milliseconds from the first request byte to the last response byte.
    @inlinable public static var duration: Self { Self(rawValue: 11) }
    /// Milliseconds, from the `x-envoy-upstream-service-time` response header.
    @inlinable public static var upstreamServiceTime: Self { Self(rawValue: 12) }
    @inlinable public static var xForwardedFor: Self { Self(rawValue: 13) }
    @inlinable public static var userAgent: Self { Self(rawValue: 14) }
    @inlinable public static var requestID: Self { Self(rawValue: 15) }
    @inlinable public static var authority: Self { Self(rawValue: 16) }
    @inlinable public static var upstreamHost: Self { Self(rawValue: 17) }
    @inlinable public static var upstreamCluster: Self { Self(rawValue: 18) }
    @inlinable public static var upstreamLocalAddress: Self { Self(rawValue: 19) }
    @inlinable public static var downstreamLocalAddress: Self { Self(rawValue: 20) }
    @inlinable public static var downstreamRemoteAddress: Self { Self(rawValue: 21) }
    @inlinable public static var requestedServerName: Self { Self(rawValue: 22) }
    @inlinable public static var routeName: Self { Self(rawValue: 23) }
    @inlinable public static var grpcStatus: Self { Self(rawValue: 24) }
    @inlinable public static var traceparent: Self { Self(rawValue: 25) }
    @inlinable public static var b3TraceID: Self { Self(rawValue: 26) }
    @inlinable public static var upstreamRequestAttemptCount: Self { Self(rawValue: 27) }
    /// Istio <= 1.7 only; kept so that legacy records can be recognised.
    @inlinable public static var istioPolicyStatus: Self { Self(rawValue: 28) }

    /// Identifiers from here on are handed out by ``FieldMap/addCustomField(key:)``.
    public static let firstCustom: UInt8 = 32
    /// At most this many fields exist; presence is tracked in one 64-bit mask.
    public static let capacity = 64

    static let builtinNames: [String] = [
        "start_time", "method", "path", "protocol", "response_code", "response_flags",
        "response_code_details", "connection_termination_details", "upstream_transport_failure_reason",
        "bytes_received", "bytes_sent", "duration", "upstream_service_time", "x_forwarded_for", "user_agent",
        "request_id", "authority", "upstream_host", "upstream_cluster", "upstream_local_address",
        "downstream_local_address", "downstream_remote_address", "requested_server_name", "route_name",
        "grpc_status", "traceparent", "x_b3_traceid", "upstream_request_attempt_count", "istio_policy_status",
    ]

    /// All built-in fields, in identifier order.
    public static let builtins: [AccessLogField] = (0..<builtinNames.count).map { Self(rawValue: UInt8($0)) }

    /// The built-in field with this logical name (the Istio JSON key spelling), if any.
    public init?(name: String) {
        guard let index = Self.builtinNames.firstIndex(of: name) else { return nil }
        self.rawValue = UInt8(index)
    }

    /// Fields whose values are integers, written by Envoy either as JSON numbers or as strings.
    public static let numericFields: FieldSet = [
        .responseCode, .bytesReceived, .bytesSent, .duration, .upstreamServiceTime, .upstreamRequestAttemptCount,
    ]

    public var isCustom: Bool { rawValue >= Self.firstCustom }

    public var description: String {
        Int(rawValue) < Self.builtinNames.count ? Self.builtinNames[Int(rawValue)] : "custom_\(rawValue)"
    }
}

/// A set of fields as a bit mask: one bit per ``AccessLogField`` identifier.
public struct FieldSet: Hashable, Sendable, ExpressibleByArrayLiteral, Sequence {
    public var rawValue: UInt64

    @inlinable
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public init(arrayLiteral elements: AccessLogField...) {
        self.rawValue = 0
        for field in elements { insert(field) }
    }

    @inlinable
    public func contains(_ field: AccessLogField) -> Bool { rawValue & (1 &<< UInt64(field.rawValue)) != 0 }

    @inlinable
    public mutating func insert(_ field: AccessLogField) { rawValue |= 1 &<< UInt64(field.rawValue) }

    @inlinable
    public mutating func remove(_ field: AccessLogField) { rawValue &= ~(1 &<< UInt64(field.rawValue)) }

    @inlinable
    public func union(_ other: FieldSet) -> FieldSet { FieldSet(rawValue: rawValue | other.rawValue) }

    @inlinable
    public func intersection(_ other: FieldSet) -> FieldSet { FieldSet(rawValue: rawValue & other.rawValue) }

    @inlinable
    public var isEmpty: Bool { rawValue == 0 }

    public static let all = FieldSet(rawValue: .max)

    public func makeIterator() -> Iterator { Iterator(remaining: rawValue) }

    public struct Iterator: IteratorProtocol {
        var remaining: UInt64
        public mutating func next() -> AccessLogField? {
            guard remaining != 0 else { return nil }
            let bit = remaining.trailingZeroBitCount
            remaining &= remaining &- 1
            return AccessLogField(rawValue: UInt8(bit))
        }
    }
}
