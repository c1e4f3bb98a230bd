import AccessLogParser
import Aggregation
import Exposition

/// Feeds lines into one shard of a fresh registry and returns the snapshot.
struct Harness: Sendable {
    let schema: MetricsSchema
    let registry: Registry
    let shards: [Shard]
    let configuration: ParserConfiguration

    init(
        families: [FamilyDefinition] = MetricsSchema.defaultFamilies(), limits: Limits = Limits(), shards: Int = 1,
        classification: Classification = Classification(), enrichment: (any MetadataLookup)? = nil
    ) {
        schema = try! MetricsSchema(families: families, limits: limits, classification: classification)
        let registry = Registry(schema: schema, enrichment: enrichment)
        self.registry = registry
        self.shards = (0..<shards).map { _ in Shard(registry: registry) }
        configuration = ParserConfiguration(wantedFields: schema.wantedFields)
    }

    func feed(_ lines: [String], shard: Int = 0, labels: [String: String] = [:]) {
        let decoder = AccessLogDecoder(configuration: configuration)
        let bytes = Array(lines.joined(separator: "\n").utf8) + [0x0A]
        shards[shard].withRecorder { state in
            state.currentInput = state.addInput(labels: labels)
            state.updateClock()
            bytes.withUnsafeBufferPointer { decoder.feed($0, into: &state) }
            decoder.finish(into: &state)
            state.updateInput(lines: decoder.counts, bytes: UInt64(bytes.count))
        }
    }

    func snapshot() -> MetricSnapshot {
        SnapshotBuilder.snapshot(registry: registry, shards: shards)
    }
}

extension MetricSnapshot {
    func family(_ name: String) -> MetricFamilySnapshot? {
        families.first { $0.name == name }
    }

    /// Counter or gauge values by label set, for families with integer values.
    func values(_ name: String) -> [[String: String]: UInt64] {
        guard let family = family(name), case .integers(let values) = family.values else { return [:] }
        var result: [[String: String]: UInt64] = [:]
        for (k, labels) in family.labels.enumerated() {
            result[Dictionary(uniqueKeysWithValues: zip(labels.names, labels.values)), default: 0] += values[k]
        }
        return result
    }

    /// The sum of a counter family over series whose labels include `match`.
    func sum(_ name: String, where match: [String: String] = [:]) -> UInt64 {
        values(name).filter { labels, _ in match.allSatisfy { labels[$0.key] == $0.value } }.values.reduce(0, +)
    }
}

func line(
    route: String? = "users_item", method: String = "GET", path: String = "/users/42", code: Int = 200,
    flags: String = "-", duration: Int = 12, cluster: String? = "outbound|8080||users.shop.svc.cluster.local",
    protocolName: String = "HTTP/1.1", bytesReceived: Int = 0, bytesSent: Int = 54
) -> String {
    let routeValue = route.map { "\"\($0)\"" } ?? "null"
    let clusterValue = cluster.map { "\"\($0)\"" } ?? "null"
    return """
        {"authority":"shop.example.com","bytes_received":\(bytesReceived),"bytes_sent":\(bytesSent),"duration":\(duration),\
        "method":"\(method)","path":"\(path)","protocol":"\(protocolName)","request_id":"id","response_code":\(code),\
        "response_flags":"\(flags)","route_name":\(routeValue),"upstream_cluster":\(clusterValue),\
        "upstream_service_time":"\(max(0, duration - 1))"}
        """
}
