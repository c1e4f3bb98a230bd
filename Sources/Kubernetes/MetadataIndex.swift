import Synchronization

/// Pods by IP and by name, services by name, with only the configured labels.
///
/// Thread safety: every method may be called from any thread. Updates (from the watch threads)
/// and lookups take one lock for the few dictionary operations they need; nothing waits on the
/// network while holding it. ``generation`` is read without the lock.
final class MetadataIndex: Sendable {
    private struct State {
        var pods: [ObjectKey: PodRecord] = [:]
        /// Every pod that claims an IP (usually one; two while an IP moves to a new pod).
        var claims: [String: [ObjectKey]] = [:]
        /// The pod that owns each IP, chosen among its claims by ``PodRecord/ownsIP(over:)``.
        var owners: [String: ObjectKey] = [:]
        var services: [ObjectKey: [String: String]] = [:]
    }

    let podLabelKeys: Set<String>
    let serviceLabelKeys: Set<String>
    private let state = Mutex(State())
    private let generationCounter = Atomic<UInt64>(0)

    init(podLabelKeys: some Sequence<String>, serviceLabelKeys: some Sequence<String>) {
        self.podLabelKeys = Set(podLabelKeys)
        self.serviceLabelKeys = Set(serviceLabelKeys)
    }

    /// Changes whenever a lookup could answer differently: an IP that moved, a pod or service
    /// that appeared or went, a kept label that changed. Status-only updates leave it alone.
    var generation: UInt64 { generationCounter.load(ordering: .acquiring) }

    private func changed() {
        generationCounter.wrappingAdd(1, ordering: .releasing)
    }

    // MARK: Lookups

    func pod(ip: String) -> PodMetadata? {
        state.withLock { state in state.owners[ip].flatMap { state.pods[$0]?.metadata } }
    }

    func pod(namespace: String, name: String) -> PodMetadata? {
        state.withLock { $0.pods[ObjectKey(namespace: namespace, name: name)]?.metadata }
    }

    func serviceLabels(namespace: String, name: String) -> [String: String]? {
        state.withLock { $0.services[ObjectKey(namespace: namespace, name: name)] }
    }

    var counts: (pods: Int, podIPs: Int, services: Int) {
        state.withLock { ($0.pods.count, $0.owners.count, $0.services.count) }
    }

    // MARK: Pod updates

    /// An added or modified pod.
    func upsert(_ pod: PodObject) {
        let record = PodRecord(pod, keeping: podLabelKeys)
        let didChange = state.withLock { state -> Bool in
            let key = record.key
            let old = state.pods[key]
            if old == record { return false }
            state.pods[key] = record
            let oldIPs = old?.ips ?? []
            for ip in oldIPs where !record.ips.contains(ip) { Self.release(ip, from: key, in: &state) }
            for ip in record.ips where !oldIPs.contains(ip) { state.claims[ip, default: []].append(key) }
            for ip in Set(oldIPs + record.ips) { Self.resolve(ip, in: &state) }
            return true
        }
        if didChange { changed() }
    }

    /// A deleted pod.
    func remove(_ pod: PodObject) {
        let key = ObjectKey(namespace: pod.metadata.namespace ?? "", name: pod.metadata.name ?? "")
        let didChange = state.withLock { state -> Bool in
            guard let old = state.pods.removeValue(forKey: key) else { return false }
            for ip in old.ips {
                Self.release(ip, from: key, in: &state)
                Self.resolve(ip, in: &state)
            }
            return true
        }
        if didChange { changed() }
    }

    /// The pods of a complete list, replacing everything known: pods deleted while no watch was
    /// running disappear.
    func replacePods(_ pods: [PodObject]) {
        var fresh = State()
        for pod in pods {
            let record = PodRecord(pod, keeping: podLabelKeys)
            fresh.pods[record.key] = record
        }
        for (key, record) in fresh.pods {
            for ip in record.ips { fresh.claims[ip, default: []].append(key) }
        }
        for ip in fresh.claims.keys { Self.resolve(ip, in: &fresh) }
        let didChange = state.withLock { state -> Bool in
            guard state.pods != fresh.pods else { return false }
            state.pods = fresh.pods
            state.claims = fresh.claims
            state.owners = fresh.owners
            return true
        }
        if didChange { changed() }
    }

    private static func release(_ ip: String, from key: ObjectKey, in state: inout State) {
        state.claims[ip]?.removeAll { $0 == key }
        if state.claims[ip]?.isEmpty == true { state.claims[ip] = nil }
    }

    private static func resolve(_ ip: String, in state: inout State) {
        var best: ObjectKey?
        for key in state.claims[ip] ?? [] {
            guard let candidate = state.pods[key] else { continue }
            if let current = best.flatMap({ state.pods[$0] }), !candidate.ownsIP(over: current) { continue }
            best = key
        }
        state.owners[ip] = best
    }

    // MARK: Service updates

    func upsert(_ service: ServiceObject) {
        let key = ObjectKey(namespace: service.metadata.namespace ?? "", name: service.metadata.name ?? "")
        let labels = (service.metadata.labels ?? [:]).filter { serviceLabelKeys.contains($0.key) }
        let didChange = state.withLock { state -> Bool in
            if state.services[key] == labels { return false }
            state.services[key] = labels
            return true
        }
        if didChange { changed() }
    }

    func remove(_ service: ServiceObject) {
        let key = ObjectKey(namespace: service.metadata.namespace ?? "", name: service.metadata.name ?? "")
        let didChange = state.withLock { $0.services.removeValue(forKey: key) != nil }
        if didChange { changed() }
    }

    func replaceServices(_ services: [ServiceObject]) {
        var fresh: [ObjectKey: [String: String]] = [:]
        for service in services {
            let key = ObjectKey(namespace: service.metadata.namespace ?? "", name: service.metadata.name ?? "")
            fresh[key] = (service.metadata.labels ?? [:]).filter { serviceLabelKeys.contains($0.key) }
        }
        let didChange = state.withLock { state -> Bool in
            guard state.services != fresh else { return false }
            state.services = fresh
            return true
        }
        if didChange { changed() }
    }
}
