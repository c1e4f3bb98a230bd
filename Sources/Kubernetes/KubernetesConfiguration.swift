/// What ``KubernetesMetadata`` watches, where, and which labels it keeps.
public struct KubernetesConfiguration: Sendable, Equatable {
    /// Where the API server is.
    public enum API: Sendable, Equatable {
        /// Inside a pod: `https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT`, verified
        /// with the service account's CA and authenticated with its token.
        case inCluster
        /// A base URL: `http://127.0.0.1:8001` for `kubectl proxy`, or an `https://` server
        /// with ``KubernetesConfiguration/tokenFile`` and ``KubernetesConfiguration/caFile``.
        case url(String)
    }

    /// Narrows what is listed and watched, in the API's own selector syntax.
    public struct Selector: Sendable, Equatable {
        /// `labelSelector`, e.g. `app.kubernetes.io/part-of=shop,tier!=batch`.
        public var labels: String?
        /// `fieldSelector`, e.g. `status.phase=Running` (pods) or `metadata.namespace!=kube-system`.
        public var fields: String?

        public init(labels: String? = nil, fields: String? = nil) {
            self.labels = labels
            self.fields = fields
        }
    }

    /// Intervals and bounds of the list and watch loop.
    public struct Timing: Sendable, Equatable {
        public var connectTimeout: Duration = .seconds(10)
        /// One list request (one page).
        public var listTimeout: Duration = .seconds(60)
        /// The server ends each watch after a random time between this and twice this, as
        /// client-go's reflectors ask, so that many watchers do not reconnect in step.
        public var watchTimeout: Duration = .seconds(300)
        /// The first wait after a failure; doubled on each failure in a row up to
        /// ``maximumBackoff``, with jitter.
        public var initialBackoff: Duration = .milliseconds(500)
        public var maximumBackoff: Duration = .seconds(30)
        /// How old the service account token may be before it is read again. The kubelet
        /// rewrites a projected token well before it expires (at 80% of its lifetime).
        public var tokenRefreshInterval: Duration = .seconds(60)
        /// Objects per list page (`limit`).
        public var pageSize = 500
        /// The largest list page accepted, in bytes.
        public var maximumResponseBytes = 64 << 20
        /// The largest watch event accepted, in bytes.
        public var maximumEventBytes = 8 << 20

        public init() {}
    }

    public var api: API = .inCluster
    /// Pod label keys to keep (`account`, `app.kubernetes.io/name`); other labels are dropped
    /// as objects arrive, so memory grows with pods, not with their labels.
    public var podLabels: [String] = []
    /// Service label keys to keep. When empty, services are not watched at all.
    public var serviceLabels: [String] = []
    /// Watch only this namespace; nil for the whole cluster.
    public var namespace: String?
    public var podSelector = Selector()
    public var serviceSelector = Selector()
    /// A bearer token file, read again every ``Timing/tokenRefreshInterval``. Defaults to the
    /// service account's in the cluster, none for a URL.
    public var tokenFile: String?
    /// A PEM CA bundle for `https`. Defaults to the service account's in the cluster, the
    /// system's store for a URL.
    public var caFile: String?
    public var timing = Timing()

    /// Where a pod's service account credentials are mounted.
    public static let serviceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

    public init(
        api: API = .inCluster, podLabels: [String] = [], serviceLabels: [String] = [], namespace: String? = nil
    ) {
        self.api = api
        self.podLabels = podLabels
        self.serviceLabels = serviceLabels
        self.namespace = namespace
    }

    /// The base URL and credentials to use, from the process environment for ``API/inCluster``.
    public func endpoint(environment: [String: String]) throws(KubernetesError) -> Endpoint {
        switch api {
        case .inCluster:
            guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty else {
                throw KubernetesError.notInCluster
            }
            let port = environment["KUBERNETES_SERVICE_PORT"].flatMap { $0.isEmpty ? nil : $0 } ?? "443"
            // An IPv6 service host is written bare in the environment.
            let authority = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            return Endpoint(
                baseURL: "https://\(authority)",
                tokenFile: tokenFile ?? Self.serviceAccountDirectory + "/token",
                caFile: caFile ?? Self.serviceAccountDirectory + "/ca.crt")
        case .url(let url):
            guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
                throw KubernetesError.invalidURL(url)
            }
            var base = url
            while base.hasSuffix("/") { base.removeLast() }
            return Endpoint(baseURL: base, tokenFile: tokenFile, caFile: caFile)
        }
    }

    /// A resolved API server address and the credentials for it.
    public struct Endpoint: Sendable, Equatable {
        public var baseURL: String
        public var tokenFile: String?
        public var caFile: String?
    }
}

/// Why enrichment could not start.
public enum KubernetesError: Error, Equatable, CustomStringConvertible {
    case notInCluster
    case invalidURL(String)

    public var description: String {
        switch self {
        case .notInCluster:
            "kubernetes.api is auto (in-cluster), but KUBERNETES_SERVICE_HOST is not set: outside a pod, give the "
                + "API's URL, such as http://127.0.0.1:8001 with kubectl proxy"
        case .invalidURL(let url): "\"\(url)\" is not an http:// or https:// URL"
        }
    }
}
