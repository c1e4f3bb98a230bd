import Testing

@testable import Tailer

@Suite struct KubernetesLogPathTests {
    @Test func podsLayout() throws {
        let path = try #require(
            KubernetesLogPath(
                path: "/var/log/pods/istio-system_istio-ingressgateway-7d4b9f8c6-x2kzq_1f0c-ab/istio-proxy/0.log"))
        #expect(path.namespace == "istio-system")
        #expect(path.pod == "istio-ingressgateway-7d4b9f8c6-x2kzq")
        #expect(path.podUID == "1f0c-ab")
        #expect(path.container == "istio-proxy")
        #expect(path.restartCount == 0)
        #expect(path.rotation == nil && !path.isCompressed)
        #expect(path.workload == "istio-ingressgateway")
        #expect(path.labels["workload"] == "istio-ingressgateway")
    }

    @Test func rotatedAndCompressedFilesAndRestarts() throws {
        let rotated = try #require(KubernetesLogPath(path: "/host/var/log/pods/ns_web-0_uid/c/1.log.20240101-120000"))
        #expect(rotated.restartCount == 1)
        #expect(rotated.rotation == "20240101-120000")
        let compressed = try #require(KubernetesLogPath(path: "/var/log/pods/ns_web-0_uid/c/0.log.20240101-120000.gz"))
        #expect(compressed.isCompressed && compressed.rotation == "20240101-120000")
        #expect(KubernetesLogPath(path: "/var/log/pods/ns_web-0_uid/c/0.log.gz") == nil)
    }

    @Test func containersSymlinks() throws {
        let id = String(repeating: "0123456789abcdef", count: 4)
        let path = try #require(
            KubernetesLogPath(path: "/var/log/containers/reviews-v1-545db77b95-2pxmb_bookinfo_istio-proxy-\(id).log"))
        #expect(path.namespace == "bookinfo")
        #expect(path.pod == "reviews-v1-545db77b95-2pxmb")
        #expect(path.container == "istio-proxy")
        #expect(path.containerID == id)
        #expect(path.workload == "reviews-v1")
        // A name cut short (no full 64-hex id) is not recognised.
        #expect(KubernetesLogPath(path: "/var/log/containers/a_b_c-0123.log") == nil)
    }

    @Test func otherPathsAreNotKubernetes() {
        #expect(KubernetesLogPath(path: "/var/log/envoy/access.log") == nil)
        #expect(KubernetesLogPath(path: "/var/log/pods/not-three-parts/c/0.log") == nil)
        #expect(KubernetesLogPath(path: "/var/log/pods/a_b_c/c/x.log") == nil)
    }

    @Test(arguments: [
        ("reviews-v1-545db77b95-2pxmb", "reviews-v1"),  // Deployment
        ("web-0", "web"),  // StatefulSet
        ("redis-cluster-12", "redis-cluster"),  // StatefulSet, two digits
        ("node-exporter-abcde", "node-exporter"),  // DaemonSet
        ("backup-28485720-x7k2p", "backup"),  // CronJob -> Job -> pod
        ("migrate-db-4m9x2", "migrate-db"),  // Job
        ("standalone", "standalone"),  // bare pod
        ("reviews-v1-backend-2pxmb", "reviews-v1-backend"),  // "backend" has vowels: not a hash
    ])
    func workloadHeuristic(pod: String, workload: String) {
        #expect(KubernetesLogPath.workloadName(ofPod: pod) == workload)
    }

    @Test func rotationSuffix() {
        #expect(KubernetesLogPath.rotationSuffix(of: "0.log.20240101-120000") == "20240101-120000")
        #expect(KubernetesLogPath.rotationSuffix(of: "0.log.2024010-1120000") == nil)
        #expect(KubernetesLogPath.rotationSuffix(of: "0.txt.20240101-120000") == nil)
    }
}
