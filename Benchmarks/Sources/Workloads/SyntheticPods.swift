import Aggregation

/// A metadata lookup that knows a pod for every address the corpus's upstream hosts use
/// (10.244.0.0/16), as an API index with a few thousand pods would: the pipeline with labels
/// from Kubernetes, without a cluster.
public struct SyntheticPods: MetadataLookup {
    public init() {}

    public var generation: UInt64 { 1 }

    public func pod(upstreamHost: String) -> MetadataPod? {
        let address = upstreamHost.split(separator: ":").first ?? ""
        let octets = address.split(separator: ".").compactMap { Int($0) }
        guard octets.count == 4, octets[0] == 10, octets[1] == 244 else { return nil }
        return MetadataPod(
            namespace: "ns-\(octets[2] % 4)", workload: "workload-\(octets[2])",
            labels: ["account": "account-\(octets[3] % 8)"])
    }

    public func pod(namespace: String, name: String) -> MetadataPod? {
        MetadataPod(namespace: namespace, workload: "gateway", labels: ["account": "platform"])
    }

    public func serviceLabels(namespace: String, name: String) -> [String: String]? {
        ["team": "team-\(name.utf8.count % 5)"]
    }

    /// The default families with the labels a `kubernetes:` section of `pod_labels: [account]`
    /// and `service_labels: [team]` adds, where it adds them.
    public static func families() -> [FamilyDefinition] {
        MetricsSchema.defaultFamilies().map { family in
            var family = family
            if family.observation == .requests || family.observation == .duration || family.observation.isTCP {
                family.labels += [
                    .init("destination_account", .destinationPod(.label("account"))),
                    .init("destination_service_team", .destinationServiceLabel("team")),
                    .init("source_account", .sourcePod(.label("account"))),
                ]
            }
            return family
        }
    }
}
