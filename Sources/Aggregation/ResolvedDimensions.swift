import AccessLogParser

/// The label value identifiers of one record, resolved on first use: several families share
/// labels, and each label is looked up once per record.
struct ResolvedDimensions {
    static let capacity = 48
    var ids = InlineArray<48, UInt32>(repeating: .max)
}

extension ShardState {
    /// The identifier of dimension `dim`'s value for `record`.
    @inline(__always)
    mutating func resolve(_ dim: Int, _ record: AccessRecord, _ resolved: inout ResolvedDimensions) -> UInt32 {
        if dim < ResolvedDimensions.capacity, resolved.ids[dim] != .max { return resolved.ids[dim] }
        let id = compute(dim, record)
        if dim < ResolvedDimensions.capacity { resolved.ids[dim] = id }
        return id
    }

    private mutating func compute(_ dim: Int, _ record: AccessRecord) -> UInt32 {
        switch schema.dimensions[dim] {
        case .errorType:
            let code = record.int(.responseCode) ?? 0
            return code >= 500 ? 3 : (code >= 400 ? 2 : 1)
        case .slowRequest:
            return (record.int(.duration) ?? 0) > schema.slowThresholdMilliseconds ? 2 : 1
        case .requestProtocol:
            if Self.isTCP(record) { return 3 }
            return record.has(.grpcStatus) ? 2 : 1
        case .constant:
            return 1
        case .input:
            return inputDimensionValues[currentInput][dim]
        case .responseCode:
            let code = record.int(.responseCode) ?? 0
            if code >= 0 && code < 1000 {
                let cached = codeCache[Int(code)]
                if cached != .max { return cached }
            }
            let id = registry.intern(dimension: dim, value: String(code))
            if code >= 0 && code < 1000 { codeCache[Int(code)] = id }
            return id
        case .route:
            if record.has(.routeName) { return lookup(dim, record, .routeName) }
            guard let path = record.rawBytes(.path) else { return lookup(dim, "unknown") }
            var end = path.count
            if let query = path.firstIndex(of: UInt8(ascii: "?")) { end = query }
            return lookup(dim, bytes: UnsafeBufferPointer(rebasing: path[..<end]), escaped: record.isEscaped(.path))
        case .method:
            return lookup(dim, record, .method)
        case .responseFlags:
            guard let flags = record.rawBytes(.responseFlags) else { return lookup(dim, "-") }
            return lookup(dim, bytes: flags, escaped: record.isEscaped(.responseFlags))
        case .destinationService, .destinationServiceName, .destinationServiceNamespace:
            return destination(dim, record)
        case .field(let field):
            return lookup(dim, record, field)
        case .flag:
            return 0
        }
    }

    private mutating func lookup(_ dim: Int, _ value: StaticString) -> UInt32 {
        value.withUTF8Buffer { lookup(dim, bytes: $0, escaped: false) }
    }

    private mutating func lookup(_ dim: Int, _ record: AccessRecord, _ field: AccessLogField) -> UInt32 {
        guard let bytes = record.rawBytes(field) else { return lookup(dim, "unknown") }
        return lookup(dim, bytes: bytes, escaped: record.isEscaped(field))
    }

    @inline(__always)
    private mutating func lookup(_ dim: Int, bytes: UnsafeBufferPointer<UInt8>, escaped: Bool) -> UInt32 {
        guard let cache = valueCaches[dim] else { return 0 }
        let hash = hashBytes(bytes.baseAddress, bytes.count)
        if let id = cache.find(bytes, hash: hash) { return id }
        let id = registry.intern(dimension: dim, raw: bytes, escaped: escaped)
        // Bounded by the dimension's cap, with room for raw spellings that canonicalise to the
        // same value and for values refused into overflow; past that, start over.
        if cache.count > 4 * schema.dimensionCaps[dim] + 1024 { cache.removeAll() }
        cache.insert(bytes, hash: hash, value: id)
        return id
    }

    private mutating func destination(_ dim: Int, _ record: AccessRecord) -> UInt32 {
        let cluster = record.rawBytes(.upstreamCluster)
        let serverName = record.rawBytes(.requestedServerName)
        let authority = record.rawBytes(.authority)
        let parsed = DestinationService.parse(cluster: cluster, serverName: serverName, authority: authority)
        guard let range = parsed.service else { return lookup(dim, "unknown") }
        let source: UnsafeBufferPointer<UInt8>
        let field: AccessLogField
        switch parsed.source {
        case .cluster: (source, field) = (cluster!, .upstreamCluster)
        case .serverName: (source, field) = (serverName!, .requestedServerName)
        case .authority: (source, field) = (authority!, .authority)
        }
        let host = UnsafeBufferPointer(rebasing: source[range])
        switch schema.dimensions[dim] {
        case .destinationServiceName, .destinationServiceNamespace:
            guard let parts = DestinationService.nameAndNamespace(host) else {
                if case .destinationServiceName = schema.dimensions[dim] {
                    return lookup(dim, bytes: host, escaped: record.isEscaped(field))
                }
                return lookup(dim, "unknown")
            }
            let part = schema.dimensions[dim] == .destinationServiceName ? parts.name : parts.namespace
            return lookup(dim, bytes: UnsafeBufferPointer(rebasing: host[part]), escaped: record.isEscaped(field))
        default:
            return lookup(dim, bytes: host, escaped: record.isEscaped(field))
        }
    }
}
