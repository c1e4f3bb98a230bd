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

    init(scope: SchemaPlan.Scope) {
        families = Self.copy(scope.families)
        signature = Self.copy(scope.signature)
        table = SeriesKeyTable(width: max(1, scope.signature.count))
    }

    deinit {
        families.deallocate()
        signature.deallocate()
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

    func removeAll() {
        table.removeAll()
        series.count = 0
        flagRanges.count = 0
        flagPool.count = 0
    }
}
