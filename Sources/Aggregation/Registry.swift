import AccessLogParser
import Exposition
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The label values and series every reader shares, and the caps that bound them.
///
/// A series is its label values' identifiers (``FamilySeries/keyIDs``); each value's text, and
/// its escaped text for the writers, is kept once in its dimension. A snapshot's labels refer to
/// both (``InternedLabels``).
///
/// Readers count into their own ``Shard`` and come here only the first time they meet a label
/// value or a series: the registry hands out the identifier every shard then uses for it, so
/// that a scrape can add shards up index by index.
public final class Registry: Sendable {
    public let schema: MetricsSchema
    /// Where `.destinationPod`, `.destinationServiceLabel` and `.sourcePod` labels are looked
    /// up; without one they are `unknown`.
    public let enrichment: (any MetadataLookup)?
    let state: Mutex<State>

    /// Label value identifier 0 in every dimension.
    public static let overflowValue = "__overflow__"
    /// The value of a label whose field is absent from the record.
    public static let unknownValue = "unknown"

    // @unchecked Sendable: only touched inside `state`'s lock.
    final class Dimension: @unchecked Sendable {
        let index = ByteTable()
        private let hashSeed = UInt64.random(in: .min ... .max)
        /// The values by identifier, with their escaped text: what every series' labels refer to.
        var values = LabelValueTable()
        let cap: Int
        /// New values refused because the dimension was at its cap.
        var refused: UInt64 = 0

        init(cap: Int) {
            self.cap = cap
        }

        /// The identifier of a value, already canonical and valid UTF-8.
        func intern(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt32 {
            let hash = hashBytes(bytes.baseAddress, bytes.count, seed: hashSeed)
            if let id = index.find(bytes, hash: hash) { return id }
            // values[0] is the overflow value, which does not count towards the cap.
            guard values.count - 1 < cap else {
                refused &+= 1
                return 0
            }
            let id = values.append(String(decoding: bytes, as: UTF8.self))
            index.insert(bytes, hash: hash, value: id)
            return id
        }

        func intern(_ value: String) -> UInt32 {
            var copy = value
            return copy.withUTF8 { intern($0) }
        }
    }

    // @unchecked Sendable: only touched inside `state`'s lock.
    final class FamilySeries: @unchecked Sendable {
        var table: SeriesKeyTable
        /// Per identifier, when it was created; also how many identifiers there are.
        var created: [Double] = []
        /// The key of each identifier, `width` interned values apiece: flat, since a `SeriesKey`
        /// has room for 32 and a family's keys are a few values wide.
        var keyIDs: [UInt32] = []
        let width: Int
        /// The family's label names.
        let labelNames: [String]
        /// Whether each identifier is a series; expired ones are free for reuse.
        var live: [Bool] = []
        var free: [UInt32] = []
        var liveCount = 0
        var expired: UInt64 = 0
        let cap: Int
        /// Series refused because the family was at its cap.
        var refused: UInt64 = 0

        init(width: Int, cap: Int, labelNames: [String]) {
            self.table = SeriesKeyTable(width: width)
            self.width = width
            self.cap = cap
            self.labelNames = labelNames
        }

        func key(_ id: Int) -> SeriesKey {
            var key = SeriesKey(count: width)
            for k in 0..<width { key.ids[k] = keyIDs[id * width + k] }
            return key
        }

        func setKey(_ id: Int, _ key: SeriesKey) {
            if keyIDs.count < (id + 1) * width { keyIDs += repeatElement(0, count: (id + 1) * width - keyIDs.count) }
            let ids = key.ids.span
            for k in 0..<width { keyIDs[id * width + k] = ids[k] }
        }
    }

    struct State: ~Copyable {
        var dimensions: [Dimension]
        var families: [FamilySeries]
    }

    /// Monotonic seconds at creation; ``clock()`` counts from here.
    private let origin: Double
    private let monotonic: @Sendable () -> Double

    /// - Parameters:
    ///   - enrichment: answers the labels that come from outside the log.
    ///   - monotonic: the clock idle expiry uses; tests inject their own.
    public init(
        schema: MetricsSchema, enrichment: (any MetadataLookup)? = nil,
        monotonic: @escaping @Sendable () -> Double = monotonicSeconds
    ) {
        self.schema = schema
        self.enrichment = enrichment
        self.monotonic = monotonic
        self.origin = monotonic()
        var dimensions: [Dimension] = []
        for (index, source) in schema.dimensions.enumerated() {
            let dimension = Dimension(cap: schema.dimensionCaps[index])
            _ = dimension.intern(Self.overflowValue)
            switch source {
            case .errorType:
                for value in ["none", "client_error", "server_error"] { _ = dimension.intern(value) }
            case .slowRequest:
                for value in ["false", "true"] { _ = dimension.intern(value) }
            case .requestProtocol:
                for value in ["http", "grpc", "tcp"] { _ = dimension.intern(value) }
            case .reporter:
                for value in ["source", "destination", "waypoint"] { _ = dimension.intern(value) }
            case .constant(let value):
                _ = dimension.intern(value)
            default:
                break
            }
            dimensions.append(dimension)
        }
        let families = schema.families.indices.map {
            FamilySeries(
                width: schema.familyDimensions[$0].count, cap: schema.limits.maxSeriesPerFamily,
                labelNames: schema.families[$0].labels.map(\.name))
        }
        state = Mutex(State(dimensions: dimensions, families: families))
    }

    /// The identifier of a label value in dimension `dimension`: `raw` (JSON escapes already
    /// decoded) after canonicalisation (response flags) and UTF-8 repair. `0` (`__overflow__`)
    /// once the dimension is full.
    func intern(dimension: Int, raw: UnsafeBufferPointer<UInt8>) -> UInt32 {
        let value = canonicalValue(dimension: dimension, raw: raw)
        return state.withLock { $0.dimensions[dimension].intern(value) }
    }

    func intern(dimension: Int, value: String) -> UInt32 {
        state.withLock { $0.dimensions[dimension].intern(value) }
    }

    /// The text of a label value.
    func value(dimension: Int, id: UInt32) -> String {
        state.withLock { $0.dimensions[dimension].values.values[Int(id)] }
    }

    private func canonicalValue(dimension: Int, raw: UnsafeBufferPointer<UInt8>) -> String {
        let text = Escaping.sanitizedString(raw)
        switch schema.dimensions[dimension] {
        case .responseFlags: return ResponseFlags.canonical(text)
        default: return text
        }
    }

    /// The identifier of the series `key` in family `family`, creating it if the family has room;
    /// otherwise the family's overflow series for the key's constant labels.
    func series(family: Int, key: SeriesKey, hash: UInt64, now: Double) -> UInt32 {
        state.withLock { state in
            let series = state.families[family]
            if let id = series.table.find(key, hash: hash) { return id }
            var key = key
            var hash = hash
            if series.liveCount >= series.cap {
                series.refused &+= 1
                key = overflowKey(family: family, key)
                hash = key.hashValue64
                if let id = series.table.find(key, hash: hash) { return id }
            }
            let id: UInt32
            if let reused = series.free.popLast() {
                id = reused
                series.created[Int(id)] = now
                series.setKey(Int(id), key)
                series.live[Int(id)] = true
            } else {
                id = UInt32(series.created.count)
                series.created.append(now)
                series.setKey(Int(id), key)
                series.live.append(true)
            }
            series.liveCount += 1
            series.table.insert(key, hash: hash, value: id)
            return id
        }
    }

    /// The key with every label that depends on the record replaced by `__overflow__`; labels of
    /// the configuration or of the input keep their values, so overflow stays per input.
    private func overflowKey(family: Int, _ key: SeriesKey) -> SeriesKey {
        var result = key
        for (k, dim) in schema.familyDimensions[family].enumerated() {
            switch schema.dimensions[dim] {
            case .constant, .input: break
            default: result.ids[k] = 0
            }
        }
        return result
    }
}

extension Registry {
    /// Whole seconds since the registry was created, on a monotonic clock: when series were last
    /// updated, for idle expiry.
    public func clock() -> UInt32 {
        UInt32(clamping: Int(monotonic() - origin))
    }

    /// Drops series that no shard has updated for `idleSeconds`, so that label churn (pods, paths)
    /// does not keep memory and output growing. Every shard is locked while it runs, so no update
    /// can slip in between the decision and the drop. Returns how many series were dropped.
    @discardableResult
    public func expireIdleSeries(shards: [Shard], idleSeconds: Double) -> Int {
        let now = clock()
        guard Double(now) > idleSeconds else { return 0 }
        let cutoff = now - UInt32(idleSeconds)
        return Shard.withAllLocked(shards) { states in
            state.withLock { state in
                var total = 0
                for family in state.families.indices {
                    let series = state.families[family]
                    var expired: [Int] = []
                    for id in series.live.indices where series.live[id] {
                        var last: UInt32 = 0
                        for shard in states.indices where id < states[shard].stores[family].capacity {
                            last = max(last, states[shard].stores[family].lastUpdated[id])
                        }
                        if last < cutoff { expired.append(id) }
                    }
                    guard !expired.isEmpty else { continue }
                    for id in expired {
                        series.live[id] = false
                        series.free.append(UInt32(id))
                    }
                    series.liveCount -= expired.count
                    series.expired &+= UInt64(expired.count)
                    // Rebuild the key table from the live series: simpler than deleting entries
                    // from an open-addressing table, and expiry is rare.
                    let table = SeriesKeyTable(width: series.table.width, capacity: max(series.liveCount, 16))
                    for id in series.live.indices where series.live[id] {
                        let key = series.key(id)
                        table.insert(key, hash: key.hashValue64, value: UInt32(id))
                    }
                    series.table = table
                    for shard in states.indices { states[shard].forget(family: family, ids: expired) }
                    total += expired.count
                }
                return total
            }
        }
    }
}

/// Seconds on a monotonic clock.
public func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

/// Seconds since the Unix epoch.
func wallClockSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}
