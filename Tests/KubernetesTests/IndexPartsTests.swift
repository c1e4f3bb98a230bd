import Foundation
import HTTPClient
import Testing

@testable import Kubernetes

/// The pieces around the index: addresses, label names, workloads, backoff, endpoints.
@Suite struct IndexPartsTests {
    @Test(arguments: [
        ("10.1.2.3:8080", "10.1.2.3"),
        ("[fd00::5]:8080", "fd00::5"),
        ("envoy://connect_originate/10.1.2.3:8080", "10.1.2.3"),
        ("10.1.2.3", "10.1.2.3"),
        ("fd00::5", "fd00::5"),
    ])
    func upstreamHostGivesThePodIP(value: String, ip: String) {
        #expect(UpstreamHost.ip(of: value).map(String.init) == ip)
    }

    @Test func upstreamHostWithoutAnAddress() {
        #expect(UpstreamHost.ip(of: "-") == nil)
        #expect(UpstreamHost.ip(of: "") == nil)
        #expect(UpstreamHost.ip(of: "[fd00::5") == nil)
    }

    @Test func labelNames() {
        #expect(MetadataLabelName.make(prefix: "destination_", key: "account") == "destination_account")
        #expect(
            MetadataLabelName.make(prefix: "destination_", key: "app.kubernetes.io/name")
                == "destination_app_kubernetes_io_name")
        #expect(MetadataLabelName.isValidKey("app.kubernetes.io/name"))
        #expect(MetadataLabelName.isValidKey("scope"))
        #expect(!MetadataLabelName.isValidKey("-scope"))
        #expect(!MetadataLabelName.isValidKey("a/b/c"))
        #expect(!MetadataLabelName.isValidKey("Example.com/x"))
        #expect(!MetadataLabelName.isValidKey(String(repeating: "a", count: 64)))
    }

    static func pod(name: String, owner: OwnerReference?, labels: [String: String] = [:]) -> PodObject {
        PodObject(
            metadata: ObjectMeta(name: name, namespace: "ns", labels: labels, ownerReferences: owner.map { [$0] }))
    }

    @Test func workloadFromTheOwner() {
        let deployment = Self.pod(
            name: "web-5d8f7c9b6-abcde",
            owner: OwnerReference(kind: "ReplicaSet", name: "web-5d8f7c9b6", controller: true),
            labels: ["pod-template-hash": "5d8f7c9b6"])
        #expect(PodRecord(deployment, keeping: []).metadata.workload == "web")
        let replicaSet = Self.pod(
            name: "bare-rs-x1", owner: OwnerReference(kind: "ReplicaSet", name: "bare-rs", controller: true))
        #expect(PodRecord(replicaSet, keeping: []).metadata.workload == "bare-rs")
        let cronJob = Self.pod(
            name: "backup-28485720-x7k2p", owner: OwnerReference(kind: "Job", name: "backup-28485720", controller: true)
        )
        #expect(PodRecord(cronJob, keeping: []).metadata.workload == "backup")
        let statefulSet = Self.pod(
            name: "db-0", owner: OwnerReference(kind: "StatefulSet", name: "db", controller: true))
        #expect(PodRecord(statefulSet, keeping: []).metadata.workload == "db")
        #expect(PodRecord(Self.pod(name: "debug", owner: nil), keeping: []).metadata.workload == "debug")
    }

    @Test func backoffDoublesUpToTheMaximumWithJitterAndResets() {
        var backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(1))
        var generator = SystemRandomNumberGenerator()
        let expected: [Duration] = [
            .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800),
            .seconds(1), .seconds(1),
        ]
        for ceiling in expected {
            let wait = backoff.next(using: &generator)
            #expect(wait <= ceiling && wait >= ceiling / 2)
        }
        for _ in 0..<100 { _ = backoff.next(using: &generator) }
        #expect(backoff.next(using: &generator) <= .seconds(1))
        backoff.reset()
        #expect(backoff.next(using: &generator) <= .milliseconds(100))
    }

    @Test func inClusterEndpointFromTheEnvironment() throws {
        let configuration = KubernetesConfiguration(api: .inCluster)
        let endpoint = try configuration.endpoint(environment: [
            "KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443",
        ])
        #expect(endpoint.baseURL == "https://10.96.0.1:443")
        #expect(endpoint.tokenFile == "/var/run/secrets/kubernetes.io/serviceaccount/token")
        #expect(endpoint.caFile == "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt")
        let v6 = try configuration.endpoint(environment: ["KUBERNETES_SERVICE_HOST": "fd00:10:96::1"])
        #expect(v6.baseURL == "https://[fd00:10:96::1]:443")
        #expect(throws: KubernetesError.notInCluster) { try configuration.endpoint(environment: [:]) }
    }

    @Test func urlEndpoint() throws {
        let proxy = try KubernetesConfiguration(api: .url("http://127.0.0.1:8001/")).endpoint(environment: [:])
        #expect(proxy == .init(baseURL: "http://127.0.0.1:8001", tokenFile: nil, caFile: nil))
        #expect(throws: KubernetesError.invalidURL("127.0.0.1:8001")) {
            try KubernetesConfiguration(api: .url("127.0.0.1:8001")).endpoint(environment: [:])
        }
        #expect(throws: (any Error).self) {
            try KubernetesMetadata(configuration: .init(api: .inCluster), environment: [:])
        }
    }

    @Test func queryValuesArePercentEncoded() {
        #expect(APIConnection.percentEncoded("app in (a,b)") == "app%20in%20%28a%2Cb%29")
        #expect(APIConnection.percentEncoded("spec.nodeName=node-1") == "spec.nodeName%3Dnode-1")
        #expect(APIConnection.collectionPath(resource: "pods", namespace: nil) == "/api/v1/pods")
        #expect(
            APIConnection.collectionPath(resource: "services", namespace: "shop") == "/api/v1/namespaces/shop/services")
    }
}
