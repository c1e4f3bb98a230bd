import Exposition
import Histograms

/// The values of one family of a deferred snapshot (``SnapshotBuilder/snapshot(registry:shards:now:includeCreated:includeExemplars:includeNative:families:deferring:)``),
/// read from the shards a piece of series at a time, as each is written.
///
/// The series are those of the snapshot's moment: their label sets and identifiers were read
/// then. A piece reads their counts when it is asked for, so counts of different pieces are a
/// few milliseconds apart, as a client library's metrics are; each series is whole and none
/// goes backwards. A series that expired since (its identifier perhaps given to another, whose
/// creation time then differs) is left out rather than shown with another's counts.
final class SnapshotPieces: FamilyPieces {
    let registry: Registry
    let shards: [Shard]
    let family: Int
    let definition: FamilyDefinition
    /// Values per series: buckets plus one for histograms, 1 otherwise.
    let width: Int
    let bounds: BucketBounds?
    /// The label sets of the snapshot's series, in order.
    let labels: SeriesLabels
    /// Snapshot position -> series identifier, when they differ.
    let identifiers: [Int]?
    /// By identifier, the creation time each series had at the snapshot.
    let created: [Double]
    let includeCreated: Bool
    let includeExemplars: Bool

    init(
        registry: Registry, shards: [Shard], family: Int, width: Int, bounds: BucketBounds?, labels: SeriesLabels,
        identifiers: [Int]?, created: [Double], includeCreated: Bool, includeExemplars: Bool
    ) {
        self.registry = registry
        self.shards = shards
        self.family = family
        self.definition = registry.schema.families[family]
        self.width = width
        self.bounds = bounds
        self.labels = labels
        self.identifiers = identifiers
        self.created = created
        self.includeCreated = includeCreated
        self.includeExemplars = includeExemplars && definition.exemplars
    }

    func piece(_ range: Range<Int>) -> MetricFamilySnapshot {
        let range = range.clamped(to: 0..<labels.count)
        let ids = range.map { identifiers?[$0] ?? $0 }
        // The positions in `range` whose series are still the snapshot's.
        var kept: [Int] = []
        kept.reserveCapacity(ids.count)
        registry.state.withLock { state in
            let series = state.families[family]
            for (k, id) in ids.enumerated()
            where id < series.created.count && series.live[id] && series.created[id] == created[id] {
                kept.append(k)
            }
        }
        var counts = [UInt64](repeating: 0, count: kept.count * width)
        var sums = [Int64](repeating: 0, count: definition.type == .histogram ? kept.count : 0)
        var exemplars =
            includeExemplars
            ? ExemplarGathering(slotCount: kept.count * width, perUnit: Double(definition.observationsPerUnit)) : nil
        for shard in shards {
            shard.withRecorder { state in
                let store = state.stores[family]
                for (position, k) in kept.enumerated() {
                    let id = ids[k]
                    guard id < store.capacity else { continue }
                    for b in 0..<width { counts[position * width + b] &+= store.counts[id * width + b] }
                    if store.hasSums && !sums.isEmpty {
                        sums[position] = sums[position].addingSaturated(store.sums[id])
                    }
                    if exemplars != nil {
                        let base = id * width
                        store.exemplars.forEachExemplar(inSlots: base..<(base + width)) { slot, cell, bytes in
                            exemplars!.add(slot: position * width + slot - base, cell, id: bytes)
                        }
                    }
                }
            }
        }
        let values: FamilyValues
        if let bounds {
            values = .histograms(
                HistogramColumns(
                    bounds: bounds, bucketCounts: counts, scaledSums: sums, sumExponent: definition.sumExponent))
        } else {
            values = .integers(counts)
        }
        return MetricFamilySnapshot(
            name: definition.name, help: definition.help, type: definition.type, unit: definition.unit,
            labels: labels.selecting(kept.map { range.lowerBound + $0 }), values: values,
            created: includeCreated ? kept.map { created[ids[$0]] } : nil, exemplars: exemplars?.column())
    }
}
