import Testing

@testable import Aggregation

@Suite struct DestinationServiceTests {
    func service(_ cluster: String?, sni: String? = nil, authority: String? = nil) -> String? {
        func withOptional<R>(_ s: String?, _ body: (UnsafeBufferPointer<UInt8>?) -> R) -> R {
            guard let s else { return body(nil) }
            return Array(s.utf8).withUnsafeBufferPointer { body($0) }
        }
        return withOptional(cluster) { c in
            withOptional(sni) { s in
                withOptional(authority) { a in
                    let parsed = DestinationService.parse(cluster: c, serverName: s, authority: a)
                    guard let range = parsed.service else { return nil }
                    let source: UnsafeBufferPointer<UInt8>? =
                        switch parsed.source {
                        case .cluster: c
                        case .serverName: s
                        case .authority: a
                        }
                    return String(decoding: source![range], as: UTF8.self)
                }
            }
        }
    }

    @Test func istioClusterNames() {
        #expect(
            service("outbound|8000||board-service.wealist.svc.cluster.local")
                == "board-service.wealist.svc.cluster.local")
        #expect(service("outbound|9080|v1|details.default.svc.cluster.local") == "details.default.svc.cluster.local")
        #expect(service("outbound|443||httpbin.org") == "httpbin.org")
        #expect(service("inbound-vip|8082|http|svc.ns.svc.cluster.local") == "svc.ns.svc.cluster.local")
        #expect(service("inbound|9080|http|details.default.svc.cluster.local") == "details.default.svc.cluster.local")
    }

    @Test func trailingSemicolonIsStripped() {
        #expect(service("outbound|8000||svc.ns.svc.cluster.local;") == "svc.ns.svc.cluster.local")
    }

    @Test func inboundWithoutHostUsesTheSNIThenTheAuthority() {
        #expect(
            service("inbound|8080||", sni: "outbound_.8080_._.reviews.default.svc.cluster.local")
                == "reviews.default.svc.cluster.local")
        #expect(
            service("inbound|8080||", sni: "outbound_.8080_.v2_.reviews.default.svc.cluster.local")
                == "reviews.default.svc.cluster.local")
        #expect(service("inbound|8080||", authority: "mock-server:9090") == "mock-server")
        #expect(service("inbound|8080||") == nil)
    }

    @Test func otherClustersAreTheirOwnDestination() {
        #expect(service("PassthroughCluster") == "PassthroughCluster")
        #expect(service("BlackHoleCluster") == "BlackHoleCluster")
        #expect(service("httproute/default/backend/rule/0") == "httproute/default/backend/rule/0")
        #expect(service(nil) == nil)
        #expect(service("a|b|c|d|e") == "a|b|c|d|e")
    }

    @Test func nameAndNamespace() {
        func split(_ host: String) -> [String]? {
            Array(host.utf8).withUnsafeBufferPointer { buffer in
                DestinationService.nameAndNamespace(buffer).map {
                    [
                        String(decoding: buffer[$0.name], as: UTF8.self),
                        String(decoding: buffer[$0.namespace], as: UTF8.self),
                    ]
                }
            }
        }
        #expect(split("reviews.default.svc.cluster.local") == ["reviews", "default"])
        #expect(split("reviews.default.svc.corp.example") == ["reviews", "default"])
        #expect(split("httpbin.org") == nil)
        #expect(split("a.b.c") == nil)
    }
}
