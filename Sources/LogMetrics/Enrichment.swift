import Aggregation
import ArgumentParser
import Configuration
import Exposition
import Foundation
import HTTPClient
import Kubernetes

/// The Kubernetes API, kept current by list and watch, as the pipeline's metadata lookup.
final class Enrichment: Sendable {
    let metadata: KubernetesMetadata
    let lookup: KubernetesLookup
    let configuration: KubernetesConfiguration

    private init(metadata: KubernetesMetadata, configuration: KubernetesConfiguration) {
        self.metadata = metadata
        self.lookup = KubernetesLookup(metadata: metadata)
        self.configuration = configuration
    }

    /// Starts listing and watching when the configuration asks for labels from the API, and
    /// waits (at most the configured timeout) for the first lists, so that the first lines are
    /// labelled too. Nil when it does not ask.
    static func start(_ compiled: CompiledConfiguration) throws -> Enrichment? {
        guard let configuration = compiled.configuration.kubernetesClient else { return nil }
        do {
            try CurlLibrary.load()
        } catch {
            throw ValidationError("kubernetes: the API is reached through libcurl: \(error)")
        }
        let metadata: KubernetesMetadata
        do {
            metadata = try KubernetesMetadata(configuration: configuration) { message in
                log("logmetrics: kubernetes: \(message)")
            }
        } catch {
            throw ValidationError("kubernetes: \(error)")
        }
        let enrichment = Enrichment(metadata: metadata, configuration: configuration)
        metadata.start()
        let timeout = compiled.configuration.kubernetesInitialListTimeoutSeconds
        let started = ContinuousClock.now
        if metadata.waitForInitialList(timeout: .milliseconds(Int64(timeout * 1000))) {
            let statistics = metadata.statistics
            log(
                "logmetrics: kubernetes: listed \(statistics.podCount) pods"
                    + (statistics.services != nil ? " and \(statistics.serviceCount) services" : "")
                    + " in \(Self.format(ContinuousClock.now - started))")
        } else {
            log(
                "logmetrics: kubernetes: no complete list within \(Self.format(.milliseconds(Int64(timeout * 1000)))); "
                    + "counting starts, and records of pods not known yet are labelled unknown until they are")
        }
        return enrichment
    }

    func stop() {
        metadata.stop()
    }

    private static func format(_ duration: Duration) -> String {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        return String(format: "%.1f s", seconds)
    }

    /// The list and watch loops' own metrics.
    var families: [MetricFamilySnapshot] {
        let statistics = metadata.statistics
        var resources: [(String, KubernetesStatistics.Resource)] = [("pods", statistics.pods)]
        if let services = statistics.services { resources.append(("services", services)) }
        let labels = resources.map { LabelSet(names: ["resource"], values: [$0.0]) }
        func counter(_ name: String, _ help: String, _ value: (KubernetesStatistics.Resource) -> Int)
            -> MetricFamilySnapshot
        {
            MetricFamilySnapshot(
                name: name, help: help, type: .counter, labels: labels,
                values: .integers(resources.map { UInt64(max(0, value($0.1))) }))
        }
        return [
            MetricFamilySnapshot(
                name: "logmetrics_kubernetes_synced",
                help: "1 once the resource has been listed, 0 before: until then its labels are unknown.",
                type: .gauge, labels: labels, values: .integers(resources.map { $0.1.isSynced ? 1 : 0 })),
            MetricFamilySnapshot(
                name: "logmetrics_kubernetes_objects", help: "Objects known, by kind (pod_ips: addresses with a pod).",
                type: .gauge,
                labels: ["pods", "pod_ips"].map { LabelSet(names: ["resource"], values: [$0]) }
                    + (statistics.services != nil ? [LabelSet(names: ["resource"], values: ["services"])] : []),
                values: .integers(
                    [UInt64(statistics.podCount), UInt64(statistics.podIPCount)]
                        + (statistics.services != nil ? [UInt64(statistics.serviceCount)] : []))),
            counter("logmetrics_kubernetes_lists", "Complete lists: the first one and every relist.") { $0.lists },
            counter(
                "logmetrics_kubernetes_relists", "Relists because the watched version had expired (410 Gone)."
            ) { $0.expiries },
            counter("logmetrics_kubernetes_watch_events", "ADDED, MODIFIED and DELETED events applied.") {
                $0.events
            },
            counter(
                "logmetrics_kubernetes_request_failures",
                "API requests that failed (connection, TLS, timeout, HTTP error, broken stream); retried with backoff."
            ) { $0.failures },
        ]
    }
}

/// ``KubernetesMetadata`` answering the pipeline's questions.
struct KubernetesLookup: MetadataLookup {
    let metadata: KubernetesMetadata

    var generation: UInt64 { metadata.generation }

    func pod(upstreamHost: String) -> MetadataPod? {
        metadata.pod(upstreamHost: upstreamHost).map(Self.pod)
    }

    func pod(namespace: String, name: String) -> MetadataPod? {
        metadata.pod(namespace: namespace, name: name).map(Self.pod)
    }

    func serviceLabels(namespace: String, name: String) -> [String: String]? {
        metadata.serviceLabels(namespace: namespace, name: name)
    }

    private static func pod(_ pod: PodMetadata) -> MetadataPod {
        MetadataPod(namespace: pod.namespace, workload: pod.workload, labels: pod.labels)
    }
}
