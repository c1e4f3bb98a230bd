import Exposition
import Histograms

/// One configuration's registry and the shards its readers count into.
public final class Pipeline: Sendable {
    public let registry: Registry
    public let shards: [Shard]

    public var schema: MetricsSchema { registry.schema }

    public init(
        schema: MetricsSchema, shards count: Int, monotonic: @escaping @Sendable () -> Double = monotonicSeconds
    ) {
        let registry = Registry(schema: schema, monotonic: monotonic)
        self.registry = registry
        self.shards = (0..<max(1, count)).map { _ in Shard(registry: registry) }
    }

    private init(registry: Registry, shards: [Shard]) {
        self.registry = registry
        self.shards = shards
    }

    public func snapshot(now: Double? = nil, includeCreated: Bool = false) -> MetricSnapshot {
        SnapshotBuilder.snapshot(registry: registry, shards: shards, now: now, includeCreated: includeCreated)
    }

    @discardableResult
    public func expireIdleSeries(idleSeconds: Double) -> Int {
        registry.expireIdleSeries(shards: shards, idleSeconds: idleSeconds)
    }

    /// A pipeline for `schema` that continues this one: every series whose family exists in both
    /// with the same type, unit, labels and buckets keeps its values and creation time, so no
    /// counter that still exists is reset. Input statistics carry over too. This pipeline's
    /// shards are retired: a reader that still holds one finds it retired and moves to the new
    /// shard with the same index. All shards are locked while values move, so no count is lost.
    public func migrate(to schema: MetricsSchema) -> Pipeline {
        let next = Pipeline(schema: schema, shards: shards.count)
        let oldSchema = registry.schema
        _ = Shard.withAllLocked(shards) { old in
            _ = registry.state.withLock { oldState in
                Shard.withAllLocked(next.shards) { new in
                    for shard in old.indices {
                        for (input, statistics) in old[shard].inputs.enumerated() {
                            var labels: [String: String] = [:]
                            for (dim, source) in oldSchema.dimensions.enumerated() {
                                if case .input(let name) = source {
                                    labels[name] =
                                        oldState.dimensions[dim].values[
                                            Int(old[shard].inputDimensionValues[input][dim])]
                                }
                            }
                            _ = new[shard].addInput(labels: labels)
                            new[shard].inputs[input] = statistics
                        }
                        old[shard].isRetired = true
                    }
                    for (oldFamily, definition) in oldSchema.families.enumerated() {
                        guard let newFamily = schema.families.firstIndex(where: { Self.compatible($0, definition) })
                        else {
                            continue
                        }
                        let series = oldState.families[oldFamily]
                        let width = oldSchema.observationBuckets[oldFamily].map { $0.count + 1 } ?? 1
                        for id in series.live.indices where series.live[id] {
                            let values = series.labels[id].values
                            var key = SeriesKey(count: values.count)
                            for (k, value) in values.enumerated() {
                                key.ids[k] = next.registry.intern(
                                    dimension: schema.familyDimensions[newFamily][k], value: value)
                            }
                            let newID = Int(
                                next.registry.series(
                                    family: newFamily, key: key, hash: key.hashValue64, now: series.created[id]))
                            for shard in old.indices {
                                new[shard].absorb(
                                    family: newFamily, id: newID, width: width, counts: old[shard].counts[oldFamily],
                                    sums: old[shard].sums[oldFamily], lastUpdated: old[shard].lastUpdated[oldFamily],
                                    natives: old[shard].natives[oldFamily], from: id)
                            }
                        }
                    }
                    return 0
                }
            }
            return 0
        }
        return next
    }

    /// Whether a family of a new configuration can take over the series of an old one.
    static func compatible(_ a: FamilyDefinition, _ b: FamilyDefinition) -> Bool {
        a.name == b.name && a.type == b.type && a.unit == b.unit && a.observation == b.observation
            && a.labels.map(\.name) == b.labels.map(\.name) && a.buckets == b.buckets
            && a.observationsPerUnit == b.observationsPerUnit
    }
}

extension ShardState {
    /// Adds series `old` of another shard's arrays to series `id` of `family` here.
    mutating func absorb(
        family: Int, id: Int, width: Int, counts source: [UInt64], sums sourceSums: [Int64], lastUpdated seen: [UInt32],
        natives sourceNatives: [NativeHistogram?], from old: Int
    ) {
        guard old * width < source.count else { return }
        if id * width >= counts[family].count || (width > 1 && id >= sums[family].count) {
            let capacity = max(id + 1, 16, counts[family].count / width * 2)
            counts[family] += Array(repeating: 0, count: capacity * width - counts[family].count)
            if width > 1 || schema.observationBuckets[family] != nil {
                sums[family] += Array(repeating: 0, count: max(0, capacity - sums[family].count))
            }
            lastUpdated[family] += Array(repeating: 0, count: max(0, capacity - lastUpdated[family].count))
        }
        for k in 0..<width { counts[family][id * width + k] &+= source[old * width + k] }
        if old < sourceSums.count, id < sums[family].count {
            let (sum, overflow) = sums[family][id].addingReportingOverflow(sourceSums[old])
            sums[family][id] = overflow ? .max : sum
        }
        if old < seen.count { lastUpdated[family][id] = max(lastUpdated[family][id], seen[old]) }
        if old < sourceNatives.count, let native = sourceNatives[old], schema.families[family].native != nil {
            if id >= natives[family].count { natives[family] += Array(repeating: nil, count: id + 1 - natives[family].count) }
            natives[family][id] = natives[family][id].map { $0.merging(native) } ?? native
        }
    }
}
