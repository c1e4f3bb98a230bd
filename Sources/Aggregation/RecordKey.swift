import AccessLogParser

/// Which parts of a record decide the label values of a scope's signature, so that a record can
/// be keyed by its raw bytes before any label value is resolved.
///
/// Resolving the signature label by label costs a hash and a probe per byte-valued label (route
/// name, method, flags, cluster) and a dispatch per label; most records repeat the raw fields of
/// one seen before. Keyed by those fields, one hash and one probe find the record's series.
///
/// Slowness is the exception: it depends on the duration, which is nearly unique per record, so it
/// is not in the key. An entry keeps its route's threshold and one record-cache entry per side of it.
struct RecordKeyPlan {
    enum RoutePart: Equatable {
        /// No label of the scope depends on the route.
        case none
        /// The route is `route_name` when present and not ignored (no rules), else resolved.
        case byName
        /// The route is resolved per record (rules, which read the path) and keyed by its identifier.
        case resolved
    }

    let route: RoutePart
    /// Fields keyed by their raw bytes, JSON escapes and all: equal raw bytes with equal escape
    /// flags decode alike.
    let byteFields: UnsafeBufferPointer<AccessLogField>
    /// Fields keyed by their parsed integer.
    let intFields: UnsafeBufferPointer<AccessLogField>
    /// Fields whose presence is keyed: the byte and integer fields, and those only tested for.
    let presenceMask: UInt64
    let numericMask: UInt64
    /// Fields whose escaping is keyed: the same raw bytes are a JSON string with escapes in one
    /// line and literal text in an Istio TEXT line of the same input.
    let escapeMask: UInt64
    let usesInput: Bool
    /// Whether the signature has a slow-request label.
    let splitsBySlowness: Bool

    /// The longest key kept; a record whose key would be longer is resolved label by label.
    static let capacity = 1024

    init(
        signature: [Int], kinds: [SchemaPlan.DimensionKind], fields: [AccessLogField], hasRules: Bool,
        useRouteName: Bool, grpcDecidesErrorType: Bool, hasRouteThresholds: Bool
    ) {
        var bytes: [AccessLogField] = []
        var ints: [AccessLogField] = []
        var presence = FieldSet(rawValue: 0)
        var usesInput = false
        var needsRoute = false
        var splits = false
        func byBytes(_ list: AccessLogField...) {
            for field in list where !bytes.contains(field) { bytes.append(field) }
        }
        for dim in signature {
            switch kinds[dim] {
            case .route: needsRoute = true
            case .method: byBytes(.method)
            case .responseCode: if !ints.contains(.responseCode) { ints.append(.responseCode) }
            case .responseFlags: byBytes(.responseFlags)
            case .errorType:
                if !ints.contains(.responseCode) { ints.append(.responseCode) }
                if grpcDecidesErrorType { byBytes(.grpcStatus) }
            case .slowRequest:
                splits = true
                if hasRouteThresholds { needsRoute = true }
            case .requestProtocol:
                presence.insert(.protocol)
                presence.insert(.method)
                presence.insert(.grpcStatus)
            case .reporter: byBytes(.upstreamCluster)
            case .destinationService, .destinationServiceName, .destinationServiceNamespace,
                .destinationServiceLabel:
                byBytes(.upstreamCluster, .requestedServerName, .authority)
            case .grpcStatus: byBytes(.grpcStatus)
            case .pathSegment: byBytes(.path)
            case .field, .fieldPattern: byBytes(fields[dim])
            case .destinationPod: byBytes(.upstreamHost)
            case .input: usesInput = true
            case .constant, .flag: break
            }
        }
        var escapes = FieldSet(rawValue: 0)
        for field in bytes { escapes.insert(field) }
        var numeric = FieldSet(rawValue: 0)
        for field in ints { numeric.insert(field) }
        route = needsRoute ? (hasRules || !useRouteName ? .resolved : .byName) : .none
        byteFields = Self.copy(bytes)
        intFields = Self.copy(ints)
        presenceMask = presence.rawValue | escapes.rawValue | numeric.rawValue
        numericMask = numeric.rawValue
        if route == .byName { escapes.insert(.routeName) }
        escapeMask = escapes.rawValue
        self.usesInput = usesInput
        splitsBySlowness = splits
    }

    private static func copy(_ values: [AccessLogField]) -> UnsafeBufferPointer<AccessLogField> {
        let buffer = UnsafeMutableBufferPointer<AccessLogField>.allocate(capacity: max(1, values.count))
        _ = buffer.initialize(from: values)
        return UnsafeBufferPointer(rebasing: buffer[0..<values.count])
    }

    func deallocate() {
        byteFields.deallocate()
        intFields.deallocate()
    }
}

/// A raw record key -> the record-cache entries of its records: one for those at or below the
/// route's slow-request threshold, one for those above.
struct RecordKeyEntry: BitwiseCopyable {
    var threshold: Int64
    /// Record-cache entries, or -1 until a record on that side has been seen.
    var fast: Int32
    var slow: Int32
}

extension ShardState {
    /// Writes the record's key by `plan` into `out` and returns its length, or -1 when it does not
    /// fit. The route, when keyed by identifier, is resolved into `resolved` on the way.
    @inline(__always)
    mutating func writeKey(
        _ plan: UnsafePointer<RecordKeyPlan>, _ record: AccessRecord, into out: UnsafeMutableRawPointer,
        _ resolved: inout ResolvedDimensions
    ) -> Int {
        out.storeBytes(of: record.present.rawValue & plan.pointee.presenceMask, as: UInt64.self)
        out.storeBytes(of: record.numeric.rawValue & plan.pointee.numericMask, toByteOffset: 8, as: UInt64.self)
        out.storeBytes(of: record.escaped.rawValue & plan.pointee.escapeMask, toByteOffset: 16, as: UInt64.self)
        var n = 24
        if plan.pointee.usesInput {
            out.storeBytes(of: UInt32(truncatingIfNeeded: currentInput), toByteOffset: n, as: UInt32.self)
            n &+= 4
        }
        switch plan.pointee.route {
        case .none:
            break
        case .byName:
            if let name = record.rawBytes(.routeName), name.count < 255, !isIgnoredRouteName(name) {
                out.storeBytes(of: UInt8(name.count), toByteOffset: n, as: UInt8.self)
                n &+= 1
                if let base = name.baseAddress { (out + n).copyMemory(from: base, byteCount: name.count) }
                n &+= name.count
                break
            }
            fallthrough
        case .resolved:
            guard let routeDimension else { break }
            // A name is keyed only up to 254 bytes, so 255 cannot be its length: it marks an identifier.
            out.storeBytes(of: UInt8.max, toByteOffset: n, as: UInt8.self)
            out.storeBytes(of: resolve(routeDimension, record, &resolved), toByteOffset: n &+ 1, as: UInt32.self)
            n &+= 5
        }
        for field in plan.pointee.byteFields {
            guard let raw = record.rawBytes(field) else { continue }
            guard n &+ 4 &+ raw.count <= RecordKeyPlan.capacity else { return -1 }
            out.storeBytes(of: UInt32(truncatingIfNeeded: raw.count), toByteOffset: n, as: UInt32.self)
            n &+= 4
            if let base = raw.baseAddress { (out + n).copyMemory(from: base, byteCount: raw.count) }
            n &+= raw.count
        }
        for field in plan.pointee.intFields {
            guard let value = record.int(field) else { continue }
            guard n &+ 8 <= RecordKeyPlan.capacity else { return -1 }
            out.storeBytes(of: value, toByteOffset: n, as: Int64.self)
            n &+= 8
        }
        return n
    }
}
