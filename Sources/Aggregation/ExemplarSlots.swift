import AccessLogParser

/// The latest exemplar of each slot of one family in one shard: one slot per series for a
/// counter, one per series and bucket for a histogram (OpenMetrics puts a bucket's exemplar on
/// that bucket).
///
/// Slots are many and exemplars few: a route's requests fall in a few of a histogram's 21
/// buckets. So a slot is a 4-byte index into cells made at its first exemplar, each with a fixed
/// 64-byte copy of the identifier (recording one never allocates once its cell exists). 10 000
/// routes with a 20-bucket histogram, one bucket each, took 24 MB with a cell for every slot and
/// take 2 MB so. A cell stays with its slot, so at worst, every bucket of every series having
/// held an exemplar, a slot costs 96 bytes against 88.
/// A slot is rewritten at most once per registry clock second: exemplars point a person at one
/// example request, and the newest-within-a-second is as good an example as the very newest,
/// for a fraction of the copying on a busy route.
///
/// A plain struct over manually managed buffers, so that checking a slot on the per-line path is
/// three loads with no reference counting; its ``FamilyStore`` owns it and calls ``deallocate()``.
struct ExemplarSlots {
    /// Whether the family keeps exemplars at all; when false no slot is ever written (and only
    /// the initial one-element buffers exist).
    let isEnabled: Bool

    /// Longer identifiers are not exemplars: trace ids are 32 hex digits, request ids UUIDs.
    static let maximumIDBytes = 64

    enum Kind: UInt8 {
        case none = 0
        case traceID = 1
        case requestID = 2

        /// The exemplar label the identifier is written under.
        var labelName: String {
            switch self {
            case .traceID, .none: "trace_id"
            case .requestID: "request_id"
            }
        }
    }

    struct Slot {
        var kind = Kind.none
        var length: UInt8 = 0
        /// Registry clock second of the last write.
        var second: UInt32 = 0
        /// In observation units (milliseconds for durations; 1 for a request count).
        var value: Int64 = 0
        /// Seconds since the epoch.
        var timestamp: Double = 0
    }

    /// By slot: its cell's number plus one, 0 for a slot that never held an exemplar.
    private var cellOfSlot: UnsafeMutablePointer<UInt32>
    /// Slots `0..<capacity` have an entry in `cellOfSlot`.
    private(set) var capacity = 0
    private var cells: UnsafeMutablePointer<Slot>
    private var bytes: UnsafeMutablePointer<UInt8>
    /// By cell: the slot it belongs to.
    private var owners: UnsafeMutablePointer<UInt32>
    /// Cells made so far: one per slot that ever held an exemplar.
    private(set) var cellCount = 0
    private var cellCapacity = 1

    init(enabled: Bool) {
        isEnabled = enabled
        cellOfSlot = ZeroedMemory.allocate(UInt32.self, capacity: 0)
        cells = ZeroedMemory.allocate(Slot.self, capacity: 1)
        bytes = ZeroedMemory.allocate(UInt8.self, capacity: Self.maximumIDBytes)
        owners = ZeroedMemory.allocate(UInt32.self, capacity: 1)
    }

    func deallocate() {
        ZeroedMemory.free(cellOfSlot, capacity: capacity)
        ZeroedMemory.free(cells, capacity: cellCapacity)
        ZeroedMemory.free(bytes, capacity: cellCapacity * Self.maximumIDBytes)
        ZeroedMemory.free(owners, capacity: cellCapacity)
    }

    /// Makes room for slots `0..<count`, keeping what they hold. Slots not yet written take no
    /// memory (``ZeroedMemory``): a histogram's slots are mostly never written.
    mutating func reserve(_ count: Int) {
        guard count > capacity else { return }
        let newCapacity = max(count, capacity * 2, 16)
        cellOfSlot = ZeroedMemory.resize(cellOfSlot, from: capacity, to: newCapacity)
        capacity = newCapacity
    }

    /// The cell of slot `index`, made when it has none. `index` must be below `capacity`.
    private mutating func cell(for index: Int) -> Int {
        if cellOfSlot[index] != 0 { return Int(cellOfSlot[index]) - 1 }
        if cellCount == cellCapacity {
            let newCapacity = max(cellCapacity * 2, 16)
            cells = ZeroedMemory.resize(cells, from: cellCapacity, to: newCapacity)
            bytes = ZeroedMemory.resize(
                bytes, from: cellCapacity * Self.maximumIDBytes, to: newCapacity * Self.maximumIDBytes)
            owners = ZeroedMemory.resize(owners, from: cellCapacity, to: newCapacity)
            cellCapacity = newCapacity
        }
        let cell = cellCount
        cellCount += 1
        (cells + cell).initialize(to: Slot())
        (owners + cell).initialize(to: UInt32(index))
        cellOfSlot[index] = UInt32(cell + 1)
        return cell
    }

    /// Whether slot `index` takes a new exemplar in clock second `second`.
    @inline(__always)
    func wantsUpdate(_ index: Int, second: UInt32) -> Bool {
        guard isEnabled else { return false }
        guard index < capacity, cellOfSlot[index] != 0 else { return true }
        let slot = cells[Int(cellOfSlot[index]) &- 1]
        return slot.kind == .none || slot.second != second
    }

    mutating func record(
        _ index: Int, kind: Kind, id: UnsafeBufferPointer<UInt8>, value: Int64, second: UInt32, timestamp: Double
    ) {
        reserve(index + 1)
        let cell = cell(for: index)
        let count = min(id.count, Self.maximumIDBytes)
        if let base = id.baseAddress { (bytes + cell * Self.maximumIDBytes).update(from: base, count: count) }
        cells[cell] = Slot(kind: kind, length: UInt8(count), second: second, value: value, timestamp: timestamp)
    }

    /// What slot `index` holds; nil when it holds no exemplar.
    func slot(_ index: Int) -> Slot? {
        guard index < capacity, cellOfSlot[index] != 0 else { return nil }
        let slot = cells[Int(cellOfSlot[index]) - 1]
        return slot.kind == .none ? nil : slot
    }

    /// Calls `body` with each slot of `range` that holds an exemplar, in slot order, as
    /// ``forEachExemplar(_:)`` does: the slots of a few series, without a walk over every cell.
    func forEachExemplar(
        inSlots range: Range<Int>, _ body: (_ index: Int, _ slot: Slot, _ id: UnsafeBufferPointer<UInt8>) -> Void
    ) {
        for index in range.clamped(to: 0..<capacity) where cellOfSlot[index] != 0 {
            let cell = Int(cellOfSlot[index]) - 1
            guard cells[cell].kind != .none else { continue }
            body(
                index, cells[cell],
                UnsafeBufferPointer(start: bytes + cell * Self.maximumIDBytes, count: Int(cells[cell].length)))
        }
    }

    /// Calls `body` with each slot that holds an exemplar, in no particular order: its index,
    /// what it holds, and its identifier's bytes (valid during the call).
    func forEachExemplar(_ body: (_ index: Int, _ slot: Slot, _ id: UnsafeBufferPointer<UInt8>) -> Void) {
        for cell in 0..<cellCount where cells[cell].kind != .none {
            body(
                Int(owners[cell]), cells[cell],
                UnsafeBufferPointer(start: bytes + cell * Self.maximumIDBytes, count: Int(cells[cell].length)))
        }
    }

    /// Empties slots `range`, for a series whose identifier is reused. Their cells stay theirs:
    /// the series that takes the identifier will most likely want them.
    func clear(_ range: Range<Int>) {
        for index in range where index < capacity && cellOfSlot[index] != 0 {
            cells[Int(cellOfSlot[index]) - 1] = Slot()
        }
    }

    /// Copies slot `old` of `other` into slot `index` here when it is newer.
    mutating func absorb(_ other: ExemplarSlots, _ old: Int, into index: Int) {
        guard old < other.capacity, other.cellOfSlot[old] != 0 else { return }
        let source = Int(other.cellOfSlot[old]) - 1
        guard other.cells[source].kind != .none else { return }
        if let mine = slot(index), mine.timestamp >= other.cells[source].timestamp { return }
        reserve(index + 1)
        let cell = cell(for: index)
        cells[cell] = other.cells[source]
        (bytes + cell * Self.maximumIDBytes).update(
            from: other.bytes + source * Self.maximumIDBytes, count: Self.maximumIDBytes)
    }

    /// A copy with buffers of its own.
    func copy() -> ExemplarSlots {
        var copy = ExemplarSlots(enabled: isEnabled)
        copy.reserve(capacity)
        for cell in 0..<cellCount {
            let made = copy.cell(for: Int(owners[cell]))
            copy.cells[made] = cells[cell]
            (copy.bytes + made * Self.maximumIDBytes).update(
                from: bytes + cell * Self.maximumIDBytes, count: Self.maximumIDBytes)
        }
        return copy
    }
}

extension ExemplarSlots {
    /// The identifier a record's exemplar carries: the W3C trace id of `traceparent`, else a B3
    /// trace id, else Envoy's request id. Nil when none is logged or the value is not a plain
    /// token (the exemplar would be dropped by the writers, or worse, need escaping).
    @inline(__always)
    static func identifier(of record: AccessRecord) -> (kind: Kind, id: UnsafeBufferPointer<UInt8>)? {
        if let traceparent = record.rawBytes(.traceparent), let id = traceID(ofTraceparent: traceparent) {
            return (.traceID, id)
        }
        if let b3 = record.rawBytes(.b3TraceID), isToken(b3) { return (.traceID, b3) }
        if let request = record.rawBytes(.requestID), isToken(request) { return (.requestID, request) }
        return nil
    }

    /// `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`: the trace id, unless it is all
    /// zeros (invalid by the W3C spec).
    static func traceID(ofTraceparent value: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8>? {
        guard value.count >= 55, value[2] == UInt8(ascii: "-"), value[35] == UInt8(ascii: "-") else { return nil }
        let id = UnsafeBufferPointer(rebasing: value[3..<35])
        guard id.allSatisfy(isHexDigit), id.contains(where: { $0 != UInt8(ascii: "0") }) else { return nil }
        return id
    }

    /// 1 to 64 bytes of letters, digits, `-`, `_`, `.` and `:`.
    static func isToken(_ value: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !value.isEmpty, value.count <= maximumIDBytes else { return false }
        for c in value {
            let isAlphanumeric =
                (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
                || (c | 0x20 >= UInt8(ascii: "a") && c | 0x20 <= UInt8(ascii: "z"))
            guard
                isAlphanumeric || c == UInt8(ascii: "-") || c == UInt8(ascii: "_") || c == UInt8(ascii: ".")
                    || c == UInt8(ascii: ":")
            else { return false }
        }
        return true
    }

    private static func isHexDigit(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
            || (c | 0x20 >= UInt8(ascii: "a") && c | 0x20 <= UInt8(ascii: "f"))
    }
}
