import AccessLogParser
import Aggregation
import Kubernetes

/// Everything a configuration file can say, with the defaults used when it says nothing.
public struct LogMetricsConfiguration: Sendable, Equatable {
    public enum Format: String, Sendable, CaseIterable {
        /// Every JSON preset and the TEXT format, detected per record.
        case auto
        case istioJSON = "istio-json"
        case envoyGatewayJSON = "envoy-gateway-json"
        case istioText = "istio-text"
        /// Only the keys listed under `fields`.
        case custom
    }

    public enum Preset: String, Sendable, CaseIterable {
        /// The `<namespace>_http_*` and `<namespace>_tcp_*` families.
        case `default`
        /// Istio's metric names, labels and millisecond buckets.
        case istio
    }

    /// A label taken from a logged field.
    public struct ExtractedLabel: Sendable, Equatable {
        public var name: String
        /// A field name (`path`, `user_agent`, ...), a name defined under `fields`, or a JSON key.
        public var field: String
        /// Take only this path segment (from 1).
        public var segment: Int?
        /// Take only the first capture group of this regular expression.
        public var pattern: String?
        /// Distinct values kept; the rest are `__overflow__`.
        public var maxValues: Int?

        public init(name: String, field: String, segment: Int? = nil, pattern: String? = nil, maxValues: Int? = nil) {
            self.name = name
            self.field = field
            self.segment = segment
            self.pattern = pattern
            self.maxValues = maxValues
        }
    }

    public var format: Format = .auto
    /// Logical field name (built-in, or new) -> JSON key.
    public var fields: [String: String] = [:]
    public var preset: Preset = .default
    public var namespace = "logmetrics"
    public var routes: [RouteRule] = []
    public var useRouteName = true
    public var ignoredRouteNames: [String] = ["default"]
    public var autoTemplate = true
    public var templateMaxDepth = 8
    public var slowThresholdMilliseconds: Int64 = 1000
    public var slowThresholdsByRoute: [String: Int64] = [:]
    public var grpcStatusDecidesErrorType = true
    /// Labels with one value on every family.
    public var staticLabels: [String: String] = [:]
    /// Labels of the input a line came from, added to every family: `namespace`, `pod`,
    /// `container`, `workload` (from Kubernetes pod log paths).
    public var sourceLabels: [String] = []
    public var extractedLabels: [ExtractedLabel] = []
    /// Family (name without namespace or `_total`) -> its labels, replacing the default list.
    public var familyLabels: [String: [String]] = [:]
    /// Family -> bucket bounds in the family's unit.
    public var buckets: [String: [Double]] = [:]
    public var limits = Limits(maxSeriesPerFamily: 10_000, maxValuesPerLabel: ["route": 500])
    /// Series not updated for this long are dropped from the output (never below 10 minutes).
    public var idleExpirySeconds: Double = 3600
    public var maxLineBytes = LineFramer.defaultMaxLineLength
    public var envelope: Envelope = .auto
    /// Exemplars (trace or request ids) on request counters and duration buckets, in OpenMetrics
    /// and protobuf scrapes.
    public var exemplars = true
    /// Creation times (OpenMetrics `_created`, protobuf `created_timestamp`). Off by default:
    /// Prometheus before 2.50 keeps each `_created` line as a series of its own.
    public var createdTimestamps = false

    /// Labels from the Kubernetes API: `destination_<key>` for each pod label key,
    /// `destination_service_<key>` for each service label key, `source_<key>` for each of
    /// ``kubernetesSourcePodLabels``. Nil: no enrichment.
    public var kubernetes: KubernetesConfiguration?
    /// Pod label keys carried as `source_<key>` (the pod whose log a line is in); nil: the same
    /// as `kubernetes.podLabels`.
    public var kubernetesSourcePodLabels: [String]?

    /// What the API client watches and keeps: every pod label key either list names.
    public var kubernetesClient: KubernetesConfiguration? {
        guard var client = kubernetes else { return nil }
        for key in kubernetesSourcePodLabels ?? [] where !client.podLabels.contains(key) {
            client.podLabels.append(key)
        }
        return client
    }
    /// At start, how long counting waits for the first list of pods and services, so that the
    /// first lines are labelled too.
    public var kubernetesInitialListTimeoutSeconds: Double = 10

    public init() {}

    /// Idle series are kept at least this long, so that sparse counters are not reset.
    public static let minimumIdleExpirySeconds: Double = 600
}
