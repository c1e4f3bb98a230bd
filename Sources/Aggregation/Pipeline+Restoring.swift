import AccessLogParser
import Exposition
import Histograms

// MARK: - Restoring what an earlier run counted

extension Pipeline {
    /// What ``restore(_:)`` carried over.
    public struct RestoreSummary: Sendable, Equatable {
        /// Series whose values were added.
        public var series = 0
        /// Families of the saved snapshot that this configuration has no compatible family for
        /// (renamed, other labels); their values are not carried over.
        public var skippedFamilies: [String] = []

        public init() {}
    }

    /// Adds the values of `saved`, a snapshot an earlier run took of its pipeline with created
    /// times and native histograms, to this pipeline's first shard, so that every counter goes on
    /// from where it was.
    ///
    /// A family is carried over when this configuration has one of the same name, type, unit and
    /// label names, and for a histogram the same unit of sums; buckets whose bounds moved are
    /// carried into the buckets that hold them (``BucketLayout/bucketMapping(from:)``). Series
    /// keep their label values and creation times, and are subject to this configuration's caps
    /// like new ones. The line, byte and dropped-series self
    /// counters are carried over too. Call before any reader starts.
    @discardableResult
    public func restore(_ saved: MetricSnapshot) -> RestoreSummary {
        var summary = RestoreSummary()
        let shard = shards[0]
        var restoredInput = InputStatistics()
        for family in saved.families {
            if restoreSelfCounter(family, into: &restoredInput) { continue }
            guard let index = schema.families.firstIndex(where: { $0.name == family.name }),
                Self.matches(schema.families[index], family)
            else {
                summary.skippedFamilies.append(family.name)
                continue
            }
            summary.series += restore(family, into: index, shard: shard)
        }
        shard.withRecorder { state in
            let input = state.addInput(labels: [:])
            state.inputs[input] = restoredInput
        }
        return summary
    }

    /// Whether a saved family can be added into `definition`'s series.
    static func matches(_ definition: FamilyDefinition, _ family: MetricFamilySnapshot) -> Bool {
        let names = definition.labels.map(\.name)
        // Series with other names (a hand-edited file) are left out one by one when restoring.
        guard definition.type == family.type, definition.unit == family.unit,
            family.labels.isEmpty || family.labels.indices.contains(where: { family.labels.names($0) == names })
        else { return false }
        switch family.values {
        case .integers:
            return definition.buckets == nil
        case .histograms(let columns):
            // Other bounds are carried over (``BucketLayout/bucketMapping(from:)``); sums in
            // another unit could not be.
            return definition.buckets != nil && definition.sumExponent == columns.sumExponent
        default:
            return false
        }
    }

    private func restore(_ family: MetricFamilySnapshot, into index: Int, shard: Shard) -> Int {
        let definition = schema.families[index]
        let dims = schema.familyDimensions[index]
        var ids: [Int] = []
        ids.reserveCapacity(family.labels.count)
        let names = definition.labels.map(\.name)
        var kept: [Int] = []
        for k in family.labels.indices where family.labels.names(k) == names {
            kept.append(k)
            var key = SeriesKey(count: dims.count)
            for (position, value) in family.labels.values(k).enumerated() {
                key.ids[position] = registry.intern(dimension: dims[position], value: value)
            }
            let created = family.created?[k] ?? wallClockSeconds()
            ids.append(Int(registry.series(family: index, key: key, hash: key.hashValue64, now: created)))
        }
        shard.withRecorder { state in
            let store = state.stores[index]
            let now = state.now
            switch family.values {
            case .integers(let values):
                for (position, id) in ids.enumerated() {
                    let k = kept[position]
                    store.reserve(id)
                    store.counts[id] &+= values[k]
                    store.lastUpdated[id] = now
                }
            case .histograms(let columns):
                let width = store.width
                let savedWidth = columns.bounds.values.count + 1
                let mapping = definition.buckets?.bucketMapping(from: columns.bounds.values) ?? []
                guard mapping.count == savedWidth, mapping.allSatisfy({ $0 < width }),
                    columns.bucketCounts.count >= family.labels.count * savedWidth
                else { break }
                for (position, id) in ids.enumerated() {
                    let k = kept[position]
                    store.reserve(id)
                    for b in 0..<savedWidth {
                        store.counts[id * width + mapping[b]] &+= columns.bucketCounts[k * savedWidth + b]
                    }
                    store.sums[id] = store.sums[id].addingSaturated(columns.scaledSums[k])
                    store.lastUpdated[id] = now
                    if let settings = definition.native, let encoded = columns.native?[k]?.encoded,
                        let native = Self.nativeHistogram(encoded, maxBuckets: settings.maxBuckets)
                    {
                        if id >= store.natives.count {
                            store.natives += Array(repeating: nil, count: id + 16 - store.natives.count)
                        }
                        store.natives[id] = store.natives[id].map { $0.merging(native) } ?? native
                    }
                }
            default:
                break
            }
        }
        return ids.count
    }

    static func nativeHistogram(_ encoded: EncodedNativeHistogram, maxBuckets: Int) -> NativeHistogram? {
        // Encoding bridges short gaps with zero-count buckets; a histogram never holds those.
        NativeHistogram(
            schema: Int(encoded.schema), zeroThreshold: encoded.zeroThreshold, maxBuckets: maxBuckets,
            zeroCount: encoded.zeroCount, count: encoded.count, sum: encoded.sum,
            positiveBuckets: encoded.positive.decoded().filter { $0.count > 0 },
            negativeBuckets: encoded.negative.decoded().filter { $0.count > 0 })
    }

    /// Carries over one of the self counters ``SnapshotBuilder`` adds; false for other families.
    private func restoreSelfCounter(_ family: MetricFamilySnapshot, into input: inout InputStatistics) -> Bool {
        guard case .integers(let values) = family.values else { return false }
        func label(_ k: Int, _ name: String) -> String? {
            family.labels.value(named: name, k)
        }
        switch family.name {
        case "logmetrics_lines":
            for k in family.labels.indices {
                let value = values[k]
                switch (label(k, "result"), label(k, "reason")) {
                case ("parsed", _): input.lines.parsed &+= value
                case ("oversized", _): input.lines.oversized &+= value
                case ("skipped", let reason?):
                    if let r = SkipReason.allCases.first(where: { $0.description == reason }) {
                        input.lines.skipped[Int(r.rawValue)] &+= value
                    }
                case ("malformed", let reason?):
                    if let r = MalformedReason.allCases.first(where: { $0.description == reason }) {
                        input.lines.malformed[Int(r.rawValue)] &+= value
                    }
                default: break
                }
            }
        case "logmetrics_read_bytes":
            input.bytes &+= values.first ?? 0
        case "logmetrics_invalid_number_records":
            input.invalidNumbers &+= values.first ?? 0
        case "logmetrics_series_dropped", "logmetrics_series_expired":
            let expired = family.name == "logmetrics_series_expired"
            registry.state.withLock { state in
                for k in family.labels.indices {
                    guard let name = label(k, "family"),
                        let index = schema.families.firstIndex(where: { $0.name == name })
                    else { continue }
                    if expired {
                        state.families[index].expired &+= values[k]
                    } else {
                        state.families[index].refused &+= values[k]
                    }
                }
            }
        case "logmetrics_label_values_dropped":
            registry.state.withLock { state in
                for k in family.labels.indices {
                    guard let name = label(k, "label"), let dim = dimension(named: name) else { continue }
                    state.dimensions[dim].refused &+= values[k]
                }
            }
        case "logmetrics_series":
            // A gauge of what exists now, not a count to carry over.
            break
        default:
            return false
        }
        return true
    }

    /// The dimension the first family with a label of this name uses for it.
    private func dimension(named name: String) -> Int? {
        for (family, definition) in schema.families.enumerated() {
            if let position = definition.labels.firstIndex(where: { $0.name == name }) {
                return schema.familyDimensions[family][position]
            }
        }
        return nil
    }
}
