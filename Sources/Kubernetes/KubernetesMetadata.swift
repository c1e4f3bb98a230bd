import Foundation
import HTTPClient
import Synchronization

/// Pod and service metadata from the Kubernetes API, kept current by list and watch, for
/// joining access-log records with the labels of the pods and services they name.
///
/// ```swift
/// let metadata = try KubernetesMetadata(configuration: .init(
///     api: .url("http://127.0.0.1:8001"), podLabels: ["account", "application"], serviceLabels: ["team"]))
/// metadata.start()
/// _ = metadata.waitForInitialList(timeout: .seconds(10))   // so that the first lines are enriched too
/// metadata.pod(ip: "10.1.2.3")?.labels["account"]
/// ```
///
/// Lookups never wait for the network: an address or name the index does not know answers nil
/// at once (callers then use `unknown`), and a later lookup sees it as soon as its event has
/// arrived. Only the configured label keys are kept.
///
/// Thread safety: every method may be called from any thread, concurrently. Lookups take a
/// short lock shared with the watch threads' updates; ``generation`` is a lock-free read, so a
/// caller can cache answers (per IP, per service) and drop its cache when the generation moves.
public final class KubernetesMetadata: Sendable {
    public let configuration: KubernetesConfiguration
    private let index: MetadataIndex
    private let podWatcher: ResourceWatcher<PodObject>
    private let serviceWatcher: ResourceWatcher<ServiceObject>?
    private let initialList: InitialListLatch

    /// Resolves the API server (``KubernetesConfiguration/endpoint(environment:)``); nothing is
    /// requested until ``start()``.
    ///
    /// - Parameters:
    ///   - environment: Where `KUBERNETES_SERVICE_HOST` and `_PORT` are read, for an in-cluster
    ///     API.
    ///   - log: Receives one line per change of state: a failure (repeats are not logged again),
    ///     a recovery, a relist after `410 Gone`. Called on the watch threads.
    public init(
        configuration: KubernetesConfiguration,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        log: @escaping @Sendable (String) -> Void = { _ in }
    ) throws(KubernetesError) {
        self.configuration = configuration
        let connection = APIConnection(
            endpoint: try configuration.endpoint(environment: environment), timing: configuration.timing)
        let index = MetadataIndex(
            podLabelKeys: configuration.podLabels, serviceLabelKeys: configuration.serviceLabels)
        let watchesServices = !configuration.serviceLabels.isEmpty
        let initialList = InitialListLatch(count: watchesServices ? 2 : 1)
        self.index = index
        self.initialList = initialList
        podWatcher = ResourceWatcher(
            connection: connection, namespace: configuration.namespace, selector: configuration.podSelector,
            handlers: .init(
                replace: { index.replacePods($0) }, upsert: { index.upsert($0) }, remove: { index.remove($0) },
                listed: { initialList.arrive(PodObject.resource) }, log: log))
        serviceWatcher =
            watchesServices
            ? ResourceWatcher(
                connection: connection, namespace: configuration.namespace,
                selector: configuration.serviceSelector,
                handlers: .init(
                    replace: { index.replaceServices($0) }, upsert: { index.upsert($0) },
                    remove: { index.remove($0) }, listed: { initialList.arrive(ServiceObject.resource) },
                    log: log))
            : nil
    }

    deinit {
        stop()
    }

    /// Starts listing and watching, each resource on its own thread. Calling it again does
    /// nothing.
    public func start() {
        podWatcher.start()
        serviceWatcher?.start()
    }

    /// Stops the watches (requests in progress end at once) and waits for their threads. The
    /// index keeps answering with what it last knew.
    public func stop() {
        podWatcher.cancel()
        serviceWatcher?.cancel()
        podWatcher.join()
        serviceWatcher?.join()
    }

    /// Blocks until every watched resource has been listed once, or `timeout` passes; true when
    /// listed. Use it at start so that the first lines are joined too, and then go on either
    /// way: without an answer, lookups say nil and records get `unknown`.
    public func waitForInitialList(timeout: Duration) -> Bool {
        initialList.wait(timeout: timeout)
    }

    /// ``waitForInitialList(timeout:)`` without blocking a thread of the concurrency pool.
    public func waitForInitialList(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while !initialList.isComplete {
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return true
    }

    /// Whether every watched resource has been listed at least once.
    public var isSynced: Bool { initialList.isComplete }

    /// Moves whenever a lookup could answer differently (see the type's thread-safety note).
    public var generation: UInt64 { index.generation }

    // MARK: Lookups

    /// The pod that has `ip` now (the newest one when an IP was just reused), or nil.
    public func pod(ip: String) -> PodMetadata? {
        index.pod(ip: ip)
    }

    /// The configured labels of the pod that has `ip`, or nil when no pod has it.
    public func podLabels(ip: String) -> [String: String]? {
        index.pod(ip: ip)?.labels
    }

    /// The pod that an access log's `upstream_host` names (`10.1.2.3:8080`, `[fd00::5]:8080`,
    /// `envoy://connect_originate/10.1.2.3:8080`), or nil.
    public func pod(upstreamHost: some StringProtocol) -> PodMetadata? {
        UpstreamHost.ip(of: upstreamHost).flatMap { index.pod(ip: String($0)) }
    }

    public func pod(namespace: String, name: String) -> PodMetadata? {
        index.pod(namespace: namespace, name: name)
    }

    /// The configured labels of a pod by name (the pod a log file belongs to), or nil.
    public func podLabels(namespace: String, name: String) -> [String: String]? {
        index.pod(namespace: namespace, name: name)?.labels
    }

    /// The configured labels of a service, or nil when it is unknown or services are not
    /// watched.
    public func serviceLabels(namespace: String, name: String) -> [String: String]? {
        index.serviceLabels(namespace: namespace, name: name)
    }

    public var statistics: KubernetesStatistics {
        var statistics = KubernetesStatistics()
        statistics.pods = podWatcher.statistics
        statistics.services = serviceWatcher?.statistics
        (statistics.podCount, statistics.podIPCount, statistics.serviceCount) = index.counts
        statistics.generation = index.generation
        return statistics
    }
}

/// Counts the resources whose first list has completed; releases waiters when all have.
final class InitialListLatch: Sendable {
    private let expected: Int
    private let arrived = Mutex<Set<String>>([])
    private let condition = NSCondition()

    init(count: Int) {
        expected = count
    }

    var isComplete: Bool { arrived.withLock { $0.count >= expected } }

    func arrive(_ resource: String) {
        arrived.withLock { _ = $0.insert(resource) }
        condition.lock()
        condition.broadcast()
        condition.unlock()
    }

    func wait(timeout: Duration) -> Bool {
        // The deadline on the monotonic clock: the condition waits until a wall-clock date, and
        // a wall clock stepped forward (NTP on a VM) ended the wait early.
        let deadline = ContinuousClock.now.advanced(by: timeout)
        condition.lock()
        defer { condition.unlock() }
        while !isComplete {
            let left = ContinuousClock.now.duration(to: deadline)
            guard left > .zero else { return false }
            let seconds = Double(left.components.seconds) + Double(left.components.attoseconds) / 1e18
            _ = condition.wait(until: Date().addingTimeInterval(seconds))
        }
        return true
    }
}
