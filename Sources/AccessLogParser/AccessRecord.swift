/// The fields of one access-log record, as byte ranges into the line and parsed integers.
///
/// One instance is reused for every line of an input: parsing a line overwrites it, so nothing is
/// allocated per line. Ranges point into the line buffer the record was parsed from and are valid
/// only until the next line is parsed into the same record.
///
/// A field is *present* when the record carried a usable value for it. `null`, `"-"` and `""`
/// mean absent, as Envoy writes all three for "no value".
public final class AccessRecord {
    @usableFromInline
    struct Slot {
        @usableFromInline var start: Int32 = 0
        @usableFromInline var end: Int32 = 0
        @usableFromInline var number: Int64 = 0
    }

    @usableFromInline let slots: UnsafeMutablePointer<Slot>
    /// Fields with a value on the current line.
    public internal(set) var present = FieldSet(rawValue: 0)
    /// Fields whose key or position appeared on the current line, with or without a value.
    public internal(set) var seen = FieldSet(rawValue: 0)
    /// Fields whose value needs JSON unescaping before use.
    public internal(set) var escaped = FieldSet(rawValue: 0)
    /// Fields whose value was parsed into ``int(_:)``.
    public internal(set) var numeric = FieldSet(rawValue: 0)
    /// Numeric fields whose value was not a usable non-negative integer; they count as absent.
    public internal(set) var invalidNumbers = FieldSet(rawValue: 0)
    @usableFromInline var base: UnsafePointer<UInt8>?
    public internal(set) var length: Int = 0
    /// How the record was written.
    public internal(set) var format: RecordFormat = .json
    @usableFromInline var scratch: [UInt8] = []
    /// The JSON scanner's quote bitmap for the current line; kept here so that it is reused.
    @usableFromInline var quotes = QuoteMask()
    /// The keys the last JSON line had at each member position, with their fields. One spare
    /// entry at the end lets the scanner form a pointer past the covered positions.
    @usableFromInline let predictions: UnsafeMutablePointer<JSONRecordScanner.KeyPrediction>

    public init() {
        slots = .allocate(capacity: AccessLogField.capacity)
        slots.initialize(repeating: Slot(), count: AccessLogField.capacity)
        predictions = .allocate(capacity: JSONRecordScanner.predictedMembers + 1)
        predictions.initialize(repeating: .init(), count: JSONRecordScanner.predictedMembers + 1)
    }

    deinit {
        slots.deallocate()
        predictions.deallocate()
        quotes.deallocate()
    }

    /// Sets every per-line mask at once; the JSON scanner keeps them in registers while it runs.
    func setMasks(present: UInt64, seen: UInt64, escaped: UInt64, numeric: UInt64, invalid: UInt64) {
        self.present = FieldSet(rawValue: present)
        self.seen = FieldSet(rawValue: seen)
        self.escaped = FieldSet(rawValue: escaped)
        self.numeric = FieldSet(rawValue: numeric)
        self.invalidNumbers = FieldSet(rawValue: invalid)
    }

    func begin(_ base: UnsafePointer<UInt8>, length: Int, format: RecordFormat) {
        self.base = base
        self.length = length
        self.format = format
        present = FieldSet(rawValue: 0)
        seen = FieldSet(rawValue: 0)
        escaped = FieldSet(rawValue: 0)
        numeric = FieldSet(rawValue: 0)
        invalidNumbers = FieldSet(rawValue: 0)
    }

    func setText(_ field: AccessLogField, start: Int, end: Int, escaped isEscaped: Bool) {
        let slot = slots.advanced(by: Int(field.rawValue))
        slot.pointee.start = Int32(truncatingIfNeeded: start)
        slot.pointee.end = Int32(truncatingIfNeeded: end)
        present.insert(field)
        seen.insert(field)
        if isEscaped { escaped.insert(field) } else { escaped.remove(field) }
        numeric.remove(field)
        invalidNumbers.remove(field)
    }

    func setNumber(_ field: AccessLogField, _ value: Int64, start: Int, end: Int) {
        let slot = slots.advanced(by: Int(field.rawValue))
        slot.pointee.start = Int32(truncatingIfNeeded: start)
        slot.pointee.end = Int32(truncatingIfNeeded: end)
        slot.pointee.number = value
        present.insert(field)
        seen.insert(field)
        escaped.remove(field)
        numeric.insert(field)
        invalidNumbers.remove(field)
    }

    func setAbsent(_ field: AccessLogField) {
        present.remove(field)
        seen.insert(field)
        escaped.remove(field)
        numeric.remove(field)
        invalidNumbers.remove(field)
    }

    func setInvalidNumber(_ field: AccessLogField) {
        setAbsent(field)
        invalidNumbers.insert(field)
    }

    /// Whether the field has a value on this line.
    @inlinable
    public func has(_ field: AccessLogField) -> Bool { present.contains(field) }

    /// The integer value of a numeric field, or `nil` when it is absent or was not a valid integer.
    @inlinable
    public func int(_ field: AccessLogField) -> Int64? {
        numeric.contains(field) ? slots[Int(field.rawValue)].number : nil
    }

    /// The raw bytes of a field as they stand in the line (still JSON-escaped when
    /// ``isEscaped(_:)``), or `nil` when absent. Valid until the next line is parsed.
    @inlinable
    public func rawBytes(_ field: AccessLogField) -> UnsafeBufferPointer<UInt8>? {
        guard present.contains(field), let base else { return nil }
        let slot = slots[Int(field.rawValue)]
        return UnsafeBufferPointer(start: base + Int(slot.start), count: Int(slot.end &- slot.start))
    }

    /// Whether a field of a JSON record was written as a JSON string (rather than a number or
    /// `true`/`false`). String ranges start right after their opening quote, so this needs no
    /// extra bookkeeping per field.
    public func isString(_ field: AccessLogField) -> Bool {
        guard present.contains(field), let base else { return false }
        let start = Int(slots[Int(field.rawValue)].start)
        return start > 0 && base[start - 1] == asciiQuote
    }

    /// Whether the value of `field` contains JSON escapes that ``withValue(_:_:)`` decodes.
    @inlinable
    public func isEscaped(_ field: AccessLogField) -> Bool { escaped.contains(field) }

    /// Calls `body` with the value of `field` as UTF-8 bytes, JSON escapes decoded, or with `nil`
    /// when the field is absent. The buffer is valid only inside `body`.
    ///
    /// Decoding happens only for values that contain escapes; others are passed in place.
    @inlinable
    public func withValue<R>(_ field: AccessLogField, _ body: (UnsafeBufferPointer<UInt8>?) throws -> R) rethrows -> R {
        guard let raw = rawBytes(field) else { return try body(nil) }
        guard escaped.contains(field) else { return try body(raw) }
        return try withDecoded(raw, body)
    }

    @usableFromInline @inline(never)
    func withDecoded<R>(_ raw: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>?) throws -> R) rethrows
        -> R
    {
        scratch.removeAll(keepingCapacity: true)
        JSONString.decode(raw, into: &scratch)
        return try scratch.withUnsafeBufferPointer { try body($0) }
    }

    /// The value of `field` as a `String` (escapes decoded, invalid UTF-8 repaired).
    /// Allocates: for tests, tools and cold paths, not for the per-line loop.
    public func string(_ field: AccessLogField) -> String? {
        withValue(field) { bytes in bytes.map { String(decoding: $0, as: UTF8.self) } }
    }
}

/// The syntax a record was written in.
public enum RecordFormat: UInt8, Sendable {
    case json
    case text
}
