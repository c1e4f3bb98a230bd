/// What the list and watch loops have done, for self-metrics and logs.
public struct KubernetesStatistics: Sendable, Equatable {
    /// One resource's loop (pods or services).
    public struct Resource: Sendable, Equatable {
        /// Complete lists: the first one and every relist.
        public var lists = 0
        /// Relists because the server no longer had the watched version (`410 Gone`).
        public var expiries = 0
        /// Watch requests made.
        public var watches = 0
        /// ADDED, MODIFIED and DELETED events applied.
        public var events = 0
        public var bookmarks = 0
        /// Requests that failed: connection, TLS, timeouts, HTTP errors, broken streams.
        public var failures = 0
        public var lastError: String?
        /// Where the next watch starts.
        public var resourceVersion: String?
        /// Whether a first list has completed.
        public var isSynced = false

        public init() {}
    }

    public var pods = Resource()
    /// Nil when services are not watched (no service labels configured).
    public var services: Resource?
    public var podCount = 0
    /// IPs with an owning pod.
    public var podIPCount = 0
    public var serviceCount = 0
    public var generation: UInt64 = 0

    public init() {}
}
