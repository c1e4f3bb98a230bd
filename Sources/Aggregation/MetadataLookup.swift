/// Facts about pods and services that come from outside the log, such as the Kubernetes API:
/// the pod behind a record's upstream host, the labels of its destination service, and the pod
/// whose log a line was read from.
///
/// Shards ask only when they meet a value they have not resolved since ``generation`` last
/// moved, so an implementation may take a lock; it must never wait for the network. An address
/// or name it does not know answers nil, and the label says `unknown`.
public protocol MetadataLookup: Sendable {
    /// Moves whenever an answer could change. Shards check it once per chunk of input and drop
    /// what they cached when it has moved: a label change applies to the next observations, and
    /// series already counted keep the values they had.
    var generation: UInt64 { get }

    /// The pod that has the address in an Envoy `upstream_host` value (`10.1.2.3:8080`).
    func pod(upstreamHost: String) -> MetadataPod?

    func pod(namespace: String, name: String) -> MetadataPod?

    /// The kept labels of a service, nil when the service is unknown.
    func serviceLabels(namespace: String, name: String) -> [String: String]?
}

/// What a ``MetadataLookup`` knows of a pod.
public struct MetadataPod: Sendable, Equatable {
    public var namespace: String
    /// The controlling workload (a Deployment's name for its pods).
    public var workload: String
    /// The kept labels the pod has.
    public var labels: [String: String]

    public init(namespace: String, workload: String, labels: [String: String]) {
        self.namespace = namespace
        self.workload = workload
        self.labels = labels
    }

    /// The value `attribute` names, or nil when the pod has no such label.
    public func value(_ attribute: PodAttribute) -> String? {
        switch attribute {
        case .label(let key): labels[key]
        case .workload: workload
        case .namespace: namespace
        }
    }
}

/// What of a pod a label carries.
public enum PodAttribute: Hashable, Sendable, CustomStringConvertible {
    /// One of its Kubernetes labels, by key (`account`, `app.kubernetes.io/name`).
    case label(String)
    case workload
    case namespace

    public var description: String {
        switch self {
        case .label(let key): "label(\(key))"
        case .workload: "workload"
        case .namespace: "namespace"
        }
    }
}
