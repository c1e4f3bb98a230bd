/// The parts of the protocol buffers wire format the exposition needs, written by hand so that
/// rendering needs neither generated code nor a runtime.
///
/// Every field the writer uses has a number below 16, so each tag is one byte:
/// `field << 3 | wire type`.
enum ProtobufWire {
    /// Wire type 0: varint (`uint64`, `int64`, `sint32` after zigzag, enums).
    static let varint: UInt8 = 0
    /// Wire type 1: 8 bytes little-endian (`double`).
    static let fixed64: UInt8 = 1
    /// Wire type 2: a varint length, then that many bytes (strings, messages, packed repeats).
    static let lengthDelimited: UInt8 = 2

    @inline(__always)
    static func tag(_ field: UInt8, _ wireType: UInt8) -> UInt8 { field << 3 | wireType }

    @inline(__always)
    static func appendVarint(_ value: UInt64, to out: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        out.append(UInt8(truncatingIfNeeded: value))
    }

    /// The number of bytes ``appendVarint(_:to:)`` writes for `value`: one per started group of
    /// seven bits.
    @inline(__always)
    static func varintSize(_ value: UInt64) -> Int {
        let bits = 64 - (value | 1).leadingZeroBitCount
        return (bits + 6) / 7
    }

    /// `sint32`/`sint64` zigzag encoding: small magnitudes of either sign become small varints.
    @inline(__always)
    static func zigzag(_ value: Int64) -> UInt64 {
        UInt64(bitPattern: (value << 1) ^ (value >> 63))
    }

    @inline(__always)
    static func appendDouble(_ value: Double, to out: inout [UInt8]) {
        let bits = value.bitPattern
        for shift in stride(from: 0, to: 64, by: 8) {
            out.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift)))
        }
    }

    // MARK: - Fields

    @inline(__always)
    static func appendVarintField(_ field: UInt8, _ value: UInt64, to out: inout [UInt8]) {
        out.append(tag(field, varint))
        appendVarint(value, to: &out)
    }

    @inline(__always)
    static func varintFieldSize(_ value: UInt64) -> Int { 1 + varintSize(value) }

    @inline(__always)
    static func appendDoubleField(_ field: UInt8, _ value: Double, to out: inout [UInt8]) {
        out.append(tag(field, fixed64))
        appendDouble(value, to: &out)
    }

    static let doubleFieldSize = 9

    /// Appends the tag and length of a length-delimited field whose body the caller writes next.
    @inline(__always)
    static func appendLengthDelimitedHeader(_ field: UInt8, length: Int, to out: inout [UInt8]) {
        out.append(tag(field, lengthDelimited))
        appendVarint(UInt64(length), to: &out)
    }

    /// The size of a length-delimited field with a body of `length` bytes.
    @inline(__always)
    static func lengthDelimitedFieldSize(_ length: Int) -> Int { 1 + varintSize(UInt64(length)) + length }

    @inline(__always)
    static func appendStringField(_ field: UInt8, _ value: String, to out: inout [UInt8]) {
        appendLengthDelimitedHeader(field, length: value.utf8.count, to: &out)
        out.append(contentsOf: value.utf8)
    }

    // MARK: - google.protobuf.Timestamp

    /// Seconds since the epoch split into whole seconds and nanoseconds (`0..<1e9`).
    static func timestamp(_ seconds: Double) -> (seconds: Int64, nanos: Int32) {
        let whole = seconds.rounded(.down)
        var wholeSeconds = Int64(whole)
        var nanos = Int32(((seconds - whole) * 1e9).rounded())
        if nanos >= 1_000_000_000 {
            wholeSeconds += 1
            nanos -= 1_000_000_000
        }
        return (wholeSeconds, nanos)
    }

    /// The body size of a `Timestamp` message: `seconds = 1` (int64), `nanos = 2` (int32), each
    /// left out when zero.
    static func timestampSize(_ seconds: Double) -> Int {
        let parts = timestamp(seconds)
        var size = 0
        if parts.seconds != 0 { size += varintFieldSize(UInt64(bitPattern: parts.seconds)) }
        if parts.nanos != 0 { size += varintFieldSize(UInt64(parts.nanos)) }
        return size
    }

    static func appendTimestampField(_ field: UInt8, _ seconds: Double, to out: inout [UInt8]) {
        let parts = timestamp(seconds)
        appendLengthDelimitedHeader(field, length: timestampSize(seconds), to: &out)
        if parts.seconds != 0 { appendVarintField(1, UInt64(bitPattern: parts.seconds), to: &out) }
        if parts.nanos != 0 { appendVarintField(2, UInt64(parts.nanos), to: &out) }
    }
}
