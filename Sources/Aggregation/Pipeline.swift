import Exposition
import Histograms

/// One configuration's registry and the shards its readers count into.
public final class Pipeline: Sendable {
    public let registry: Registry
    public let shards: [Shard]

    public var schema: MetricsSchema { registry.schema }

    public init(
        schema: MetricsSchema, shards count: Int, enrichment: (any MetadataLookup)? = nil,
        monotonic: @escaping @Sendable () -> Double = monotonicSeconds
    ) {
        let registry = Registry(schema: schema, enrichment: enrichment, monotonic: monotonic)
        self.registry = registry
        self.shards = (0..<max(1, count)).map { _ in Shard(registry: registry) }
    }

    private init(registry: Registry, shards: [Shard]) {
        self.registry = registry
        self.shards = shards
    }

    /// The values of every shard; see ``SnapshotBuilder/snapshot(registry:shards:now:includeCreated:includeExemplars:includeNative:)``.
    /// - Parameter families: the names of the configured families to include; nil for all. The
    ///   self metrics are always there.
    /// - Parameter deferring: values read piece by piece as they are written (see
    ///   ``SnapshotBuilder``), for a scrape in the text formats.
    public func snapshot(
        now: Double? = nil, includeCreated: Bool = false, includeExemplars: Bool = false, includeNative: Bool = true,
        families: Set<String>? = nil, deferring: Bool = false
    ) -> MetricSnapshot {
        SnapshotBuilder.snapshot(
            registry: registry, shards: shards, now: now, includeCreated: includeCreated,
            includeExemplars: includeExemplars, includeNative: includeNative, families: families, deferring: deferring)
    }

    @discardableResult
    public func expireIdleSeries(idleSeconds: Double) -> Int {
        registry.expireIdleSeries(shards: shards, idleSeconds: idleSeconds)
    }

    /// A pipeline for `schema` that continues this one: every series whose family exists in both
    /// with the same type, unit and labels keeps its values and creation time, so no counter that
    /// still exists is reset; histogram buckets whose bounds moved go to the bucket that holds
    /// them (``BucketLayout/bucketMapping(from:)``). Input statistics carry over too. This pipeline's
    /// shards are retired: a reader that still holds one finds it retired and moves to the new
    /// shard with the same index. All shards are locked while values move, so no count is lost.
    public func migrate(to schema: MetricsSchema) -> Pipeline {
        let next = Pipeline(schema: schema, shards: shards.count, enrichment: registry.enrichment)
        let oldSchema = registry.schema
        _ = Shard.withAllLocked(shards) { old in
            _ = registry.state.withLock { oldState in
                Shard.withAllLocked(next.shards) { new in
                    for shard in old.indices {
                        for (input, statistics) in old[shard].inputs.enumerated() {
                            _ = new[shard].addInput(labels: old[shard].inputLabels[input])
                            new[shard].inputs[input] = statistics
                        }
                        old[shard].isRetired = true
                    }
                    for (oldFamily, definition) in oldSchema.families.enumerated() {
                        guard let newFamily = schema.families.firstIndex(where: { Self.compatible($0, definition) })
                        else {
                            continue
                        }
                        // Bounds may have moved (buckets edited, a slow threshold changed): each
                        // old bucket goes to the new one that holds its upper bound.
                        let mapping = schema.families[newFamily].buckets.map { new in
                            new.bucketMapping(from: definition.buckets?.upperBounds ?? [])
                        }
                        let series = oldState.families[oldFamily]
                        for id in series.live.indices where series.live[id] {
                            let oldDimensions = oldSchema.familyDimensions[oldFamily]
                            var key = SeriesKey(count: series.width)
                            for k in 0..<series.width {
                                let value = oldState.dimensions[oldDimensions[k]].values.values[
                                    Int(series.keyIDs[id * series.width + k])]
                                key.ids[k] = next.registry.intern(
                                    dimension: schema.familyDimensions[newFamily][k], value: value)
                            }
                            let newID = Int(
                                next.registry.series(
                                    family: newFamily, key: key, hash: key.hashValue64, now: series.created[id]))
                            for shard in old.indices {
                                let source = old[shard].stores[oldFamily]
                                let target = new[shard].stores[newFamily]
                                target.absorb(source, id, into: newID, mapping: mapping)
                                if target.hasSums, definition.native != nil, schema.families[newFamily].native != nil,
                                    id < source.natives.count, let native = source.natives[id]
                                {
                                    if newID >= target.natives.count {
                                        target.natives += Array(repeating: nil, count: newID + 1 - target.natives.count)
                                    }
                                    target.natives[newID] = target.natives[newID].map { $0.merging(native) } ?? native
                                }
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

    /// Whether a family of a new configuration can take over the series of an old one. Bucket
    /// bounds may differ (see ``BucketLayout/bucketMapping(from:)``); the unit of the sums may not.
    static func compatible(_ a: FamilyDefinition, _ b: FamilyDefinition) -> Bool {
        a.name == b.name && a.type == b.type && a.unit == b.unit && a.observation == b.observation
            && a.labels.map(\.name) == b.labels.map(\.name) && (a.buckets == nil) == (b.buckets == nil)
            && a.observationsPerUnit == b.observationsPerUnit
    }
}
