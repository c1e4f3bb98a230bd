/// A record's label values -> the series it updates in every family of its scope.
///
/// Most records repeat a combination of labels seen before; one lookup here replaces one per
/// family (six for an HTTP request).
///
/// The per-line reads go to plain buffers, not arrays: reading an array stored in a class costs
/// a retain and a release (two atomic operations) each time, several per line.
final class RecordSeriesCache: @unchecked Sendable {
    // @unchecked Sendable: owned by one shard's state and only used with its lock held.

    let families: UnsafeBufferPointer<Int>
    let signature: UnsafeBufferPointer<Int>
    private let table: SeriesKeyTable
    /// Per entry, one series identifier per family of the scope.
    private var series = GrowingBuffer<UInt32>()
    /// Per entry, where its per-flag series are in `flagPool`: start and count.
    private var flagRanges = GrowingBuffer<Int>()
    private var flagPool = GrowingBuffer<UInt32>()

    /// How a record of the scope is keyed by its raw fields, and those keys -> entries here.
    let keyPlan: UnsafeMutablePointer<RecordKeyPlan>
    /// Where a record's key is written; ``RecordKeyPlan/capacity`` bytes.
    let keyBuffer: UnsafeMutableRawPointer
    private let keys = ByteTable()
    private var keyEntries = GrowingBuffer<RecordKeyEntry>()
    /// Distinct raw keys kept before starting over; many raw spellings can share one entry.
    private let keyLimit: Int
    static let keyBytesLimit = 8 << 20

    /// Raw-key lookups and misses since the window began. Where most records are new (a label
    /// taken from a path full of identifiers), a key costs more than it saves: past half misses in
    /// a window, records are resolved label by label for ``keyBypass`` lookups, then keys tried again.
    var keyLookups = 0
    var keyMisses = 0
    var keysBypassed = 0
    var keyWindow = 1 << 16
    var keyBypass = 1 << 20
    /// The set-aside doubles each time keys are tried again and fail again, up to 64 times
    /// ``keyBypass``: a configuration whose records are mostly new stays mostly label by label.
    private var failedTrials = 0

    func noteKeyMiss() {
        keyMisses &+= 1
        guard keyLookups >= keyWindow else { return }
        if keyMisses &* 2 > keyLookups {
            keysBypassed = keyBypass &<< min(failedTrials, 6)
            failedTrials &+= 1
            forgetKeys()
        } else {
            failedTrials = 0
        }
        keyLookups = 0
        keyMisses = 0
    }

    init(scope: SchemaPlan.Scope, keyPlan: RecordKeyPlan, keyLimit: Int) {
        families = Self.copy(scope.families)
        signature = Self.copy(scope.signature)
        table = SeriesKeyTable(width: max(1, scope.signature.count))
        self.keyPlan = .allocate(capacity: 1)
        self.keyPlan.initialize(to: keyPlan)
        keyBuffer = .allocate(byteCount: RecordKeyPlan.capacity, alignment: 8)
        self.keyLimit = keyLimit
    }

    deinit {
        families.deallocate()
        signature.deallocate()
        keyPlan.pointee.deallocate()
        keyPlan.deinitialize(count: 1)
        keyPlan.deallocate()
        keyBuffer.deallocate()
    }

    private static func copy(_ values: [Int]) -> UnsafeBufferPointer<Int> {
        let buffer = UnsafeMutableBufferPointer<Int>.allocate(capacity: max(1, values.count))
        _ = buffer.initialize(from: values)
        return UnsafeBufferPointer(rebasing: buffer[0..<values.count])
    }

    var count: Int { table.count }

    /// The entry for these label values, or -1.
    @inline(__always)
    func find(_ key: SeriesKey, hash: UInt64) -> Int {
        guard let entry = table.find(key, hash: hash) else { return -1 }
        return Int(entry)
    }

    @inline(__always)
    func series(_ entry: Int, _ position: Int) -> Int {
        Int(series.base[entry &* families.count &+ position])
    }

    @inline(__always)
    func flagSeries(_ entry: Int) -> UnsafeBufferPointer<UInt32> {
        UnsafeBufferPointer(start: flagPool.base + flagRanges.base[2 &* entry], count: flagRanges.base[2 &* entry &+ 1])
    }

    func insert(_ key: SeriesKey, hash: UInt64, series entrySeries: [UInt32], flagSeries: [UInt32]) -> Int {
        let entry = flagRanges.count / 2
        series.append(contentsOf: entrySeries)
        flagRanges.append(contentsOf: [flagPool.count, flagSeries.count])
        flagPool.append(contentsOf: flagSeries)
        table.insert(key, hash: hash, value: UInt32(entry))
        return entry
    }

    /// The entry of the key in ``keyBuffer`` (`length` bytes), or nil.
    @inline(__always)
    func keyEntry(length: Int, hash: UInt64) -> UnsafeMutablePointer<RecordKeyEntry>? {
        let key = UnsafeBufferPointer(start: keyBuffer.assumingMemoryBound(to: UInt8.self), count: length)
        guard let index = keys.find(key, hash: hash) else { return nil }
        return keyEntries.base + Int(index)
    }

    /// Notes that records with the key in ``keyBuffer`` on the `slow` side of `threshold` update
    /// `entry`.
    func remember(length: Int, hash: UInt64, slow: Bool, threshold: Int64, entry: Int) {
        var found = keyEntry(length: length, hash: hash)
        if found == nil {
            // Bounded by count and by bytes: a kilobyte of client-chosen authority per key would
            // otherwise make a full table tens of megabytes.
            if keys.count >= keyLimit || keys.byteCount >= Self.keyBytesLimit { forgetKeys() }
            let key = UnsafeBufferPointer(start: keyBuffer.assumingMemoryBound(to: UInt8.self), count: length)
            keys.insert(key, hash: hash, value: UInt32(keyEntries.count))
            withUnsafePointer(to: RecordKeyEntry(threshold: threshold, fast: -1, slow: -1)) {
                keyEntries.append(UnsafeBufferPointer(start: $0, count: 1))
            }
            found = keyEntries.base + (keyEntries.count - 1)
        }
        if slow { found!.pointee.slow = Int32(entry) } else { found!.pointee.fast = Int32(entry) }
    }

    /// Drops the raw keys, keeping the entries they led to.
    func forgetKeys() {
        keys.removeAll()
        keyEntries.count = 0
    }

    func removeAll() {
        table.removeAll()
        series.count = 0
        flagRanges.count = 0
        flagPool.count = 0
        forgetKeys()
    }
}
