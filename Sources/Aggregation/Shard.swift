import AccessLogParser
import Histograms
import Synchronization

/// What one reader counts: its own values for every series, behind a lock that only its reader
/// and scrapes take.
///
/// A reader takes the lock once per chunk of input (thousands of lines), not per line; a scrape
/// takes it long enough to add the shard's values to the snapshot. Everything a shard learns
/// from the registry (label value and series identifiers) is cached here, so the per-line path
/// takes no other lock once a stream's label values have been seen.
public final class Shard: Sendable {
    let state: Mutex<ShardState>
    public let registry: Registry

    public init(registry: Registry) {
        self.registry = registry
        self.state = Mutex(ShardState(registry: registry))
    }

    /// Runs `body` with the shard locked: the reader feeds its decoder into the recorder there.
    public func withRecorder<R>(_ body: (inout ShardState) throws -> R) rethrows -> R {
        try state.withLock { try body(&$0) }
    }

    /// Runs `body` with every shard locked, in order, with their states.
    static func withAllLocked<R: Sendable>(_ shards: [Shard], _ body: (inout [ShardState]) -> R) -> R {
        func lock(_ index: Int, _ states: inout [ShardState]) -> R {
            guard index < shards.count else { return body(&states) }
            return shards[index].state.withLock { state in
                states.append(state)
                defer { state = states[index] }
                return lock(index + 1, &states)
            }
        }
        var states: [ShardState] = []
        return lock(0, &states)
    }
}

/// Per-input bookkeeping kept with the values it produced.
public struct InputStatistics: Sendable, Equatable {
    public var lines = LineCounts()
    public var bytes: UInt64 = 0
    /// Numeric fields that held something other than a usable integer, per field name.
    public var invalidNumbers: UInt64 = 0

    public init() {}
}

/// A shard's values and caches. Also the sink its reader's decoders feed records into.
public struct ShardState: AccessRecordSink, Sendable {
    let registry: Registry
    let schema: MetricsSchema
    /// The input whose lines are being recorded; set by the reader before each chunk.
    public var currentInput = 0
    public internal(set) var inputs: [InputStatistics] = []
    /// Per input, the identifier of each `.input` dimension's value.
    var inputDimensionValues: [[UInt32]] = []

    /// Per dimension, raw bytes -> value identifier, for dimensions whose value comes from bytes.
    let valueCaches: [ByteTable?]
    /// Response code -> identifier, for codes 0...999.
    var codeCache: [UInt32]
    /// Per family, series key -> series identifier.
    let seriesCaches: [SeriesKeyTable]
    /// Response flags value identifier -> the identifiers of its individual flags.
    var flagParts: [UInt32: [UInt32]] = [:]
    let codeDimension: Int?
    let flagDimension: Int?
    let flagsDimension: Int?
    let routeDimension: Int?

    /// This shard's own compiled route rules (compiled regular expressions are not shared).
    let routeMatcher: RouteMatcher?
    /// Rule index -> route value identifier, filled on first use.
    var ruleRouteIDs: [UInt32]
    let ignoredRouteNames: [[UInt8]]
    /// Route value identifier -> slow-request threshold, filled on first use (-1: not yet).
    var routeThresholds: [Int64] = []
    /// Per dimension, the compiled pattern of a `.fieldPattern` source.
    let patterns: [LocalPattern?]
    var scratch: [UInt8] = []

    /// Per family: counter values by series (counters), or bucket counts flattened by series.
    var counts: [[UInt64]]
    /// Per family (histograms): sums of observations by series, in observation units.
    var sums: [[Int64]]
    /// Per family (histograms with native settings): the native histogram of each series.
    var natives: [[NativeHistogram?]]
    /// Per family, when each series was last updated by this shard (``Registry/clock`` seconds).
    var lastUpdated: [[UInt32]]
    /// The registry clock when the current chunk started; set by ``updateClock()``.
    var now: UInt32 = 0
    /// Set when a reload replaced this shard: its reader must move on to the new one.
    public internal(set) var isRetired = false

    init(registry: Registry) {
        self.registry = registry
        self.schema = registry.schema
        valueCaches = schema.dimensions.map { source in
            switch source {
            case .errorType, .slowRequest, .requestProtocol, .reporter, .constant, .input, .responseCode: nil
            default: ByteTable()
            }
        }
        codeCache = Array(repeating: .max, count: 1000)
        seriesCaches = schema.familyDimensions.map { SeriesKeyTable(width: $0.count) }
        codeDimension = schema.dimensions.firstIndex(of: .responseCode)
        flagDimension = schema.dimensions.firstIndex(of: .flag)
        flagsDimension = schema.dimensions.firstIndex(of: .responseFlags)
        routeDimension = schema.dimensions.firstIndex(of: .route)
        let classification = schema.classification
        // The schema validated the rules and patterns, so compiling them again cannot fail.
        routeMatcher = classification.rules.isEmpty ? nil : try? RouteMatcher(rules: classification.rules)
        ruleRouteIDs = Array(repeating: .max, count: classification.rules.count)
        ignoredRouteNames = classification.ignoredRouteNames.map { Array($0.utf8) }
        patterns = schema.dimensions.map { source in
            guard case .fieldPattern(_, let pattern) = source, let regex = try? Regex(pattern) else { return nil }
            return LocalPattern(regex)
        }
        counts = Array(repeating: [], count: schema.families.count)
        sums = Array(repeating: [], count: schema.families.count)
        lastUpdated = Array(repeating: [], count: schema.families.count)
        natives = Array(repeating: [], count: schema.families.count)
        now = registry.clock()
    }

    /// Registers an input and the values of its labels (`.input` label sources by name).
    /// Returns the index to set as ``currentInput`` while feeding its lines.
    public mutating func addInput(labels: [String: String]) -> Int {
        var values = Array(repeating: UInt32(0), count: schema.dimensions.count)
        for (dim, source) in schema.dimensions.enumerated() {
            if case .input(let name) = source {
                values[dim] = registry.intern(dimension: dim, value: labels[name] ?? Registry.unknownValue)
            }
        }
        inputDimensionValues.append(values)
        inputs.append(InputStatistics())
        return inputs.count - 1
    }

    /// Reads the registry's clock; call once per chunk, so that series updated in it count as seen.
    public mutating func updateClock() {
        now = registry.clock()
    }

    /// Records what a decoder did with the current input's lines since the last call.
    public mutating func updateInput(lines: LineCounts, bytes: UInt64) {
        inputs[currentInput].lines = lines
        inputs[currentInput].bytes = bytes
    }

    public mutating func consume(_ record: AccessRecord) {
        if !record.invalidNumbers.isEmpty { inputs[currentInput].invalidNumbers &+= 1 }
        var resolved = ResolvedDimensions()
        let tcp = Self.isTCP(record)
        for family in tcp ? schema.tcpFamilies : schema.httpFamilies {
            count(family: family, record, &resolved)
        }
    }

    /// Envoy's tcp_proxy writes no protocol and no method (both `-` or null).
    static func isTCP(_ record: AccessRecord) -> Bool {
        !record.has(.protocol) && !record.has(.method)
    }

    private mutating func count(family: Int, _ record: AccessRecord, _ resolved: inout ResolvedDimensions) {
        let definition = schema.families[family]
        let dims = schema.familyDimensions[family]
        var key = SeriesKey(count: dims.count)
        var flagPosition = -1
        for (k, dim) in dims.enumerated() {
            if dim == flagDimension {
                flagPosition = k
                continue
            }
            key.ids[k] = resolve(dim, record, &resolved)
        }
        switch definition.observation {
        case .requests, .tcpConnections:
            addToCounter(family, key, 1)
        case .tcpSentBytes:
            addToCounter(family, key, UInt64(clamping: record.int(.bytesSent) ?? 0))
        case .tcpReceivedBytes:
            addToCounter(family, key, UInt64(clamping: record.int(.bytesReceived) ?? 0))
        case .responseFlags:
            guard flagPosition >= 0, let flagDimension, let flagsDimension else { return }
            let flags = resolve(flagsDimension, record, &resolved)
            for flag in flagIdentifiers(flags, flagsDimension: flagsDimension, flagDimension: flagDimension) {
                key.ids[flagPosition] = flag
                addToCounter(family, key, 1)
            }
        case .duration, .tcpDuration:
            if let value = record.int(.duration) { observe(family, key, value) }
        case .requestBytes:
            if let value = record.int(.bytesReceived) { observe(family, key, value) }
        case .responseBytes:
            if let value = record.int(.bytesSent) { observe(family, key, value) }
        case .upstreamServiceTime:
            if let value = record.int(.upstreamServiceTime) { observe(family, key, value) }
        }
    }

    @inline(__always)
    private mutating func seriesID(_ family: Int, _ key: SeriesKey) -> Int {
        let hash = key.hashValue64
        let cache = seriesCaches[family]
        if let id = cache.find(key, hash: hash) { return Int(id) }
        return Int(newSeries(family, key, hash))
    }

    @inline(never)
    private mutating func newSeries(_ family: Int, _ key: SeriesKey, _ hash: UInt64) -> UInt32 {
        let id = registry.series(family: family, key: key, hash: hash, now: wallClockSeconds())
        let cache = seriesCaches[family]
        // Bounded: a family's cap bounds its series, but keys refused into overflow are cached
        // too; start over rather than grow without end.
        if cache.count > 4 * schema.limits.maxSeriesPerFamily + 1024 { cache.removeAll() }
        cache.insert(key, hash: hash, value: id)
        return id
    }

    private mutating func addToCounter(_ family: Int, _ key: SeriesKey, _ amount: UInt64) {
        let id = seriesID(family, key)
        if id >= counts[family].count { grow(family, to: id + 1, width: 1) }
        counts[family][id] &+= amount
        lastUpdated[family][id] = now
    }

    private mutating func observe(_ family: Int, _ key: SeriesKey, _ value: Int64) {
        guard let buckets = schema.observationBuckets[family] else { return }
        let id = seriesID(family, key)
        let width = buckets.count + 1
        if id >= sums[family].count { grow(family, to: id + 1, width: width) }
        // Observations are clamped to 2^53 so that a hostile value cannot overflow the sum of
        // even a few; the sum saturates rather than wraps.
        let clamped = min(value, 1 << 53)
        counts[family][id &* width &+ buckets.bucketIndex(for: Int(clamped))] &+= 1
        let (sum, overflow) = sums[family][id].addingReportingOverflow(clamped)
        sums[family][id] = overflow ? .max : sum
        lastUpdated[family][id] = now
        if let settings = schema.families[family].native {
            if id >= natives[family].count { natives[family] += Array(repeating: nil, count: sums[family].count - natives[family].count) }
            if natives[family][id] == nil { natives[family][id] = NativeHistogram(settings: settings) }
            natives[family][id]!.observe(Double(clamped) / Double(schema.families[family].observationsPerUnit))
        }
    }

    @inline(never)
    private mutating func grow(_ family: Int, to series: Int, width: Int) {
        let capacity = max(series, counts[family].count / width * 2, 16)
        counts[family] += Array(repeating: 0, count: capacity * width - counts[family].count)
        if schema.observationBuckets[family] != nil {
            sums[family] += Array(repeating: 0, count: capacity - sums[family].count)
        }
        lastUpdated[family] += Array(repeating: 0, count: capacity - lastUpdated[family].count)
    }

    /// Forgets series `ids` of `family`: their values go back to zero so that the identifiers can
    /// be handed out again, and cached keys that led to them are dropped.
    mutating func forget(family: Int, ids: [Int]) {
        let width = schema.observationBuckets[family].map { $0.count + 1 } ?? 1
        for id in ids {
            if id < lastUpdated[family].count { lastUpdated[family][id] = 0 }
            if id * width < counts[family].count {
                for k in (id * width)..<((id + 1) * width) { counts[family][k] = 0 }
            }
            if id < sums[family].count { sums[family][id] = 0 }
            if id < natives[family].count { natives[family][id] = nil }
        }
        seriesCaches[family].removeAll()
    }

    private mutating func flagIdentifiers(_ flags: UInt32, flagsDimension: Int, flagDimension: Int) -> [UInt32] {
        if let parts = flagParts[flags] { return parts }
        let text = registry.value(dimension: flagsDimension, id: flags)
        let parts =
            text == ResponseFlags.none || text == Registry.overflowValue
            ? [] : ResponseFlags.split(text).map { registry.intern(dimension: flagDimension, value: $0) }
        flagParts[flags] = parts
        return parts
    }
}

/// A regular expression compiled for one shard, used only under that shard's lock.
final class LocalPattern: @unchecked Sendable {
    // @unchecked Sendable: owned by one shard's state and only used with its lock held.
    let regex: Regex<AnyRegexOutput>

    init(_ regex: Regex<AnyRegexOutput>) {
        self.regex = regex
    }

    /// The first capture group of the first match in `value` (the whole match when the pattern
    /// has no group), or `unknown` when nothing matches.
    func capture(_ value: UnsafeBufferPointer<UInt8>) -> String {
        let text = String(decoding: value, as: UTF8.self)
        guard let match = try? regex.firstMatch(in: text) else { return Registry.unknownValue }
        let output = match.output
        if output.count > 1, let group = output[1].substring { return String(group) }
        return String(text[match.range])
    }
}
