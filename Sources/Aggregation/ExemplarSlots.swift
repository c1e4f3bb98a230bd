import AccessLogParser

/// The latest exemplar of each slot of one family in one shard: one slot per series for a
/// counter, one per series and bucket for a histogram (OpenMetrics puts a bucket's exemplar on
/// that bucket).
///
/// The identifier bytes are copied into a fixed 64-byte cell per slot, so recording one never
/// allocates. A slot is rewritten at most once per registry clock second: exemplars point a
/// person at one example request, and the newest-within-a-second is as good an example as the
/// very newest, for a fraction of the copying on a busy route.
///
/// A plain struct over manually managed buffers, so that checking a slot on the per-line path is
/// two loads with no reference counting; its ``FamilyStore`` owns it and calls ``deallocate()``.
struct ExemplarSlots {
    /// Whether the family keeps exemplars at all; when false no slot is ever written (and only
    /// the initial one-slot buffers exist).
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

    private(set) var slots: UnsafeMutablePointer<Slot>
    private(set) var bytes: UnsafeMutablePointer<UInt8>
    private(set) var capacity = 0

    init(enabled: Bool) {
        isEnabled = enabled
        slots = .allocate(capacity: 1)
        bytes = .allocate(capacity: Self.maximumIDBytes)
    }

    func deallocate() {
        slots.deallocate()
        bytes.deallocate()
    }

    /// Makes room for slots `0..<count`, keeping what they hold.
    mutating func reserve(_ count: Int) {
        guard count > capacity else { return }
        let newCapacity = max(count, capacity * 2, 16)
        let grown = UnsafeMutablePointer<Slot>.allocate(capacity: newCapacity)
        grown.moveInitialize(from: slots, count: capacity)
        (grown + capacity).initialize(repeating: Slot(), count: newCapacity - capacity)
        slots.deallocate()
        slots = grown
        let grownBytes = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity * Self.maximumIDBytes)
        grownBytes.moveInitialize(from: bytes, count: capacity * Self.maximumIDBytes)
        bytes.deallocate()
        bytes = grownBytes
        capacity = newCapacity
    }

    /// Whether slot `index` takes a new exemplar in clock second `second`.
    @inline(__always)
    func wantsUpdate(_ index: Int, second: UInt32) -> Bool {
        isEnabled && (index >= capacity || slots[index].kind == .none || slots[index].second != second)
    }

    mutating func record(
        _ index: Int, kind: Kind, id: UnsafeBufferPointer<UInt8>, value: Int64, second: UInt32, timestamp: Double
    ) {
        reserve(index + 1)
        let count = min(id.count, Self.maximumIDBytes)
        if let base = id.baseAddress { (bytes + index * Self.maximumIDBytes).update(from: base, count: count) }
        slots[index] = Slot(
            kind: kind, length: UInt8(count), second: second, value: value, timestamp: timestamp)
    }

    /// The identifier of slot `index`, for a snapshot.
    func id(_ index: Int) -> String {
        String(
            decoding: UnsafeBufferPointer(start: bytes + index * Self.maximumIDBytes, count: Int(slots[index].length)),
            as: UTF8.self)
    }

    /// Empties slots `range`, for a series whose identifier is reused.
    func clear(_ range: Range<Int>) {
        for index in range where index < capacity { slots[index] = Slot() }
    }

    /// Copies slot `old` of `other` into slot `index` here when it is newer.
    mutating func absorb(_ other: ExemplarSlots, _ old: Int, into index: Int) {
        guard old < other.capacity, other.slots[old].kind != .none else { return }
        if index < capacity, slots[index].kind != .none, slots[index].timestamp >= other.slots[old].timestamp {
            return
        }
        reserve(index + 1)
        slots[index] = other.slots[old]
        (bytes + index * Self.maximumIDBytes).update(
            from: other.bytes + old * Self.maximumIDBytes, count: Self.maximumIDBytes)
    }

    /// A copy with buffers of its own.
    func copy() -> ExemplarSlots {
        var copy = ExemplarSlots(enabled: isEnabled)
        copy.reserve(capacity)
        copy.slots.update(from: slots, count: capacity)
        copy.bytes.update(from: bytes, count: capacity * Self.maximumIDBytes)
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
