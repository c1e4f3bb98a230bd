/// Envoy's response flags: short codes, long names, and the canonical set form used as a label.
///
/// Envoy joins flags with `,`. Up to 1.29 it printed them in its table order (`UF,URX`); later
/// versions print them in the order they were set (`URX,UF`). Both mean the same set, so the
/// label is the set written in table order. Long names (`%RESPONSE_FLAGS_LONG%`) are mapped to
/// the short codes; codes this table does not know (newer Envoy, extensions) are kept, after the
/// known ones, in alphabetical order.
public enum ResponseFlags {
    /// Short codes in Envoy's table (and enum) order.
    public static let codes: [String] = [
        "LH", "UH", "UT", "LR", "UR", "UF", "UC", "UO", "NR", "DI", "FI", "RL", "UAEX", "RLSE", "DC", "URX", "SI",
        "IH", "DPE", "UMSDR", "RFCF", "NFCF", "DT", "UPE", "NC", "OM", "DF", "DO", "DR", "UDO",
    ]

    /// Long names, index for index with ``codes``.
    public static let longNames: [String] = [
        "FailedLocalHealthCheck", "NoHealthyUpstream", "UpstreamRequestTimeout", "LocalReset",
        "UpstreamRemoteReset", "UpstreamConnectionFailure", "UpstreamConnectionTermination", "UpstreamOverflow",
        "NoRouteFound", "DelayInjected", "FaultInjected", "RateLimited", "UnauthorizedExternalService",
        "RateLimitServiceError", "DownstreamConnectionTermination", "UpstreamRetryLimitExceeded",
        "StreamIdleTimeout", "InvalidEnvoyRequestHeaders", "DownstreamProtocolError",
        "UpstreamMaxStreamDurationReached", "ResponseFromCacheFilter", "NoFilterConfigFound", "DurationTimeout",
        "UpstreamProtocolError", "NoClusterFound", "OverloadManagerTerminated", "DnsResolutionFailed",
        "DropOverload", "DownstreamRemoteReset", "UnconditionalDropOverload",
    ]

    /// The value for "no flags".
    public static let none = "-"

    static let indexByName: [String: Int] = {
        var map: [String: Int] = [:]
        for (k, code) in codes.enumerated() { map[code] = k }
        for (k, name) in longNames.enumerated() { map[name] = k }
        return map
    }()

    /// The individual flags of a raw `response_flags` value, canonical order, duplicates removed.
    public static func split(_ raw: String) -> [String] {
        var known = Set<Int>()
        var unknown = Set<String>()
        for piece in raw.split(separator: ",") {
            let token = piece.trimmingCharacters(in: " \t")
            guard !token.isEmpty, token != none else { continue }
            if let index = indexByName[token] {
                known.insert(index)
            } else {
                unknown.insert(token)
            }
        }
        return known.sorted().map { codes[$0] } + unknown.sorted()
    }

    /// The canonical label value of a raw `response_flags` value: `-` when there are none.
    public static func canonical(_ raw: String) -> String {
        let flags = split(raw)
        return flags.isEmpty ? none : flags.joined(separator: ",")
    }
}

extension Substring {
    func trimmingCharacters(in set: String) -> String {
        var s = self
        while let first = s.first, set.contains(first) { s.removeFirst() }
        while let last = s.last, set.contains(last) { s.removeLast() }
        return String(s)
    }
}
