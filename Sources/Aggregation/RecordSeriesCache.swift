/// A record's label values -> the series it updates in every family of its scope.
///
/// Most records repeat a combination of labels seen before; one lookup here replaces one per
/// family (six for an HTTP request).
final class RecordSeriesCache: @unchecked Sendable {
    // @unchecked Sendable: owned by one shard's state and only used with its lock held.

    let families: [Int]
    let signature: [Int]
    private let table: SeriesKeyTable
    /// Per entry, one series identifier per family of the scope.
    private var series: [UInt32] = []
    /// Per entry, where its per-flag series are in `flagPool`.
    private var flagRanges: [(start: Int, count: Int)] = []
    private var flagPool: [UInt32] = []

    init(scope: SchemaPlan.Scope) {
        families = scope.families
        signature = scope.signature
        table = SeriesKeyTable(width: max(1, scope.signature.count))
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
        Int(series[entry &* families.count &+ position])
    }

    @inline(__always)
    func flagSeries(_ entry: Int) -> ArraySlice<UInt32> {
        let range = flagRanges[entry]
        return flagPool[range.start..<(range.start + range.count)]
    }

    func insert(_ key: SeriesKey, hash: UInt64, series entrySeries: [UInt32], flagSeries: [UInt32]) -> Int {
        let entry = flagRanges.count
        series += entrySeries
        flagRanges.append((flagPool.count, flagSeries.count))
        flagPool += flagSeries
        table.insert(key, hash: hash, value: UInt32(entry))
        return entry
    }

    func removeAll() {
        table.removeAll()
        series.removeAll(keepingCapacity: true)
        flagRanges.removeAll(keepingCapacity: true)
        flagPool.removeAll(keepingCapacity: true)
    }
}
