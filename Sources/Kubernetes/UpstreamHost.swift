/// Reading a pod IP out of an Envoy `upstream_host` value.
public enum UpstreamHost {
    /// The address part of `value` without its port, or nil when there is none (`-`, empty).
    /// A host name is returned as written; it matches no pod.
    ///
    /// - `10.1.2.3:8080` → `10.1.2.3`
    /// - `[fd00::5]:8080` → `fd00::5` (Envoy brackets IPv6; pod status does not)
    /// - `envoy://connect_originate/10.1.2.3:8080` (an internal listener, as ambient waypoints
    ///   log it) → `10.1.2.3`
    /// - `10.1.2.3` → `10.1.2.3`
    public static func ip<S: StringProtocol>(of value: S) -> S.SubSequence? {
        var rest = value[...]
        if let slash = rest.lastIndex(of: "/") { rest = rest[rest.index(after: slash)...] }
        if rest.first == "[" {
            guard let close = rest.firstIndex(of: "]") else { return nil }
            rest = rest[rest.index(after: rest.startIndex)..<close]
        } else if let colon = rest.lastIndex(of: ":"), rest.firstIndex(of: ":") == colon {
            rest = rest[..<colon]
        }
        if rest.isEmpty || rest == "-" { return nil }
        return rest
    }
}
