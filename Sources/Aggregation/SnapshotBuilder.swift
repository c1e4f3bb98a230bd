import AccessLogParser
import Exposition
import Histograms
import Synchronization

/// Builds the snapshot a scrape renders, from the registry and every shard.
///
/// Series identifiers are shared, so merging shards is adding arrays index by index. The registry
/// is read first; a series a reader creates after that shows up in the next scrape, so every
/// series in a snapshot has all its shards' values and no counter can go backwards between
/// scrapes.
public enum SnapshotBuilder {
    /// - Parameter includeCreated: attach each series' creation time (OpenMetrics `_created`,
    ///   protobuf `created_timestamp`). Off by default: Prometheus before 2.55 stores every
    ///   `_created` line as a series of its own, half again as many series for nothing.
    /// - Parameter includeExemplars: attach the families' latest exemplars, for the formats that
    ///   carry them (OpenMetrics and protobuf); the text format would only drop them.
    /// - Parameter includeNative: attach native histograms, which only protobuf carries; merging
    ///   and encoding them is most of a text scrape's cost otherwise.
    /// - Parameter families: the names of the configured families to include (nil: all); a
    ///   reader of a few families (the status page's route table) copies no others' values.
    /// - Parameter deferring: give the configured families ``DeferredValues`` rather than values,
    ///   for a writer that renders them piece by piece (a scrape in the text formats); no
    ///   native histograms then.
    public static func snapshot(
        registry: Registry, shards: [Shard], now: Double? = nil, includeCreated: Bool = false,
        includeExemplars: Bool = false, includeNative: Bool = true, families included: Set<String>? = nil,
        deferring: Bool = false
    ) -> MetricSnapshot {
        let schema = registry.schema
        let wanted = schema.families.map { included?.contains($0.name) ?? true }
        // Families whose values are copied here, rather than by their pieces.
        let gathered = wanted.map { $0 && !deferring }
        let includeNative = includeNative && !deferring
        struct FamilyMeta {
            var labels: InternedLabels
            var created: [Double]
            var refused: UInt64
            /// Nil when every identifier is a live series (the usual case: nothing to filter).
            var live: [Bool]?
            var liveCount: Int
            var expired: UInt64
        }
        var metas: [FamilyMeta] = []
        var dimensionRefused: [UInt64] = []
        registry.state.withLock { state in
            for (family, series) in state.families.enumerated() {
                // Copies of the arrays, which share their storage until the registry next adds
                // to them.
                let labels = InternedLabels(
                    names: series.labelNames,
                    tables: schema.familyDimensions[family].map { state.dimensions[$0].values },
                    ids: series.keyIDs, count: series.created.count)
                metas.append(
                    FamilyMeta(
                        labels: labels, created: series.created, refused: series.refused,
                        live: series.liveCount == series.created.count ? nil : series.live,
                        liveCount: series.liveCount, expired: series.expired))
            }
            dimensionRefused = state.dimensions.map(\.refused)
        }
        var counts: [[UInt64]] = []
        var sums: [[Int64]] = []
        for (family, definition) in schema.families.enumerated() {
            let width = schema.observationBuckets[family].map { $0.count + 1 } ?? 1
            let series = gathered[family] ? metas[family].labels.count : 0
            counts.append(Array(repeating: 0, count: series * width))
            sums.append(definition.type == .histogram ? Array(repeating: 0, count: series) : [])
        }
        var natives: [[NativeHistogram?]] = schema.families.enumerated().map { family, definition in
            definition.native == nil || !includeNative || !gathered[family]
                ? [] : Array(repeating: nil, count: metas[family].labels.count)
        }
        var exemplars: [ExemplarGathering?] = schema.families.enumerated().map { family, definition in
            guard includeExemplars, definition.exemplars, gathered[family] else { return nil }
            let width = schema.observationBuckets[family].map { $0.count + 1 } ?? 1
            return ExemplarGathering(
                slotCount: metas[family].labels.count * width, perUnit: Double(definition.observationsPerUnit))
        }
        var lines = LineCounts()
        var bytes: UInt64 = 0
        var invalidNumbers: UInt64 = 0
        for shard in shards {
            shard.withRecorder { state in
                for family in schema.families.indices where gathered[family] {
                    let store = state.stores[family]
                    let seriesCount = min(store.capacity, metas[family].labels.count)
                    counts[family].withUnsafeMutableBufferPointer { target in
                        for k in 0..<(seriesCount * store.width) { target[k] &+= store.counts[k] }
                    }
                    if store.hasSums {
                        sums[family].withUnsafeMutableBufferPointer { target in
                            for k in 0..<seriesCount {
                                target[k] = target[k].addingSaturated(store.sums[k])
                            }
                        }
                    }
                    if exemplars[family] != nil {
                        // Once, for every shard: each about as many as the first.
                        if exemplars[family]!.isEmpty {
                            exemplars[family]!.reserve(store.exemplars.cellCount * shards.count)
                        }
                        store.exemplars.forEachExemplar { index, slot, id in
                            exemplars[family]!.add(slot: index, slot, id: id)
                        }
                    }
                    if !natives[family].isEmpty {
                        for (id, native) in store.natives.enumerated() where id < natives[family].count {
                            guard let native else { continue }
                            natives[family][id] = natives[family][id].map { $0.merging(native) } ?? native
                        }
                    }
                }
                for input in state.inputs {
                    lines.add(input.lines)
                    bytes &+= input.bytes
                    invalidNumbers &+= input.invalidNumbers
                }
            }
        }
        var families: [MetricFamilySnapshot] = []
        for (family, definition) in schema.families.enumerated() where wanted[family] {
            let meta = metas[family]
            let width = schema.observationBuckets[family].map { $0.count + 1 } ?? 1
            var labels = SeriesLabels(meta.labels)
            var created = meta.created
            if deferring {
                let kept = meta.live.map { live in live.indices.filter { live[$0] } }
                if let kept { labels = labels.selecting(kept) }
                let bucketBounds = definition.buckets.map { Self.bounds(for: $0.upperBounds) }
                let pieces = SnapshotPieces(
                    registry: registry, shards: shards, family: family, width: width, bounds: bucketBounds,
                    labels: labels, identifiers: kept, created: meta.created, includeCreated: includeCreated,
                    includeExemplars: includeExemplars)
                // Empty values of the pieces' kind, for the writers' type.
                var none = FamilyValues.integers([])
                if let bucketBounds {
                    none = .histograms(
                        HistogramColumns(
                            bounds: bucketBounds, bucketCounts: [], scaledSums: [], sumExponent: definition.sumExponent)
                    )
                }
                var outline = MetricFamilySnapshot(
                    name: definition.name, help: definition.help, type: definition.type, unit: definition.unit,
                    labels: labels, values: none)
                outline.deferred = DeferredValues(seriesCount: labels.count, pieces: pieces)
                families.append(outline)
                continue
            }
            if let live = meta.live {
                // Leave out the identifiers of expired series.
                let kept = live.indices.filter { live[$0] }
                labels = labels.selecting(kept)
                created = kept.map { meta.created[$0] }
                counts[family] = kept.flatMap { counts[family][($0 * width)..<(($0 + 1) * width)] }
                if !sums[family].isEmpty { sums[family] = kept.map { sums[family][$0] } }
                if !natives[family].isEmpty { natives[family] = kept.map { natives[family][$0] } }
                if var gathering = exemplars[family] {
                    gathering.keep(series: kept, width: width)
                    exemplars[family] = gathering
                }
            }
            let values: FamilyValues
            if let layout = definition.buckets {
                values = .histograms(
                    HistogramColumns(
                        bounds: bounds(for: layout.upperBounds), bucketCounts: counts[family], scaledSums: sums[family],
                        sumExponent: definition.sumExponent,
                        native: natives[family].isEmpty
                            ? nil
                            : natives[family].map { native in
                                // A series with no observation still sends an empty native histogram.
                                NativeHistogramSnapshot(
                                    (native ?? NativeHistogram(settings: definition.native!)).encoded())
                            }))
            } else {
                values = .integers(counts[family])
            }
            families.append(
                MetricFamilySnapshot(
                    name: definition.name, help: definition.help, type: definition.type, unit: definition.unit,
                    labels: labels, values: values, created: includeCreated ? created : nil,
                    exemplars: exemplars[family]?.column()))
        }
        families += selfMetrics(
            schema: schema, metas: metas.map { ($0.liveCount, $0.refused, $0.expired) },
            dimensionRefused: dimensionRefused,
            lines: lines, bytes: bytes, invalidNumbers: invalidNumbers)
        return MetricSnapshot(families: families, timestamp: now ?? wallClockSeconds())
    }

    /// Rendered `le` values are cached per distinct list of bounds.
    private static func bounds(for values: [Double]) -> BucketBounds {
        boundsCache.withLock { cache in
            if let cached = cache[values] { return cached }
            let made = BucketBounds(values)
            cache[values] = made
            return made
        }
    }

    private static let boundsCache = Mutex<[[Double]: BucketBounds]>([:])

    static func selfMetrics(
        schema: MetricsSchema, metas: [(series: Int, refused: UInt64, expired: UInt64)], dimensionRefused: [UInt64],
        lines: LineCounts,
        bytes: UInt64, invalidNumbers: UInt64
    ) -> [MetricFamilySnapshot] {
        var lineLabels: [LabelSet] = [LabelSet(names: ["result"], values: ["parsed"])]
        var lineValues: [UInt64] = [lines.parsed]
        for reason in SkipReason.allCases {
            lineLabels.append(LabelSet(names: ["result", "reason"], values: ["skipped", reason.description]))
            lineValues.append(lines[skipped: reason])
        }
        for reason in MalformedReason.allCases {
            lineLabels.append(LabelSet(names: ["result", "reason"], values: ["malformed", reason.description]))
            lineValues.append(lines[malformed: reason])
        }
        lineLabels.append(LabelSet(names: ["result"], values: ["oversized"]))
        lineValues.append(lines.oversized)

        let familyLabels = schema.families.map { LabelSet(names: ["family"], values: [$0.name]) }
        var dimensionLabels: [LabelSet] = []
        var dimensionValues: [UInt64] = []
        for (dim, refused) in dimensionRefused.enumerated() {
            let name =
                schema.families.indices.lazy.compactMap { family in
                    schema.familyDimensions[family].firstIndex(of: dim).map { schema.families[family].labels[$0].name }
                }.first ?? "dimension_\(dim)"
            guard !dimensionLabels.contains(where: { $0.values == [name] }) else { continue }
            dimensionLabels.append(LabelSet(names: ["label"], values: [name]))
            dimensionValues.append(refused)
        }
        return [
            MetricFamilySnapshot(
                name: "logmetrics_lines", help: "Log lines read, by outcome: parsed, skipped, malformed or oversized.",
                type: .counter, labels: lineLabels, values: .integers(lineValues)),
            MetricFamilySnapshot(
                name: "logmetrics_read_bytes", help: "Bytes of log input read.", type: .counter, labels: [.empty],
                values: .integers([bytes])),
            MetricFamilySnapshot(
                name: "logmetrics_invalid_number_records",
                help: "Records counted with a numeric field that held no usable integer (treated as absent).",
                type: .counter, labels: [.empty], values: .integers([invalidNumbers])),
            MetricFamilySnapshot(
                name: "logmetrics_series", help: "Series per metric family.", type: .gauge, labels: familyLabels,
                values: .integers(metas.map { UInt64($0.series) })),
            MetricFamilySnapshot(
                name: "logmetrics_series_dropped",
                help: "New series refused because their family was at its series cap; counted in __overflow__ instead.",
                type: .counter, labels: familyLabels, values: .integers(metas.map(\.refused))),
            MetricFamilySnapshot(
                name: "logmetrics_series_expired",
                help: "Series dropped after going without an update for the idle expiry time.",
                type: .counter, labels: familyLabels, values: .integers(metas.map(\.expired))),
            MetricFamilySnapshot(
                name: "logmetrics_label_values_dropped",
                help:
                    "New label values refused because the label was at its value cap; counted as __overflow__ instead.",
                type: .counter, labels: dimensionLabels, values: .integers(dimensionValues)),
        ]
    }
}
