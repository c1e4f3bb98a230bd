import Aggregation
import Kubernetes
import Testing

@testable import Configuration

@Suite struct KubernetesSectionTests {
    static let section = """
        kubernetes:
          api: http://127.0.0.1:8001/
          pod_labels: [account, app.kubernetes.io/name]
          service_labels: [team]
          namespace: shop
          pod_selector: { labels: "tier!=batch", fields: "status.phase=Running" }
          initial_list_timeout: 30s
        """

    func failure(_ yaml: String) -> ConfigurationError? {
        do {
            _ = try ConfigurationLoader.load(yaml: yaml, file: "c.yaml")
            return nil
        } catch {
            return error
        }
    }

    func labels(_ compiled: CompiledConfiguration, _ family: String) -> [String] {
        compiled.schema.families.first { $0.name == family }?.labels.map(\.name) ?? []
    }

    @Test func theSectionLoadsIntoTheClientsConfiguration() throws {
        let c = try ConfigurationLoader.load(yaml: Self.section, file: "c.yaml")
        let kubernetes = try #require(c.kubernetes)
        #expect(kubernetes.api == .url("http://127.0.0.1:8001/"))
        #expect(kubernetes.podLabels == ["account", "app.kubernetes.io/name"])
        #expect(kubernetes.serviceLabels == ["team"])
        #expect(kubernetes.namespace == "shop")
        #expect(kubernetes.podSelector == .init(labels: "tier!=batch", fields: "status.phase=Running"))
        #expect(c.kubernetesInitialListTimeoutSeconds == 30)
        #expect(
            try ConfigurationLoader.load(yaml: "kubernetes: { api: auto, pod_labels: [a] }").kubernetes?.api
                == .inCluster)
        // Source labels of their own: the client keeps both lists' keys.
        let own = try ConfigurationLoader.load(yaml: "kubernetes: { pod_labels: [account], source_pod_labels: [zone] }")
        #expect(own.kubernetesClient?.podLabels == ["account", "zone"])
        let compiled = try ConfigurationCompiler.compile(own)
        #expect(
            labels(compiled, "logmetrics_http_requests").filter {
                $0.hasPrefix("source_") || $0.hasPrefix("destination_")
            }
                == ["destination_service", "destination_account", "source_zone"])
    }

    @Test func labelsGoOnTheRequestDurationAndTCPFamilies() throws {
        let compiled = try ConfigurationCompiler.compile(ConfigurationLoader.load(yaml: Self.section))
        let added = [
            "destination_account", "destination_app_kubernetes_io_name", "destination_service_team", "source_account",
            "source_app_kubernetes_io_name",
        ]
        for family in [
            "logmetrics_http_requests", "logmetrics_http_request_duration_seconds", "logmetrics_tcp_connections",
        ] {
            #expect(Set(added).isSubset(of: labels(compiled, family)), "\(family)")
        }
        #expect(!labels(compiled, "logmetrics_http_request_size_bytes").contains("destination_account"))
        #expect(compiled.schema.wantedFields.contains(.upstreamHost))
        // The workload of the upstream pod is there for families that ask for it.
        let asked = try ConfigurationCompiler.compile(
            ConfigurationLoader.load(
                yaml: Self.section + "\nlabels: { families: { http_requests: [route, destination_workload] } }"))
        #expect(labels(asked, "logmetrics_http_requests") == ["route", "destination_workload"])
    }

    @Test func theIstioPresetTakesTheDestinationWorkloadFromThePod() throws {
        let enriched = try ConfigurationCompiler.compile(
            ConfigurationLoader.load(yaml: "preset: istio\nkubernetes: { api: auto }"))
        let requests = try #require(enriched.schema.families.first { $0.name == "istio_requests" })
        #expect(requests.labels.first { $0.name == "destination_workload" }?.source == .destinationPod(.workload))
        #expect(
            requests.labels.first { $0.name == "destination_workload_namespace" }?.source == .destinationPod(.namespace)
        )
        let plain = try ConfigurationCompiler.compile(ConfigurationLoader.load(yaml: "preset: istio"))
        #expect(
            plain.schema.families.first { $0.name == "istio_requests" }?.labels.first {
                $0.name == "destination_workload"
            }?.source == .constant("unknown"))
    }

    @Test func mistakesAreNamedWithTheirPlace() throws {
        let badKey = try #require(failure("kubernetes:\n  pod_labels: [\"-bad\"]\n"))
        #expect(badKey.line == 2)
        #expect(badKey.message.contains("not a Kubernetes label key"))
        let clash = try #require(failure("kubernetes:\n  pod_labels: [a.b, a/b]\n"))
        #expect(clash.message.contains("would both be the label suffix a_b"))
        let url = try #require(failure("kubernetes:\n  api: 127.0.0.1:8001\n  pod_labels: [a]\n"))
        #expect(url.line == 2)
        #expect(url.message.contains("not an http:// or https:// URL"))
        let nothing = try #require(failure("kubernetes:\n  api: auto\n"))
        #expect(nothing.key == "kubernetes")
        #expect(nothing.message.contains("nothing to label"))
        // service_name would make destination_service_name, which the record already gives.
        let taken = try #require(failure("kubernetes:\n  service_labels: [name]\n"))
        #expect(taken.message.contains("destination_service_name"))
        // The istio preset has its own destination_workload and source_workload.
        let repeated = try #require(failure("preset: istio\nkubernetes:\n  pod_labels: [workload]\n"))
        #expect(repeated.message.contains("would appear twice"))
        let typo = try #require(failure("kubernetes:\n  pod_label: [a]\n"))
        #expect(typo.message.contains("did you mean \"pod_labels\""))
        let timeout = try #require(failure("kubernetes:\n  pod_labels: [a]\n  initial_list_timeout: 1h\n"))
        #expect(timeout.line == 3)
    }
}
