/// A forward-only scanner that pulls the mapped fields of one JSON object into an ``AccessRecord``.
///
/// It reads the object once, front to back. Keys are matched by their raw bytes in a ``KeyTable``;
/// the values of unmapped keys are skipped without being interpreted; mapped strings are recorded
/// as byte ranges and decoded only if they contain escapes and someone asks for them; numbers are
/// parsed in place. Nothing is allocated.
///
/// Rules beyond strict JSON, chosen for what Envoy and its users write:
/// - A numeric field accepts a JSON number or a string holding one (`14` and `"14"`), since Envoy
///   writes `upstream_service_time` from a header and legacy Istio wrote every value as a string.
///   Only non-negative integers are usable; a fraction is truncated (`"14.7"` is 14); anything else
///   (`1e999`, `-3`, `"abc"`, more than 2^63) makes that field absent and is noted in
///   ``AccessRecord/invalidNumbers``, while the record itself still counts.
/// - `null`, `"-"` and `""` all mean absent.
/// - A key that appears twice: the last occurrence wins, even when it is `null`.
/// - Escapes are decoded as ``JSONString`` describes, including Envoy's octal `\377`.
/// - Objects and arrays under a mapped key are skipped and leave the field absent; nesting deeper
///   than ``maxDepth`` makes the record malformed rather than costing unbounded work.
/// - Whitespace is allowed wherever JSON allows it; trailing `\r` (CRLF files) is whitespace.
public struct JSONRecordScanner: Sendable {
    public static let maxDepth = 512

    @usableFromInline let keys: KeyTable
    @usableFromInline let numericFields: FieldSet
    /// A JSON object is an access-log record when at least one of these keys is in it.
    @usableFromInline let markerFields: FieldSet

    public init(
        keys: KeyTable,
        numericFields: FieldSet = AccessLogField.numericFields,
        markerFields: FieldSet = [.responseCode, .method, .duration, .path]
    ) {
        self.keys = keys
        self.numericFields = numericFields
        self.markerFields = markerFields
    }

    public enum Status: Equatable, Sendable {
        case record
        case notAccessRecord
        case malformed(MalformedReason)
    }

    /// Scans `line`, which must start (after optional whitespace) with `{`.
    ///
    /// On `.record`, `record` holds the mapped fields as ranges into `line`, valid while `line` is.
    /// `hints` receives the preset hint bits of the keys that were seen.
    public func scan(_ line: UnsafeBufferPointer<UInt8>, into record: AccessRecord, hints: inout UInt8) -> Status {
        guard let p = line.baseAddress else { return .malformed(.truncatedJSON) }
        let n = line.count
        record.begin(p, length: n, format: .json)
        var i = skipWhitespace(p, from: 0, end: n)
        guard i < n, p[i] == UInt8(ascii: "{") else { return .malformed(.invalidJSON) }
        i = skipWhitespace(p, from: i &+ 1, end: n)
        guard i < n else { return .malformed(.truncatedJSON) }
        if p[i] != UInt8(ascii: "}") {
            members: while true {
                guard p[i] == asciiQuote else { return .malformed(.invalidJSON) }
                let keyStart = i &+ 1
                guard let keyEnd = closingQuote(in: p, from: keyStart, end: n) else {
                    return .malformed(.truncatedJSON)
                }
                var mapped = keys.lookup(p + keyStart, keyEnd &- keyStart)
                if mapped == nil && containsBackslash(p, from: keyStart, end: keyEnd) {
                    mapped = lookupEscapedKey(p, keyStart, keyEnd)
                }
                i = skipWhitespace(p, from: keyEnd &+ 1, end: n)
                guard i < n else { return .malformed(.truncatedJSON) }
                guard p[i] == UInt8(ascii: ":") else { return .malformed(.invalidJSON) }
                i = skipWhitespace(p, from: i &+ 1, end: n)
                guard i < n else { return .malformed(.truncatedJSON) }
                if let mapped { hints |= mapped.hint }

                let c = p[i]
                if c == asciiQuote {
                    let valueStart = i &+ 1
                    guard let valueEnd = closingQuote(in: p, from: valueStart, end: n) else {
                        return .malformed(.truncatedJSON)
                    }
                    if let field = mapped?.field {
                        storeString(field, p, valueStart, valueEnd, into: record)
                    }
                    i = valueEnd &+ 1
                } else if c == UInt8(ascii: "-") || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) {
                    let start = i
                    while i < n && isNumberByte(p[i]) { i &+= 1 }
                    if i == n { return .malformed(.truncatedJSON) }
                    if let field = mapped?.field {
                        if let value = parseInteger(p, start, i) {
                            record.setNumber(field, value, start: start, end: i)
                        } else if numericFields.contains(field) {
                            record.setInvalidNumber(field)
                        } else {
                            record.setText(field, start: start, end: i, escaped: false)
                        }
                    }
                } else if c == UInt8(ascii: "n") || c == UInt8(ascii: "t") || c == UInt8(ascii: "f") {
                    let word: UInt32 =
                        c == UInt8(ascii: "n") ? 0x6C6C_756E : (c == UInt8(ascii: "t") ? 0x6575_7274 : 0x736C_6166)
                    let length = c == UInt8(ascii: "f") ? 5 : 4
                    guard i &+ length <= n else { return .malformed(.truncatedJSON) }
                    // Safe because i + 4 <= i + length <= n.
                    guard UnsafeRawPointer(p + i).loadUnaligned(as: UInt32.self) == UInt32(littleEndian: word),
                        length == 4 || p[i &+ 4] == UInt8(ascii: "e")
                    else { return .malformed(.invalidJSON) }
                    if let field = mapped?.field {
                        if c == UInt8(ascii: "n") || numericFields.contains(field) {
                            record.setAbsent(field)
                        } else {
                            record.setText(field, start: i, end: i &+ length, escaped: false)
                        }
                    }
                    i &+= length
                } else if c == UInt8(ascii: "{") || c == UInt8(ascii: "[") {
                    let (next, failure) = skipNested(p, from: i, end: n)
                    if let failure { return .malformed(failure) }
                    i = next
                    if let field = mapped?.field { record.setAbsent(field) }
                } else {
                    return .malformed(.invalidJSON)
                }

                i = skipWhitespace(p, from: i, end: n)
                guard i < n else { return .malformed(.truncatedJSON) }
                let separator = p[i]
                i = skipWhitespace(p, from: i &+ 1, end: n)
                if separator == UInt8(ascii: ",") {
                    guard i < n else { return .malformed(.truncatedJSON) }
                    continue members
                }
                guard separator == UInt8(ascii: "}") else { return .malformed(.invalidJSON) }
                break members
            }
        } else {
            i = skipWhitespace(p, from: i &+ 1, end: n)
        }
        guard i == n else { return .malformed(.invalidJSON) }
        return record.seen.intersection(markerFields).isEmpty ? .notAccessRecord : .record
    }

    @inline(__always)
    func storeString(
        _ field: AccessLogField, _ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int, into record: AccessRecord
    ) {
        let length = end &- start
        if length == 0 || (length == 1 && p[start] == UInt8(ascii: "-")) {
            record.setAbsent(field)
        } else if numericFields.contains(field) {
            if let value = parseInteger(p, start, end) {
                record.setNumber(field, value, start: start, end: end)
            } else {
                record.setInvalidNumber(field)
            }
        } else {
            record.setText(field, start: start, end: end, escaped: containsBackslash(p, from: start, end: end))
        }
    }

    /// Looks up a key written with escapes (`"re\u0073ponse_code"`): rare, so decoded on demand.
    @inline(never)
    func lookupEscapedKey(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> (field: AccessLogField, hint: UInt8)?
    {
        var decoded: [UInt8] = []
        JSONString.decode(UnsafeBufferPointer(start: p + start, count: end - start), into: &decoded)
        return decoded.withUnsafeBufferPointer { buffer in
            buffer.baseAddress.flatMap { keys.lookup($0, buffer.count) }
        }
    }

    /// Skips one object or array starting at `p[from]`, checking that brackets pair up.
    @usableFromInline
    func skipNested(_ p: UnsafePointer<UInt8>, from: Int, end n: Int) -> (next: Int, failure: MalformedReason?) {
        // One bit per open level: 1 for an object, 0 for an array.
        var kinds = InlineArray<8, UInt64>(repeating: 0)
        var depth = 0
        var i = from
        while i < n {
            let c = p[i]
            switch c {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                guard depth < Self.maxDepth else { return (i, .nestingTooDeep) }
                let word = depth &>> 6
                let bit: UInt64 = 1 &<< UInt64(depth & 63)
                if c == UInt8(ascii: "{") { kinds[word] |= bit } else { kinds[word] &= ~bit }
                depth &+= 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth &-= 1
                let isObject = kinds[depth &>> 6] & (1 &<< UInt64(depth & 63)) != 0
                guard isObject == (c == UInt8(ascii: "}")) else { return (i, .invalidJSON) }
                if depth == 0 { return (i &+ 1, nil) }
            case asciiQuote:
                guard let close = closingQuote(in: p, from: i &+ 1, end: n) else { return (i, .truncatedJSON) }
                i = close
            default:
                break
            }
            i &+= 1
        }
        return (i, .truncatedJSON)
    }
}

@inlinable @inline(__always)
func isNumberByte(_ c: UInt8) -> Bool {
    (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: "-") || c == UInt8(ascii: "+")
        || c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E")
}

/// Parses `p[start..<end]` as a JSON number that is a non-negative integer after truncating any
/// fraction: `0`, `-0`, `14`, `14.9`, `1.5e3`. Returns `nil` for anything else, including values
/// that do not fit in an `Int64` and negative values.
@inlinable
func parseInteger(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Int64? {
    var i = start
    var negative = false
    if i < end && p[i] == UInt8(ascii: "-") {
        negative = true
        i &+= 1
    }
    // Significant digits, at most 19 so that they always fit, and the power of ten they are off by.
    var digits: UInt64 = 0
    var scale = 0
    var sawDigit = false
    while i < end, p[i] &- UInt8(ascii: "0") < 10 {
        sawDigit = true
        if digits < 1_000_000_000_000_000_000 {
            digits = digits &* 10 &+ UInt64(p[i] &- UInt8(ascii: "0"))
        } else {
            scale &+= 1
        }
        i &+= 1
    }
    guard sawDigit else { return nil }
    if i < end && p[i] == UInt8(ascii: ".") {
        i &+= 1
        var fractionDigits = 0
        while i < end, p[i] &- UInt8(ascii: "0") < 10 {
            if digits < 1_000_000_000_000_000_000 {
                digits = digits &* 10 &+ UInt64(p[i] &- UInt8(ascii: "0"))
                scale &-= 1
            }
            fractionDigits &+= 1
            i &+= 1
        }
        guard fractionDigits > 0 else { return nil }
    }
    if i < end && (p[i] == UInt8(ascii: "e") || p[i] == UInt8(ascii: "E")) {
        i &+= 1
        var exponentNegative = false
        if i < end && (p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: "-")) {
            exponentNegative = p[i] == UInt8(ascii: "-")
            i &+= 1
        }
        var exponent = 0
        var sawExponentDigit = false
        while i < end, p[i] &- UInt8(ascii: "0") < 10 {
            sawExponentDigit = true
            if exponent < 10_000 { exponent = exponent &* 10 &+ Int(p[i] &- UInt8(ascii: "0")) }
            i &+= 1
        }
        guard sawExponentDigit else { return nil }
        scale &+= exponentNegative ? -exponent : exponent
    }
    guard i == end else { return nil }
    var value = digits
    if scale > 0 {
        if value != 0 {
            guard scale <= 19 else { return nil }
            for _ in 0..<scale {
                let (product, overflow) = value.multipliedReportingOverflow(by: 10)
                guard !overflow else { return nil }
                value = product
            }
        }
    } else if scale < 0 {
        value = scale < -19 ? 0 : value / pow10(-scale)
    }
    guard value <= UInt64(Int64.max) else { return nil }
    if negative && value != 0 { return nil }
    return Int64(value)
}

@inlinable
func pow10(_ n: Int) -> UInt64 {
    var r: UInt64 = 1
    for _ in 0..<n { r &*= 10 }
    return r
}
