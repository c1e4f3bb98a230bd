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
    let plan: SchemaPlan
    /// The input whose lines are being recorded; set by the reader before each chunk.
    public var currentInput = 0
    public internal(set) var inputs: [InputStatistics] = []
    /// Per input, the identifier of each `.input` and `.sourcePod` dimension's value.
    var inputDimensionValues: [[UInt32]] = []
    /// Per input, the labels it was added with.
    var inputLabels: [[String: String]] = []
    /// Per `.destinationPod` or `.destinationServiceLabel` dimension, upstream host or cluster
    /// bytes -> value identifier, valid while the lookup's generation stays ``enrichmentGeneration``.
    let enrichmentCaches: [ByteTable?]
    var enrichmentGeneration: UInt64 = 0

    /// Per dimension, raw bytes -> value identifier, for dimensions whose value comes from bytes.
    let valueCaches: [ByteTable?]
    /// Response code -> identifier, for codes 0...999.
    var codeCache: [UInt32]
    /// Per family, series key -> series identifier.
    let seriesCaches: [SeriesKeyTable]
    /// Per scope (HTTP, TCP), a record's label values -> the series it updates in every family.
    let recordCaches: [RecordSeriesCache]
    /// ``recordCaches`` unretained, for the per-line path.
    private let recordCacheReferences: [Unmanaged<RecordSeriesCache>]
    /// Every key of this shard's byte tables is hashed with it.
    let hashSeed = UInt64.random(in: .min ... .max)
    /// Whether records are found by their raw key first; off, every record is resolved label by
    /// label, which the raw keys must always agree with.
    var findsRecordsByRawKey = true
    /// Response flags value identifier -> the identifiers of its individual flags.
    var flagParts: [UInt32: [UInt32]] = [:]
    let flagDimension: Int?
    let flagsDimension: Int?
    let routeDimension: Int?
    /// Upstream cluster bytes -> destination value identifier, per destination dimension.
    let clusterCaches: [ByteTable?]

    /// This shard's own compiled route rules (compiled regular expressions are not shared).
    let routeMatcher: RouteMatcher?
    /// ``routeMatcher`` unretained, for the per-line path.
    let routeMatcherReference: Unmanaged<RouteMatcher>?
    /// Rule index -> route value identifier, filled on first use.
    var ruleRouteIDs: [UInt32]
    let ignoredRouteNames: [[UInt8]]
    let useRouteName: Bool
    let pathTemplate: PathTemplate?
    let grpcDecidesErrorType: Bool
    let slowThreshold: Int64
    let hasRouteThresholds: Bool
    /// Route value identifier -> slow-request threshold, filled on first use (-1: not yet).
    var routeThresholds: [Int64] = []
    /// Per dimension, the compiled pattern of a `.fieldPattern` source.
    let patterns: [LocalPattern?]
    var scratch: [UInt8] = []

    /// Per family, this shard's values.
    let stores: [FamilyStore]
    /// ``stores`` unretained, for the per-line path (``stores`` keeps them alive).
    private let storeReferences: [Unmanaged<FamilyStore>]
    /// The registry clock when the current chunk started; set by ``updateClock()``.
    var now: UInt32 = 0
    /// The wall clock at the same moment, for exemplar timestamps.
    var wallNow: Double = 0
    /// Set when a reload replaced this shard: its reader must move on to the new one.
    public internal(set) var isRetired = false

    init(registry: Registry) {
        self.registry = registry
        self.schema = registry.schema
        self.plan = schema.plan
        valueCaches = plan.kinds.map { kind in
            switch kind {
            case .errorType, .slowRequest, .requestProtocol, .reporter, .constant, .input, .responseCode, .flag: nil
            default: ByteTable()
            }
        }
        clusterCaches = plan.kinds.map { kind in
            switch kind {
            case .destinationService, .destinationServiceName, .destinationServiceNamespace: ByteTable()
            default: nil
            }
        }
        enrichmentCaches = plan.kinds.map {
            $0 == .destinationPod || $0 == .destinationServiceLabel ? ByteTable() : nil
        }
        enrichmentGeneration = registry.enrichment?.generation ?? 0
        codeCache = Array(repeating: .max, count: 1000)
        seriesCaches = schema.familyDimensions.map { SeriesKeyTable(width: $0.count) }
        let classification = schema.classification
        let plan = schema.plan
        recordCaches = [plan.http, plan.tcp].map { scope in
            let keyPlan = RecordKeyPlan(
                signature: scope.signature, kinds: plan.kinds, fields: plan.fields,
                hasRules: !classification.rules.isEmpty, useRouteName: classification.useRouteName,
                grpcDecidesErrorType: classification.grpcStatusDecidesErrorType,
                hasRouteThresholds: !classification.slowThresholdsByRoute.isEmpty)
            return RecordSeriesCache(
                scope: scope, keyPlan: keyPlan,
                keyLimit: Self.recordKeyLimit(maxSeriesPerFamily: registry.schema.limits.maxSeriesPerFamily))
        }
        recordCacheReferences = recordCaches.map { Unmanaged.passUnretained($0) }
        flagDimension = schema.dimensions.firstIndex(of: .flag)
        flagsDimension = schema.dimensions.firstIndex(of: .responseFlags)
        routeDimension = schema.dimensions.firstIndex(of: .route)
        // The schema validated the rules and patterns, so compiling them again cannot fail.
        routeMatcher = classification.rules.isEmpty ? nil : try? RouteMatcher(rules: classification.rules)
        routeMatcherReference = routeMatcher.map { Unmanaged.passUnretained($0) }
        ruleRouteIDs = Array(repeating: .max, count: classification.rules.count)
        ignoredRouteNames = classification.ignoredRouteNames.map { Array($0.utf8) }
        useRouteName = classification.useRouteName
        pathTemplate = classification.pathTemplate
        grpcDecidesErrorType = classification.grpcStatusDecidesErrorType
        slowThreshold = classification.slowThresholdMilliseconds
        hasRouteThresholds = !classification.slowThresholdsByRoute.isEmpty
        patterns = schema.dimensions.map { source in
            guard case .fieldPattern(_, let pattern) = source, let regex = try? Regex(pattern) else { return nil }
            return LocalPattern(regex)
        }
        stores = (0..<plan.familyCount).map { family in
            FamilyStore(
                width: plan.families[family].width, hasSums: plan.families[family].isHistogram,
                hasExemplars: plan.families[family].hasExemplars)
        }
        storeReferences = stores.map { Unmanaged.passUnretained($0) }
        now = registry.clock()
        wallNow = wallClockSeconds()
    }

    /// Registers an input and the values of its labels (`.input` label sources by name).
    /// Returns the index to set as ``currentInput`` while feeding its lines.
    public mutating func addInput(labels: [String: String]) -> Int {
        inputLabels.append(labels)
        inputDimensionValues.append(inputValues(labels))
        inputs.append(InputStatistics())
        return inputs.count - 1
    }

    /// The identifiers of an input's `.input` and `.sourcePod` dimension values.
    private func inputValues(_ labels: [String: String]) -> [UInt32] {
        var values = Array(repeating: UInt32(0), count: schema.dimensions.count)
        var sourcePod: MetadataPod?
        var lookedUp = false
        for (dim, source) in schema.dimensions.enumerated() {
            switch source {
            case .input(let name):
                values[dim] = registry.intern(dimension: dim, value: labels[name] ?? Registry.unknownValue)
            case .sourcePod(let attribute):
                if !lookedUp, let namespace = labels["namespace"], let pod = labels["pod"] {
                    sourcePod = registry.enrichment?.pod(namespace: namespace, name: pod)
                }
                lookedUp = true
                values[dim] = registry.intern(
                    dimension: dim, value: sourcePod?.value(attribute) ?? Registry.unknownValue)
            default:
                break
            }
        }
        return values
    }

    /// Reads the registry's clock; call once per chunk, so that series updated in it count as seen.
    /// Also where answers of the metadata lookup are dropped once it has news.
    public mutating func updateClock() {
        now = registry.clock()
        wallNow = wallClockSeconds()
        if let enrichment = registry.enrichment {
            let generation = enrichment.generation
            if generation != enrichmentGeneration { refreshEnrichment(generation) }
        }
    }

    @inline(never)
    private mutating func refreshEnrichment(_ generation: UInt64) {
        enrichmentGeneration = generation
        for cache in enrichmentCaches { cache?.removeAll() }
        // Raw keys stand for the values the lookup gave them, pods' and inputs' alike.
        for cache in recordCaches { cache.forgetKeys() }
        if schema.dimensions.contains(where: { if case .sourcePod = $0 { true } else { false } }) {
            for input in inputLabels.indices { inputDimensionValues[input] = inputValues(inputLabels[input]) }
        }
    }

    /// Records what a decoder did with the current input's lines since the last call.
    public mutating func updateInput(lines: LineCounts, bytes: UInt64) {
        inputs[currentInput].lines = lines
        inputs[currentInput].bytes = bytes
    }

    public mutating func consume(_ record: AccessRecord) {
        if !record.invalidNumbers.isEmpty { inputs[currentInput].invalidNumbers &+= 1 }
        let tcp = Self.isTCP(record)
        unowned(unsafe) let cache = recordCacheReferences[tcp ? 1 : 0].takeUnretainedValue()
        var resolved = ResolvedDimensions()
        let entry = recordEntry(tcp ? 1 : 0, cache, record, &resolved)
        let now = now
        let wallNow = wallNow
        let tables = plan.tables
        let bounds = plan.bounds
        for position in 0..<cache.families.count {
            let family = cache.families[position]
            let plan = self.plan.families + family
            let id = cache.series(entry, position)
            let flagSeries =
                plan.pointee.observation == .responseFlags
                ? cache.flagSeries(entry) : UnsafeBufferPointer(start: nil, count: 0)
            // Borrowed, not retained: the state holds every store while this runs, and a
            // retained reference would be a retain and a release (atomic) per family per line.
            // The closure captures no `self`, which would copy the whole state.
            storeReferences[family]._withUnsafeGuaranteedRef { store in
                Self.update(store, plan, id, flagSeries, record, now, wallNow, tables, bounds)
            }
        }
    }

    @inline(__always)
    private static func update(
        _ store: FamilyStore, _ plan: UnsafeMutablePointer<SchemaPlan.Family>, _ id: Int,
        _ flagSeries: UnsafeBufferPointer<UInt32>, _ record: AccessRecord, _ now: UInt32, _ wallNow: Double,
        _ tables: UnsafeMutablePointer<UInt8>, _ bounds: UnsafeMutablePointer<Double>
    ) {
        func observe(_ value: Int64) {
            Self.observe(plan, store, id, value, now, record, wallNow, tables, bounds)
        }
        switch plan.pointee.observation {
        case .requests:
            add(store, id, 1, now)
            if store.exemplars.wantsUpdate(id, second: now) {
                noteExemplar(store, id, 1, record, second: now, timestamp: wallNow)
            }
        case .tcpConnections:
            add(store, id, 1, now)
        case .tcpSentBytes:
            add(store, id, UInt64(clamping: record.int(.bytesSent) ?? 0), now)
        case .tcpReceivedBytes:
            add(store, id, UInt64(clamping: record.int(.bytesReceived) ?? 0), now)
        case .responseFlags:
            for flag in flagSeries { add(store, Int(flag), 1, now) }
        case .duration, .tcpDuration:
            if let value = record.int(.duration) { observe(value) }
        case .requestBytes:
            if let value = record.int(.bytesReceived) { observe(value) }
        case .responseBytes:
            if let value = record.int(.bytesSent) { observe(value) }
        case .upstreamServiceTime:
            if let value = record.int(.upstreamServiceTime) { observe(value) }
        }
    }

    /// The record-cache entry of the record: found by its raw key when a record like it was
    /// seen, else by its label values.
    @inline(__always)
    private mutating func recordEntry(
        _ scope: Int, _ cache: RecordSeriesCache, _ record: AccessRecord, _ resolved: inout ResolvedDimensions
    ) -> Int {
        guard findsRecordsByRawKey, cache.keysBypassed == 0 else {
            return bypassingKeys(scope, cache, record, &resolved)
        }
        cache.keyLookups &+= 1
        let plan = UnsafePointer(cache.keyPlan)
        let length = writeKey(plan, record, into: cache.keyBuffer, &resolved)
        guard length >= 0 else { return entryByLabels(scope, cache, record, &resolved) }
        let hash = hashBytes(cache.keyBuffer.assumingMemoryBound(to: UInt8.self), length, seed: hashSeed)
        // Through the guaranteed reference: a plain call on `cache` retains and releases it.
        let found = recordCacheReferences[scope]._withUnsafeGuaranteedRef { $0.keyEntry(length: length, hash: hash) }
        if let found {
            let slow = plan.pointee.splitsBySlowness && (record.int(.duration) ?? 0) > found.pointee.threshold
            let entry = Int(slow ? found.pointee.slow : found.pointee.fast)
            if entry >= 0 { return entry }
        }
        return newRecordKey(scope, cache, record, length, hash, &resolved)
    }

    @inline(never)
    private mutating func bypassingKeys(
        _ scope: Int, _ cache: RecordSeriesCache, _ record: AccessRecord, _ resolved: inout ResolvedDimensions
    ) -> Int {
        if cache.keysBypassed > 0 { cache.keysBypassed -= 1 }
        return entryByLabels(scope, cache, record, &resolved)
    }

    @inline(never)
    private mutating func newRecordKey(
        _ scope: Int, _ cache: RecordSeriesCache, _ record: AccessRecord, _ length: Int, _ hash: UInt64,
        _ resolved: inout ResolvedDimensions
    ) -> Int {
        let splits = cache.keyPlan.pointee.splitsBySlowness
        let limit = splits ? self.threshold(record) : 0
        let slow = splits && (record.int(.duration) ?? 0) > limit
        let entry = entryByLabels(scope, cache, record, &resolved)
        // After the lookup by labels, which may have started the cache over.
        cache.remember(length: length, hash: hash, slow: slow, threshold: limit, entry: entry)
        cache.noteKeyMiss()
        return entry
    }

    /// The record's label values, one per dimension of its scope, key every series it updates.
    @inline(never)
    private mutating func entryByLabels(
        _ scope: Int, _ cache: RecordSeriesCache, _ record: AccessRecord, _ resolved: inout ResolvedDimensions
    ) -> Int {
        var key = SeriesKey(count: cache.signature.count)
        for k in 0..<cache.signature.count {
            key.ids[k] = resolve(cache.signature[k], record, &resolved)
        }
        let hash = key.hashValue64
        // Through the guaranteed reference: a plain call on `cache` retains and releases it.
        let entry = recordCacheReferences[scope]._withUnsafeGuaranteedRef { $0.find(key, hash: hash) }
        if entry >= 0 { return entry }
        return seriesOfRecord(cache, key, hash, record, &resolved)
    }

    /// Raw keys kept per scope: enough for every series of a family to have a few spellings.
    static func recordKeyLimit(maxSeriesPerFamily: Int) -> Int {
        min(1 << 16, 2 * maxSeriesPerFamily + 1024)
    }

    /// Envoy's tcp_proxy writes no protocol and no method (both `-` or null).
    static func isTCP(_ record: AccessRecord) -> Bool {
        !record.has(.protocol) && !record.has(.method)
    }

    /// The series a record with these label values updates, found family by family the first time.
    @inline(never)
    private mutating func seriesOfRecord(
        _ cache: RecordSeriesCache, _ signature: SeriesKey, _ hash: UInt64, _ record: AccessRecord,
        _ resolved: inout ResolvedDimensions
    ) -> Int {
        var series: [UInt32] = []
        var flagSeries: [UInt32] = []
        for family in cache.families {
            let plan = self.plan.families[family]
            var key = SeriesKey(count: plan.dimsCount)
            for k in 0..<plan.dimsCount where k != plan.flagPosition {
                key.ids[k] = resolve(self.plan.dims[plan.dimsStart + k], record, &resolved)
            }
            if plan.observation == .responseFlags {
                series.append(.max)
                guard plan.flagPosition >= 0, let flagDimension, let flagsDimension else { continue }
                let flags = resolve(flagsDimension, record, &resolved)
                for flag in flagIdentifiers(flags, flagsDimension: flagsDimension, flagDimension: flagDimension) {
                    key.ids[plan.flagPosition] = flag
                    flagSeries.append(UInt32(seriesID(family, key)))
                }
            } else {
                series.append(UInt32(seriesID(family, key)))
            }
        }
        // Bounded like the other caches: start over rather than grow without end.
        if cache.count > 4 * schema.limits.maxSeriesPerFamily + 1024 { cache.removeAll() }
        return cache.insert(signature, hash: hash, series: series, flagSeries: flagSeries)
    }

    @inline(__always)
    private static func add(_ store: FamilyStore, _ id: Int, _ amount: UInt64, _ now: UInt32) {
        store.reserve(id)
        store.counts[id] &+= amount
        store.lastUpdated[id] = now
    }

    @inline(__always)
    private static func observe(
        _ plan: UnsafeMutablePointer<SchemaPlan.Family>, _ store: FamilyStore, _ id: Int, _ value: Int64, _ now: UInt32,
        _ record: AccessRecord, _ wallNow: Double, _ tables: UnsafeMutablePointer<UInt8>,
        _ bounds: UnsafeMutablePointer<Double>
    ) {
        store.reserve(id)
        // Observations are clamped to 2^53 so that a hostile value cannot overflow the sum of
        // even a few; the sum saturates rather than wraps.
        let clamped = min(value, 1 << 53)
        let bucket = SchemaPlan.bucket(plan, clamped, tables: tables, bounds: bounds)
        store.counts[id &* plan.pointee.width &+ bucket] &+= 1
        store.sums[id] = store.sums[id].addingSaturated(clamped)
        store.lastUpdated[id] = now
        if plan.pointee.hasNative { observeNative(plan, store, id, clamped) }
        let slot = id &* plan.pointee.width &+ bucket
        if store.exemplars.wantsUpdate(slot, second: now) {
            noteExemplar(store, slot, clamped, record, second: now, timestamp: wallNow)
        }
    }

    /// Static, and handed the clocks: a method would have the whole state copied to the stack
    /// for every observation, whether or not it is called.
    @inline(never)
    private static func noteExemplar(
        _ store: FamilyStore, _ slot: Int, _ value: Int64, _ record: AccessRecord, second: UInt32, timestamp: Double
    ) {
        guard let (kind, id) = ExemplarSlots.identifier(of: record) else { return }
        store.exemplars.record(slot, kind: kind, id: id, value: value, second: second, timestamp: timestamp)
    }

    /// Room for series `id`, a quarter more at a time: an array that doubles keeps up to half its
    /// room empty, and a native histogram takes 120 bytes (1.9 MB of room for 9 538 routes' 1.1).
    @inline(never)
    private static func growNatives(_ store: FamilyStore, to id: Int) {
        let needed = id + 16
        if needed > store.natives.capacity {
            store.natives.reserveCapacity(max(needed, store.natives.count + store.natives.count / 4))
        }
        store.natives += repeatElement(nil, count: needed - store.natives.count)
    }

    @inline(__always)
    private static func observeNative(
        _ plan: UnsafeMutablePointer<SchemaPlan.Family>, _ store: FamilyStore, _ id: Int, _ value: Int64
    ) {
        if id >= store.natives.count { growNatives(store, to: id) }
        let observation = Double(value) * plan.pointee.nativeScale
        // In place: copying the optional out to test it retains the histogram's buckets.
        store.natives.withUnsafeMutableBufferPointer { natives in
            if natives[id]?.observe(observation) == nil {
                natives[id] = NativeHistogram(settings: plan.pointee.native)
                natives[id]!.observe(observation)
            }
        }
    }

    @inline(__always)
    mutating func seriesID(_ family: Int, _ key: SeriesKey) -> Int {
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

    /// Forgets series `ids` of `family`: their values go back to zero so that the identifiers can
    /// be handed out again, and cached keys that led to them are dropped.
    mutating func forget(family: Int, ids: [Int]) {
        for id in ids { stores[family].reset(id) }
        seriesCaches[family].removeAll()
        for cache in recordCaches { cache.removeAll() }
    }

    mutating func flagIdentifiers(_ flags: UInt32, flagsDimension: Int, flagDimension: Int) -> [UInt32] {
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
