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
        record.quotes.build(p, n)
        var cursor = QuoteCursor(record.quotes, count: n)
        var fields = FieldMasks()
        let status = scanObject(
            p, n, &cursor, &fields, record.slots, record.predictions, mayEscape: record.quotes.hasBackslash)
        record.setMasks(
            present: fields.present, seen: fields.seen, escaped: fields.escaped, numeric: fields.numeric,
            invalid: fields.invalid)
        hints |= fields.hints
        if status != .record { return status }
        return FieldSet(rawValue: fields.seen).intersection(markerFields).isEmpty ? .notAccessRecord : .record
    }

    /// The per-line field masks, kept in registers while a line is scanned. A key seen twice
    /// resets its field first, so that the last occurrence wins.
    @usableFromInline
    struct FieldMasks {
        var present: UInt64 = 0
        var seen: UInt64 = 0
        var escaped: UInt64 = 0
        var numeric: UInt64 = 0
        var invalid: UInt64 = 0
        var hints: UInt8 = 0

        @inline(__always)
        mutating func begin(_ bit: UInt64) {
            if seen & bit != 0 { forget(bit) }
            seen |= bit
        }

        @inline(never)
        mutating func forget(_ bit: UInt64) {
            present &= ~bit
            escaped &= ~bit
            numeric &= ~bit
            invalid &= ~bit
        }

        @inline(__always)
        mutating func text(_ bit: UInt64, escaped isEscaped: Bool) {
            begin(bit)
            present |= bit
            if isEscaped { escaped |= bit }
        }

        @inline(__always)
        mutating func number(_ bit: UInt64) {
            begin(bit)
            present |= bit
            numeric |= bit
        }

        @inline(__always)
        mutating func absent(_ bit: UInt64) {
            begin(bit)
        }

        @inline(__always)
        mutating func invalidNumber(_ bit: UInt64) {
            begin(bit)
            invalid |= bit
        }
    }

    /// How many members per line the key predictions cover; past them a line's keys are found
    /// in the table (sharing predictions would make both members miss on every line).
    static let predictedMembers = 64

    /// The key a line had at one member position, as the next line is expected to have it too.
    @usableFromInline
    struct KeyPrediction {
        /// The key's first sixteen bytes, and masks that cover as many of them as the key has.
        var head: UInt64 = 0
        var next: UInt64 = 0
        var headMask: UInt64 = 0
        var nextMask: UInt64 = 0
        /// The key's last eight bytes, for keys longer than sixteen.
        var tail: UInt64 = 0
        var length = 0
        /// How many bytes from the key's start the check reads: the sixteen-byte loads, the key,
        /// its closing quote and colon, and one more so that the value starts inside the line.
        /// Unused entries reach so far that no line passes.
        var reach = Int(Int32.max)
        /// The key's bytes in the table, to compare the middle of keys longer than 24 bytes.
        var key: UnsafePointer<UInt8>?
        /// The field's bit when its value is wanted, else 0.
        var bit: UInt64 = 0
        var field: UInt8 = 0
        var hint: UInt8 = 0

        init() {}

        init(key: UnsafePointer<UInt8>, length: Int, bit: UInt64, field: UInt8, hint: UInt8) {
            for index in 0..<min(length, 16) {
                let byte = UInt64(key[index]) &<< UInt64((index & 7) &* 8)
                if index < 8 {
                    head |= byte
                    headMask |= 0xFF &<< UInt64(index &* 8)
                } else {
                    next |= byte
                    nextMask |= 0xFF &<< UInt64((index &- 8) &* 8)
                }
            }
            if length > 16 { tail = UnsafeRawPointer(key + length - 8).loadUnaligned(as: UInt64.self) }
            self.length = length
            self.reach = max(length + 3, 16)
            self.key = key
            self.bit = bit
            self.field = field
            self.hint = hint
        }

        /// Whether `key`, with at least `reach` bytes readable from it, starts with this key
        /// followed by its closing quote and a colon.
        @inline(__always)
        func matches(_ key: UnsafePointer<UInt8>) -> Bool {
            let raw = UnsafeRawPointer(key)
            let first = raw.loadUnaligned(as: UInt64.self)
            let second = raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
            guard (first ^ head) & headMask | (second ^ next) & nextMask == 0,
                raw.loadUnaligned(fromByteOffset: length, as: UInt16.self) == quoteColon
            else { return false }
            if length <= 16 { return true }
            return raw.loadUnaligned(fromByteOffset: length &- 8, as: UInt64.self) == tail
                && (length <= 24 || KeyTable.middleEquals(key, self.key!, length))
        }
    }

    @inline(__always)
    func scanObject(
        _ p: UnsafePointer<UInt8>, _ n: Int, _ quotes: inout QuoteCursor, _ fields: inout FieldMasks,
        _ slots: UnsafeMutablePointer<AccessRecord.Slot>, _ predictions: UnsafeMutablePointer<KeyPrediction>,
        mayEscape: Bool
    ) -> Status {
        var i = skipWhitespace(p, from: 0, end: n)
        guard i < n, p[i] == UInt8(ascii: "{") else { return .malformed(.invalidJSON) }
        i = skipWhitespace(p, from: i &+ 1, end: n)
        guard i < n else { return .malformed(.truncatedJSON) }
        if p[i] == UInt8(ascii: "}") {
            i = skipWhitespace(p, from: i &+ 1, end: n)
            return i == n ? .record : .malformed(.invalidJSON)
        }
        guard p[i] == asciiQuote else { return .malformed(.invalidJSON) }
        var member = 0
        // Each pass starts at a key's opening quote.
        while true {
            let keyStart = i &+ 1
            let key = p + keyStart
            var keyEnd: Int
            var bit: UInt64 = 0
            var field = 0

            // Keys come in the same order line after line: first check whether the key the
            // previous line had at this position is here, byte for byte, with its closing quote
            // and the colon right after it, as compact JSON has them. That needs neither the
            // quote map nor the table. Members past the predicted ones meet the spare entry at
            // the end, which never matches and is never written.
            let prediction = predictions + min(member, Self.predictedMembers)
            if keyStart &+ prediction.pointee.reach <= n && prediction.pointee.matches(key) {
                keyEnd = keyStart &+ prediction.pointee.length
                field = Int(prediction.pointee.field)
                bit = prediction.pointee.bit
                fields.hints |= prediction.pointee.hint
                i = keyEnd &+ 2
            } else {
                quotes.seek(keyStart)
                keyEnd = quotes.next()
                guard keyEnd < n else { return .malformed(.truncatedJSON) }
                let keyLength = keyEnd &- keyStart
                let (head, tail) = KeyTable.words(key, keyLength)
                var entry = keys.find(key, keyLength, head, tail)
                var escapedKey = false
                if entry < 0 && mayEscape {
                    entry = findEscapedKey(p, keyStart, keyEnd)
                    escapedKey = entry >= 0
                }
                if entry >= 0 {
                    let e = keys.entries + entry
                    fields.hints |= e.pointee.hint
                    if e.pointee.wanted {
                        field = Int(e.pointee.field)
                        bit = 1 &<< UInt64(field)
                    }
                }
                // Only keys of the table written without escapes are predicted: their bytes hold
                // no quote or backslash, so a byte-for-byte match is a match of the key.
                // The spare entry past the predicted members stays as it is.
                if member < Self.predictedMembers {
                    if entry >= 0 && !escapedKey {
                        let e = keys.entries + entry
                        prediction.pointee = KeyPrediction(
                            key: UnsafePointer(keys.keyBytes + Int(e.pointee.keyOffset)), length: keyLength, bit: bit,
                            field: UInt8(truncatingIfNeeded: field), hint: e.pointee.hint)
                    } else {
                        prediction.pointee = KeyPrediction()
                    }
                }
                i = keyEnd &+ 1
                if i < n && p[i] == UInt8(ascii: ":") {
                    i &+= 1
                } else {
                    i = skipWhitespace(p, from: i, end: n)
                    guard i < n else { return .malformed(.truncatedJSON) }
                    guard p[i] == UInt8(ascii: ":") else { return .malformed(.invalidJSON) }
                    i &+= 1
                }
                guard i < n else { return .malformed(.truncatedJSON) }
            }
            member &+= 1

            // Here i < n: the prediction's reach or the guard above saw to it.
            var c = p[i]
            if c <= 0x20 && isJSONWhitespace(c) {
                i = skipWhitespace(p, from: i, end: n)
                guard i < n else { return .malformed(.truncatedJSON) }
                c = p[i]
            }
            if c == asciiQuote {
                let start = i &+ 1
                quotes.seek(start)
                let end = quotes.next()
                guard end < n else { return .malformed(.truncatedJSON) }
                i = end &+ 1
                if bit != 0 {
                    let length = end &- start
                    if length == 0 || (length == 1 && p[start] == UInt8(ascii: "-")) {
                        fields.absent(bit)
                    } else if numericFields.rawValue & bit != 0 {
                        if let value = parseDigits(p, start, end) ?? parseInteger(p, start, end) {
                            store(slots + field, start, end, value)
                            fields.number(bit)
                        } else {
                            fields.invalidNumber(bit)
                        }
                    } else {
                        store(slots + field, start, end, 0)
                        fields.text(bit, escaped: mayEscape && containsBackslash(p, from: start, end: end))
                    }
                }
            } else if c == UInt8(ascii: "-") || (c &- UInt8(ascii: "0")) < 10 {
                let start = i
                while i < n && isNumberByte(p[i]) { i &+= 1 }
                if i == n { return .malformed(.truncatedJSON) }
                if bit != 0 {
                    if let value = parseDigits(p, start, i) ?? parseInteger(p, start, i) {
                        store(slots + field, start, i, value)
                        fields.number(bit)
                    } else if numericFields.rawValue & bit != 0 {
                        fields.invalidNumber(bit)
                    } else {
                        store(slots + field, start, i, 0)
                        fields.text(bit, escaped: false)
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
                if bit != 0 {
                    if c == UInt8(ascii: "n") || numericFields.rawValue & bit != 0 {
                        fields.absent(bit)
                    } else {
                        store(slots + field, i, i &+ length, 0)
                        fields.text(bit, escaped: false)
                    }
                }
                i &+= length
            } else if c == UInt8(ascii: "{") || c == UInt8(ascii: "[") {
                let (next, failure) = skipNested(p, from: i, end: n, &quotes)
                if let failure { return .malformed(failure) }
                i = next
                if bit != 0 { fields.absent(bit) }
            } else {
                return .malformed(.invalidJSON)
            }

            // Compact JSON, as Envoy writes it, has the separator right after the value.
            if i &+ 1 < n && UnsafeRawPointer(p + i).loadUnaligned(as: UInt16.self) == commaQuote {
                i &+= 1
                continue
            }
            if i < n && isJSONWhitespace(p[i]) { i = skipWhitespace(p, from: i, end: n) }
            guard i < n else { return .malformed(.truncatedJSON) }
            let separator = p[i]
            i &+= 1
            if separator == UInt8(ascii: ",") {
                if i < n && isJSONWhitespace(p[i]) { i = skipWhitespace(p, from: i, end: n) }
                guard i < n else { return .malformed(.truncatedJSON) }
                guard p[i] == asciiQuote else { return .malformed(.invalidJSON) }
                continue
            }
            guard separator == UInt8(ascii: "}") else { return .malformed(.invalidJSON) }
            i = skipWhitespace(p, from: i, end: n)
            return i == n ? .record : .malformed(.invalidJSON)
        }
    }

    @inline(__always)
    func store(_ slot: UnsafeMutablePointer<AccessRecord.Slot>, _ start: Int, _ end: Int, _ number: Int64) {
        slot.pointee.start = Int32(truncatingIfNeeded: start)
        slot.pointee.end = Int32(truncatingIfNeeded: end)
        slot.pointee.number = number
    }

    /// Finds a key written with escapes (`"re\u0073ponse_code"`): rare, so decoded on demand.
    @inline(never)
    func findEscapedKey(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Int {
        guard containsBackslash(p, from: start, end: end) else { return -1 }
        var decoded: [UInt8] = []
        JSONString.decode(UnsafeBufferPointer(start: p + start, count: end - start), into: &decoded)
        return decoded.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return -1 }
            let (head, tail) = KeyTable.words(base, buffer.count)
            return keys.find(base, buffer.count, head, tail)
        }
    }

    /// Skips one object or array starting at `p[from]`, checking that brackets pair up. Strings
    /// inside are stepped over with the quote cursor, which ends up past the value.
    @usableFromInline
    func skipNested(_ p: UnsafePointer<UInt8>, from: Int, end n: Int, _ quotes: inout QuoteCursor)
        -> (next: Int, failure: MalformedReason?)
    {
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
                quotes.seek(i &+ 1)
                let close = quotes.next()
                guard close < n else { return (i, .truncatedJSON) }
                i = close
            default:
                break
            }
            i &+= 1
        }
        return (i, .truncatedJSON)
    }
}

/// `":` and `,"` as two bytes loaded from memory.
@usableFromInline let quoteColon = UInt16(littleEndian: 0x3A22)
@usableFromInline let commaQuote = UInt16(littleEndian: 0x222C)

@inlinable @inline(__always)
func isNumberByte(_ c: UInt8) -> Bool {
    (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: "-") || c == UInt8(ascii: "+")
        || c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E")
}

/// The common case of ``parseInteger(_:_:_:)``: one to eighteen decimal digits and nothing else.
@inline(__always)
func parseDigits(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Int64? {
    guard end &- start <= 18, start < end else { return nil }
    var value: Int64 = 0
    var i = start
    while i < end {
        let d = p[i] &- UInt8(ascii: "0")
        guard d < 10 else { return nil }
        // Cannot overflow: at most 18 digits.
        value = value &* 10 &+ Int64(d)
        i &+= 1
    }
    return value
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
