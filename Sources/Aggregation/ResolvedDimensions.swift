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
        switch plan.kinds[dim] {
        case .errorType:
            let code = record.int(.responseCode) ?? 0
            if code == 200 && grpcDecidesErrorType, let status = record.rawBytes(.grpcStatus) {
                return GRPCStatus.errorType(status) ?? 1
            }
            return code >= 500 ? 3 : (code >= 400 ? 2 : 1)
        case .slowRequest:
            return (record.int(.duration) ?? 0) > threshold(record) ? 2 : 1
        case .requestProtocol:
            if Self.isTCP(record) { return 3 }
            return record.has(.grpcStatus) ? 2 : 1
        case .reporter:
            return Self.reporter(record.rawBytes(.upstreamCluster))
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
            return route(dim, record)
        case .method:
            return lookup(dim, record, .method)
        case .responseFlags:
            guard record.has(.responseFlags) else { return lookup(dim, "-") }
            return lookup(dim, record, .responseFlags)
        case .grpcStatus:
            guard record.has(.grpcStatus) else { return lookup(dim, "") }
            return lookup(dim, record, .grpcStatus)
        case .destinationService, .destinationServiceName, .destinationServiceNamespace:
            return destination(dim, record)
        case .field:
            return lookup(dim, record, plan.fields[dim])
        case .pathSegment:
            let index = plan.segments[dim]
            return record.withValue(.path) { path in
                guard let path, let segment = Self.segment(index, of: path) else { return lookup(dim, "unknown") }
                return lookup(dim, bytes: segment)
            }
        case .fieldPattern:
            return record.withValue(plan.fields[dim]) { value in
                guard let value else { return lookup(dim, "unknown") }
                return lookupDerived(dim, key: value) { $0.capture(value) }
            }
        case .destinationPod:
            return destinationPod(dim, record)
        case .destinationServiceLabel:
            return destinationServiceLabel(dim, record)
        case .flag:
            return 0
        }
    }

    /// A value of the pod behind the record's `upstream_host`, cached by the host's bytes until
    /// the lookup's generation moves.
    private mutating func destinationPod(_ dim: Int, _ record: AccessRecord) -> UInt32 {
        guard let host = record.rawBytes(.upstreamHost), let cache = enrichmentCaches[dim] else {
            return lookup(dim, "unknown")
        }
        let hash = hashBytes(host.baseAddress, host.count, seed: hashSeed)
        if let id = cache.find(host, hash: hash) { return id }
        var value = Registry.unknownValue
        if let enrichment = registry.enrichment, case .destinationPod(let attribute) = schema.dimensions[dim],
            let pod = enrichment.pod(upstreamHost: String(decoding: host, as: UTF8.self))
        {
            value = pod.value(attribute) ?? Registry.unknownValue
        }
        let id = registry.intern(dimension: dim, value: value)
        // Keyed by address, not bounded by the label's value cap: as many as the cluster has pod
        // endpoints, up to a bound past which it starts over.
        if cache.count >= Self.maximumAddressesCached { cache.removeAll() }
        cache.insert(host, hash: hash, value: id)
        return id
    }

    static var maximumAddressesCached: Int { 1 << 16 }

    /// A label of the record's destination service, cached by the cluster's bytes when the
    /// cluster names the service.
    private mutating func destinationServiceLabel(_ dim: Int, _ record: AccessRecord) -> UInt32 {
        let cluster = record.rawBytes(.upstreamCluster)
        var hash: UInt64 = 0
        if let cluster, let cache = enrichmentCaches[dim] {
            hash = hashBytes(cluster.baseAddress, cluster.count, seed: hashSeed)
            if let id = cache.find(cluster, hash: hash) { return id }
        }
        let serverName = record.rawBytes(.requestedServerName)
        let authority = record.rawBytes(.authority)
        let parsed = DestinationService.parse(cluster: cluster, serverName: serverName, authority: authority)
        var value = Registry.unknownValue
        let source: UnsafeBufferPointer<UInt8>? =
            switch parsed.source {
            case .cluster: cluster
            case .serverName: serverName
            case .authority: authority
            }
        if let range = parsed.service, let source, let enrichment = registry.enrichment,
            case .destinationServiceLabel(let key) = schema.dimensions[dim]
        {
            let host = UnsafeBufferPointer(rebasing: source[range])
            if let parts = DestinationService.nameAndNamespace(host),
                let labels = enrichment.serviceLabels(
                    namespace: String(decoding: UnsafeBufferPointer(rebasing: host[parts.namespace]), as: UTF8.self),
                    name: String(decoding: UnsafeBufferPointer(rebasing: host[parts.name]), as: UTF8.self)),
                let label = labels[key]
            {
                value = label
            }
        }
        let id = registry.intern(dimension: dim, value: value)
        // Only a service named by the cluster depends on the cluster's bytes alone.
        if let cluster, parsed.source == .cluster, parsed.service != nil, let cache = enrichmentCaches[dim] {
            return remember(dim, cache, cluster, hash, id)
        }
        return id
    }

    /// The first rule the record matches. The matcher is borrowed, not retained, and the path
    /// read in place unless it has escapes: this runs for every line when rules are configured.
    @inline(__always)
    private static func rule(_ matcher: Unmanaged<RouteMatcher>, _ record: AccessRecord) -> Int? {
        func match(_ path: UnsafeBufferPointer<UInt8>?) -> Int? {
            var withoutQuery = path
            if let path, let query = firstIndex(of: UInt8(ascii: "?"), in: path) {
                withoutQuery = UnsafeBufferPointer(rebasing: path[..<query])
            }
            return matcher._withUnsafeGuaranteedRef {
                $0.match(
                    method: record.rawBytes(.method), path: withoutQuery, authority: record.rawBytes(.authority),
                    routeName: record.rawBytes(.routeName))
            }
        }
        if record.escaped.contains(.path) { return record.withValue(.path, match) }
        return match(record.rawBytes(.path))
    }

    /// The route: the first matching rule, else Envoy's `route_name` (unless ignored), else the
    /// path's template (or the path without its query when templates are off).
    private mutating func route(_ dim: Int, _ record: AccessRecord) -> UInt32 {
        if let matcher = routeMatcherReference {
            if let rule = Self.rule(matcher, record) {
                if ruleRouteIDs[rule] == .max {
                    ruleRouteIDs[rule] = registry.intern(dimension: dim, value: schema.classification.rules[rule].name)
                }
                return ruleRouteIDs[rule]
            }
        }
        if useRouteName, let name = record.rawBytes(.routeName), !isIgnoredRouteName(name) {
            return lookup(dim, record, .routeName)
        }
        return record.withValue(.path) { path in
            guard let path else { return lookup(dim, "unknown") }
            if let template = pathTemplate {
                scratch.removeAll(keepingCapacity: true)
                template.write(path, into: &scratch)
                let bytes = scratch
                return bytes.withUnsafeBufferPointer { lookup(dim, bytes: $0) }
            }
            var end = path.count
            if let query = path.firstIndex(of: UInt8(ascii: "?")) { end = query }
            return lookup(dim, bytes: UnsafeBufferPointer(rebasing: path[..<end]))
        }
    }

    func isIgnoredRouteName(_ name: UnsafeBufferPointer<UInt8>) -> Bool {
        ignoredRouteNames.contains { $0.elementsEqual(name) }
    }

    /// The slow-request threshold of the record's route.
    mutating func threshold(_ record: AccessRecord) -> Int64 {
        guard hasRouteThresholds, let routeDimension else { return slowThreshold }
        var resolved = ResolvedDimensions()
        let id = Int(resolve(routeDimension, record, &resolved))
        if id >= routeThresholds.count {
            routeThresholds += Array(repeating: -1, count: id + 16 - routeThresholds.count)
        }
        if routeThresholds[id] < 0 {
            let name = registry.value(dimension: routeDimension, id: UInt32(id))
            routeThresholds[id] = schema.classification.slowThresholdsByRoute[name] ?? slowThreshold
        }
        return routeThresholds[id]
    }

    /// `source`, `destination` or `waypoint` (identifiers 1, 2, 3) from the cluster's direction.
    static func reporter(_ cluster: UnsafeBufferPointer<UInt8>?) -> UInt32 {
        guard let cluster else { return 1 }
        if cluster.starts(with: "inbound-vip|".utf8) { return 3 }
        if cluster.starts(with: "inbound|".utf8) || cluster.starts(with: "InboundPassthroughCluster".utf8) { return 2 }
        return 1
    }

    /// Segment `index` (from 1) of a path, before its query.
    static func segment(_ index: Int, of path: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8>? {
        var end = path.count
        if let query = path.firstIndex(where: { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }) { end = query }
        var seen = 0
        var i = 0
        while i < end {
            if path[i] == UInt8(ascii: "/") {
                i += 1
                continue
            }
            var j = i
            while j < end && path[j] != UInt8(ascii: "/") { j += 1 }
            seen += 1
            if seen == index { return UnsafeBufferPointer(rebasing: path[i..<j]) }
            i = j
        }
        return nil
    }

    private mutating func lookup(_ dim: Int, _ value: StaticString) -> UInt32 {
        value.withUTF8Buffer { lookup(dim, bytes: $0) }
    }

    /// The field's value, JSON escapes decoded, or `unknown` when absent.
    private mutating func lookup(_ dim: Int, _ record: AccessRecord, _ field: AccessLogField) -> UInt32 {
        record.withValue(field) { bytes in
            guard let bytes else { return lookup(dim, "unknown") }
            return lookup(dim, bytes: bytes)
        }
    }

    @inline(__always)
    private mutating func lookup(_ dim: Int, bytes: UnsafeBufferPointer<UInt8>) -> UInt32 {
        guard let cache = valueCaches[dim] else { return 0 }
        let hash = hashBytes(bytes.baseAddress, bytes.count, seed: hashSeed)
        if let id = cache.find(bytes, hash: hash) { return id }
        return remember(dim, cache, bytes, hash, registry.intern(dimension: dim, raw: bytes))
    }

    /// Like `lookup`, but the value is derived from the key by `derive` when the key is new.
    private mutating func lookupDerived(
        _ dim: Int, key: UnsafeBufferPointer<UInt8>, derive: (LocalPattern) -> String
    ) -> UInt32 {
        guard let cache = valueCaches[dim], let pattern = patterns[dim] else { return 0 }
        let hash = hashBytes(key.baseAddress, key.count, seed: hashSeed)
        if let id = cache.find(key, hash: hash) { return id }
        return remember(dim, cache, key, hash, registry.intern(dimension: dim, value: derive(pattern)))
    }

    private func remember(
        _ dim: Int, _ cache: ByteTable, _ key: UnsafeBufferPointer<UInt8>, _ hash: UInt64, _ id: UInt32
    )
        -> UInt32
    {
        // Bounded by the dimension's cap, with room for raw spellings that canonicalise to the
        // same value and for values refused into overflow; past that, start over.
        if cache.count > 4 * schema.dimensionCaps[dim] + 1024 { cache.removeAll() }
        cache.insert(key, hash: hash, value: id)
        return id
    }

    private mutating func destination(_ dim: Int, _ record: AccessRecord) -> UInt32 {
        let cluster = record.rawBytes(.upstreamCluster)
        // Most clusters name their host: the value depends on the cluster bytes alone and is
        // cached by them, so the name is parsed once per distinct cluster, not once per line.
        if let cluster, let cache = clusterCaches[dim] {
            let hash = hashBytes(cluster.baseAddress, cluster.count, seed: hashSeed)
            if let id = cache.find(cluster, hash: hash) { return id }
            let parsed = DestinationService.parse(cluster: cluster, serverName: nil, authority: nil)
            if parsed.service != nil {
                let id = destination(dim, parsed, cluster: cluster, serverName: nil, authority: nil)
                return remember(dim, cache, cluster, hash, id)
            }
        }
        let serverName = record.rawBytes(.requestedServerName)
        let authority = record.rawBytes(.authority)
        let parsed = DestinationService.parse(cluster: cluster, serverName: serverName, authority: authority)
        return destination(dim, parsed, cluster: cluster, serverName: serverName, authority: authority)
    }

    private mutating func destination(
        _ dim: Int, _ parsed: DestinationService, cluster: UnsafeBufferPointer<UInt8>?,
        serverName: UnsafeBufferPointer<UInt8>?, authority: UnsafeBufferPointer<UInt8>?
    ) -> UInt32 {
        guard let range = parsed.service else { return lookup(dim, "unknown") }
        let source: UnsafeBufferPointer<UInt8>? =
            switch parsed.source {
            case .cluster: cluster
            case .serverName: serverName
            case .authority: authority
            }
        guard let source else { return lookup(dim, "unknown") }
        let host = UnsafeBufferPointer(rebasing: source[range])
        switch plan.kinds[dim] {
        case .destinationServiceName, .destinationServiceNamespace:
            guard let parts = DestinationService.nameAndNamespace(host) else {
                if plan.kinds[dim] == .destinationServiceName { return lookup(dim, bytes: host) }
                return lookup(dim, "unknown")
            }
            let part = plan.kinds[dim] == .destinationServiceName ? parts.name : parts.namespace
            return lookup(dim, bytes: UnsafeBufferPointer(rebasing: host[part]))
        default:
            return lookup(dim, bytes: host)
        }
    }
}
