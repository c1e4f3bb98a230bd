import Reporting

/// Readings of the cumulative table, kept for one window, so that the view is the difference
/// between now and a window ago: a sliding window, not one that empties on a schedule.
///
/// Readings are kept at least `spacing` apart, compactly (see ``Reading``): every row's counts,
/// and the flags and durations of their ``rowsWithDetail`` busiest rows (by count since start)
/// only. Every count of the window is exact; a row that was not among the busiest at the
/// window's start shows no quantiles or flags for the window (a route among them since start
/// rarely leaves them; one new since the start shows everything). With `keepsNewestWhole`
/// (`top`, whose view ends at its newest reading) the newest reading is also kept as it came.
/// The window reaches back up to `spacing` (or the time between readings, if longer) further
/// than `window`, and the seconds it covers are reported as they are.
struct SlidingTable: Sendable {
    /// Past this many readings every other one is dropped, so that a long window at a short
    /// refresh costs a bounded amount of memory.
    static let maximumReadings = 128
    /// How many of the busiest rows a reading keeps whole (flags and durations too).
    static let rowsWithDetail = 500
    let window: Double
    let spacing: Double
    let keepsNewestWhole: Bool
    private var readings: [Reading] = []
    /// The newest reading as it was added, when ``keepsNewestWhole``.
    private var newest: Table?

    init(window: Double, spacing: Double? = nil, keepsNewestWhole: Bool = true) {
        self.window = window
        self.spacing = spacing ?? window / 12
        self.keepsNewestWhole = keepsNewestWhole
    }

    mutating func add(_ table: Table, at time: Double) {
        let count = readings.count
        if count >= 2, readings[count - 1].time - readings[count - 2].time < spacing {
            // The newest is too close to the one before to be a start: this one takes its place.
            readings.removeLast()
        }
        readings.append(
            Reading(table, at: time, rowsWithDetail: Self.rowsWithDetail, sharing: readings.last?.keys))
        if keepsNewestWhole { newest = table }
        // Keep the newest reading at or before the window's start; drop what is older.
        while readings.count > 2, readings[1].time <= time - window { readings.removeFirst() }
        if readings.count > Self.maximumReadings {
            readings = readings.enumerated().filter { $0.offset % 2 == 0 || $0.offset == readings.count - 1 }
                .map(\.element)
        }
    }

    /// The table of the window (or of the time since the first reading, until a window has
    /// passed) and the seconds it covers. Needs ``keepsNewestWhole``.
    func current() -> (Table, Double) {
        guard let last = readings.last, let newest else { return (Table(grouping: .route), 0) }
        return window(endingWith: newest, at: last.time)
    }

    /// The same for a reading taken now that is not kept.
    func window(endingWith latest: Table, at time: Double) -> (Table, Double) {
        // The newest reading at or before the window's start; until a window has passed, the first.
        guard let start = readings.last(where: { $0.time <= time - window }) ?? readings.first else {
            return (latest, 0)
        }
        return (latest.subtracting(start.table()), time - start.time)
    }

    /// How many key lists the readings hold between them.
    var keyListCount: Int { Set(readings.map { ObjectIdentifier($0.keys) }).count }

    /// The bytes the readings hold, roughly: for tests and for the documentation's figures.
    var approximateBytes: Int {
        var keyLists: [ObjectIdentifier: Int] = [:]
        var total = 0
        for reading in readings {
            total += reading.approximateBytes
            keyLists[ObjectIdentifier(reading.keys)] = reading.keys.approximateBytes
        }
        return total + keyLists.values.reduce(0, +)
    }
}

/// The row keys of readings, in the order their counts are kept; one list serves consecutive
/// readings as long as no new key comes.
final class ReadingKeys: Sendable {
    let keys: [String]

    init(_ keys: [String]) {
        self.keys = keys
    }

    var approximateBytes: Int { keys.count * MemoryLayout<String>.stride }
}

/// One reading of a ``SlidingTable``: every row's four counts (requests, client errors, server
/// errors, slow requests) as variable-length integers in the order of a key list most readings
/// share, and the busiest rows whole. A row of counts is about six bytes: with 10 000 routes a
/// reading of whole rows was 1.5 MB, one of keys and 64-bit counts 480 KB, and this is about
/// 60 KB beside the shared keys (160 KB).
struct Reading: Sendable {
    let time: Double
    let grouping: Grouping
    let keys: ReadingKeys
    /// Per key, in order, its row's counts as LEB128 integers; zeros for a key without a row.
    private let counts: [UInt8]
    /// The busiest rows, whole.
    private let detailed: [Row]
    private let tcpConnections: UInt64
    private let lines: [String: UInt64]

    /// - Parameter sharing: the key list of the reading before, reused when it holds every row's
    ///   key and not many more (keys of routes gone).
    init(_ table: Table, at time: Double, rowsWithDetail: Int, sharing previous: ReadingKeys?) {
        self.time = time
        grouping = table.grouping
        // Rows come busiest first.
        detailed = Array(table.rows.prefix(rowsWithDetail))
        tcpConnections = table.tcpConnections
        lines = table.lines

        var position: [String: Int] = [:]
        var keys = previous?.keys ?? []
        if keys.count > 2 * table.rows.count + 64 { keys = [] }
        position.reserveCapacity(keys.count + 16)
        for (k, key) in keys.enumerated() { position[key] = k }
        var rowOfKey = [Int](repeating: -1, count: keys.count)
        for (k, row) in table.rows.enumerated() {
            if let at = position[row.key] {
                rowOfKey[at] = k
            } else {
                position[row.key] = keys.count
                keys.append(row.key)
                rowOfKey.append(k)
            }
        }
        self.keys = previous.map { $0.keys.count == keys.count ? $0 : ReadingKeys(keys) } ?? ReadingKeys(keys)
        var counts: [UInt8] = []
        counts.reserveCapacity(keys.count * 6)
        for k in rowOfKey {
            let row = k >= 0 ? table.rows[k] : Row(key: "")
            for value in [row.requests, row.clientErrors, row.serverErrors, row.slow] {
                Self.appendVarint(value, to: &counts)
            }
        }
        self.counts = counts
    }

    /// The reading as a table again, the rows past the busiest without their detail.
    func table() -> Table {
        var table = Table(grouping: grouping)
        table.rows = detailed
        let detailedKeys = Set(detailed.map(\.key))
        var offset = 0
        for key in keys.keys {
            var row = Row(key: key)
            row.requests = Self.varint(counts, &offset)
            row.clientErrors = Self.varint(counts, &offset)
            row.serverErrors = Self.varint(counts, &offset)
            row.slow = Self.varint(counts, &offset)
            guard row.requests > 0, !detailedKeys.contains(key) else { continue }
            table.rows.append(row.withoutDetail())
        }
        table.tcpConnections = tcpConnections
        table.lines = lines
        return table
    }

    /// This reading's own bytes; its key list is counted by the table, once however many share it.
    var approximateBytes: Int {
        counts.count + detailed.count * MemoryLayout<Row>.stride
    }

    private static func appendVarint(_ value: UInt64, to out: inout [UInt8]) {
        var rest = value
        while rest >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        out.append(UInt8(rest))
    }

    private static func varint(_ bytes: [UInt8], _ offset: inout Int) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = bytes[offset]
            offset += 1
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
    }
}
