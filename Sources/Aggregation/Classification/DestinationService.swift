/// The destination service of a request, from Envoy's `upstream_cluster` as Istio names clusters.
///
/// Istio cluster names are `<direction>|<port>|<subset>|<host>`: `outbound|8080||users.shop.svc.cluster.local`,
/// `inbound-vip|8082|http|svc.ns.svc.cluster.local` (ambient waypoints), `outbound|443||httpbin.org`
/// (a ServiceEntry host). Server-side sidecars log `inbound|8080||` with no host; their service is
/// in the SNI Istio sets for mTLS (`outbound_.8080_._.users.shop.svc.cluster.local`) or, failing
/// that, the authority. Istio 1.23.0-1.24.1 appended `;` to the name, which is dropped. Any other
/// cluster (`PassthroughCluster`, `BlackHoleCluster`, Envoy Gateway's `httproute/...`) is its own
/// destination.
public struct DestinationService: Equatable, Sendable {
    /// The service: an FQDN for Istio clusters, else the cluster name.
    public var service: Range<Int>?
    /// Which bytes `service` indexes: the cluster, the SNI or the authority.
    public var source: Source

    public enum Source: Equatable, Sendable {
        case cluster
        case serverName
        case authority
    }

    /// Parses `cluster`, using `serverName` and `authority` for inbound clusters without a host.
    public static func parse(
        cluster: UnsafeBufferPointer<UInt8>?, serverName: UnsafeBufferPointer<UInt8>?,
        authority: UnsafeBufferPointer<UInt8>?
    ) -> DestinationService {
        guard let cluster, !cluster.isEmpty else {
            return DestinationService(service: nil, source: .cluster)
        }
        var end = cluster.count
        if cluster[end - 1] == UInt8(ascii: ";") { end -= 1 }
        // Exactly three '|' make a subset key.
        var bars: InlineArray<3, Int> = .init(repeating: 0)
        var found = 0
        for k in 0..<end where cluster[k] == UInt8(ascii: "|") {
            if found == 3 { return DestinationService(service: 0..<end, source: .cluster) }
            bars[found] = k
            found += 1
        }
        guard found == 3 else { return DestinationService(service: end > 0 ? 0..<end : nil, source: .cluster) }
        let host = (bars[2] + 1)..<end
        if !host.isEmpty { return DestinationService(service: host, source: .cluster) }
        // Inbound without a host: the SNI names the service Istio routed to.
        if let serverName, let range = serviceInServerName(serverName) {
            return DestinationService(service: range, source: .serverName)
        }
        if let authority, !authority.isEmpty {
            var hostEnd = authority.count
            if authority[0] != UInt8(ascii: "["), let colon = authority.lastIndex(of: UInt8(ascii: ":")) {
                hostEnd = colon
            }
            if hostEnd > 0 { return DestinationService(service: 0..<hostEnd, source: .authority) }
        }
        return DestinationService(service: nil, source: .cluster)
    }

    /// The FQDN in an Istio mTLS SNI, `outbound_.<port>_.<subset>_.<fqdn>`.
    static func serviceInServerName(_ sni: UnsafeBufferPointer<UInt8>) -> Range<Int>? {
        let prefix = Array("outbound_.".utf8)
        guard sni.count > prefix.count, zip(prefix, sni).allSatisfy({ $0 == $1 }) else { return nil }
        // Skip "<port>_." and "<subset>_.".
        var separatorsSeen = 0
        var k = prefix.count
        while k + 1 < sni.count {
            if sni[k] == UInt8(ascii: "_") && sni[k + 1] == UInt8(ascii: ".") {
                separatorsSeen += 1
                k += 2
                if separatorsSeen == 2 { return k < sni.count ? k..<sni.count : nil }
                continue
            }
            k += 1
        }
        return nil
    }

    /// Name and namespace of a Kubernetes service FQDN (`<name>.<namespace>.svc.<domain>`), or nil
    /// for other hosts.
    public static func nameAndNamespace(_ host: UnsafeBufferPointer<UInt8>) -> (
        name: Range<Int>, namespace: Range<Int>
    )? {
        guard let firstDot = host.firstIndex(of: UInt8(ascii: ".")) else { return nil }
        let rest = (firstDot + 1)..<host.count
        guard let secondDot = host[rest].firstIndex(of: UInt8(ascii: ".")) else { return nil }
        let svc = Array(".svc.".utf8)
        guard secondDot + svc.count <= host.count,
            zip(svc, host[secondDot..<(secondDot + svc.count)]).allSatisfy({ $0 == $1 })
                || secondDot + 4 == host.count
                    && zip(Array(".svc".utf8), host[secondDot...]).allSatisfy({ $0 == $1 })
        else { return nil }
        guard firstDot > 0, secondDot > firstDot + 1 else { return nil }
        return (0..<firstDot, (firstDot + 1)..<secondDot)
    }
}
