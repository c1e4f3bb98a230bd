/// What the index keeps of a pod.
public struct PodMetadata: Sendable, Equatable, Hashable {
    public var namespace: String
    public var name: String
    /// The controlling workload: a Deployment's name for its ReplicaSets' pods (the ReplicaSet
    /// name without its `pod-template-hash`), a CronJob's for its Jobs' pods, else the owner's
    /// name (StatefulSet, DaemonSet, Job, ...), or the pod's own name for a bare pod.
    public var workload: String
    /// Only the configured label keys that the pod has.
    public var labels: [String: String]

    public init(namespace: String, name: String, workload: String, labels: [String: String]) {
        self.namespace = namespace
        self.name = name
        self.workload = workload
        self.labels = labels
    }
}

/// A pod as the index stores it: its metadata and what decides which pod owns an IP.
struct PodRecord: Equatable, Sendable {
    var metadata: PodMetadata
    /// The IPs the pod may claim: none for host-network pods (they share the node's address)
    /// and for finished pods (their addresses are free for reuse).
    var ips: [String]
    var creationTimestamp: String
    var isTerminating: Bool

    init(_ pod: PodObject, keeping keys: Set<String>) {
        let meta = pod.metadata
        let labels = meta.labels ?? [:]
        metadata = PodMetadata(
            namespace: meta.namespace ?? "", name: meta.name ?? "",
            workload: Self.workload(of: pod, labels: labels),
            labels: labels.filter { keys.contains($0.key) })
        creationTimestamp = meta.creationTimestamp ?? ""
        isTerminating = meta.deletionTimestamp != nil
        let phase = pod.status?.phase
        if pod.spec?.hostNetwork == true || phase == "Succeeded" || phase == "Failed" {
            ips = []
        } else {
            var ips = pod.status?.podIPs?.map(\.ip) ?? []
            if let primary = pod.status?.podIP, !primary.isEmpty, !ips.contains(primary) { ips.insert(primary, at: 0) }
            self.ips = ips.filter { !$0.isEmpty }
        }
    }

    var key: ObjectKey { ObjectKey(namespace: metadata.namespace, name: metadata.name) }

    /// Which of two pods claiming one IP owns it: a pod that is not being deleted over one that
    /// is, then the newer one (the IP was given to it after the other had it), then by name so
    /// that the answer does not depend on event order.
    func ownsIP(over other: PodRecord) -> Bool {
        if isTerminating != other.isTerminating { return !isTerminating }
        if creationTimestamp != other.creationTimestamp { return creationTimestamp > other.creationTimestamp }
        return (metadata.namespace, metadata.name) > (other.metadata.namespace, other.metadata.name)
    }

    static func workload(of pod: PodObject, labels: [String: String]) -> String {
        let name = pod.metadata.name ?? ""
        let owners = pod.metadata.ownerReferences ?? []
        guard let owner = owners.first(where: { $0.controller == true }) ?? owners.first else { return name }
        switch owner.kind {
        case "ReplicaSet":
            if let hash = labels["pod-template-hash"], owner.name.hasSuffix("-" + hash) {
                return String(owner.name.dropLast(hash.count + 1))
            }
            return owner.name
        case "Job":
            // A CronJob names its Jobs `<cronjob>-<scheduled time in minutes>`.
            if let dash = owner.name.lastIndex(of: "-") {
                let suffix = owner.name[owner.name.index(after: dash)...]
                if suffix.count >= 8, suffix.allSatisfy(\.isASCII), suffix.allSatisfy(\.isNumber) {
                    return String(owner.name[..<dash])
                }
            }
            return owner.name
        default:
            return owner.name
        }
    }
}

/// `namespace/name` of an object.
struct ObjectKey: Hashable, Sendable {
    var namespace: String
    var name: String
}
