/// The label pairs of one series, checked and escaped once, when the series is created.
///
/// Writers copy ``escaped`` as is; that is what keeps rendering cheap and what makes a hostile
/// label value (quotes, backslashes, newlines, `} 1e9\nfake 1`) unable to add or break a series:
/// the value can only ever appear inside its own quotes.
public struct LabelSet: Sendable, Hashable {
    public let names: [String]
    /// Values as valid UTF-8: invalid bytes were replaced with U+FFFD before they got here.
    public let values: [String]
    /// `name="value",...` with `\`, `"` and newline escaped (the same in text and OpenMetrics).
    public let escaped: [UInt8]

    public static let empty = LabelSet(names: [], values: [])

    /// - Precondition: every name is a valid label name (checked at configuration time).
    public init(names: [String], values: [String]) {
        precondition(names.count == values.count)
        self.names = names
        self.values = values
        var bytes: [UInt8] = []
        for (k, name) in names.enumerated() {
            if k > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes.append(contentsOf: name.utf8)
            bytes.append(contentsOf: #"=""#.utf8)
            Escaping.appendLabelValue(values[k], to: &bytes)
            bytes.append(UInt8(ascii: "\""))
        }
        self.escaped = bytes
    }

    /// With `escaped` already made, as ``init(names:values:)`` makes it.
    init(names: [String], values: [String], escaped: [UInt8]) {
        self.names = names
        self.values = values
        self.escaped = escaped
    }

    public init(_ pairs: KeyValuePairs<String, String>) {
        self.init(names: pairs.map(\.key), values: pairs.map(\.value))
    }

    public var isEmpty: Bool { names.isEmpty }

    public subscript(name: String) -> String? {
        names.firstIndex(of: name).map { values[$0] }
    }

    public static func == (a: Self, b: Self) -> Bool { a.escaped == b.escaped }
    public func hash(into hasher: inout Hasher) { hasher.combine(escaped) }
}

/// Escaping and validation shared by every text format.
public enum Escaping {
    /// Appends a label value escaped for the text formats: `\` -> `\\`, `"` -> `\"`, newline -> `\n`.
    public static func appendLabelValue(_ value: String, to out: inout [UInt8]) {
        var value = value
        value.withUTF8 { appendLabelValue($0, to: &out) }
    }

    /// ``appendLabelValue(_:to:)`` of UTF-8 bytes.
    public static func appendLabelValue(_ value: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        for byte in value {
            switch byte {
            case UInt8(ascii: "\\"): out.append(contentsOf: [0x5C, 0x5C])
            case UInt8(ascii: "\""): out.append(contentsOf: [0x5C, 0x22])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            default: out.append(byte)
            }
        }
    }

    /// Appends HELP text escaped: `\` -> `\\`, newline -> `\n` (quotes are left alone). OpenMetrics
    /// escapes quotes too, which `escapeQuotes` selects.
    public static func appendHelp(_ help: String, escapeQuotes: Bool, to out: inout [UInt8]) {
        for byte in help.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case UInt8(ascii: "\"") where escapeQuotes: out.append(contentsOf: [0x5C, 0x22])
            default: out.append(byte)
            }
        }
    }

    /// Whether `name` is a valid metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    public static func isValidMetricName(_ name: String) -> Bool {
        var first = true
        for byte in name.utf8 {
            let ok =
                isLetter(byte) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ":") || (!first && isDigit(byte))
            if !ok { return false }
            first = false
        }
        return !first
    }

    /// Whether `name` is a valid label name: `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__`.
    public static func isValidLabelName(_ name: String) -> Bool {
        guard !name.hasPrefix("__") else { return false }
        var first = true
        for byte in name.utf8 {
            let ok = isLetter(byte) || byte == UInt8(ascii: "_") || (!first && isDigit(byte))
            if !ok { return false }
            first = false
        }
        return !first
    }

    /// `bytes` as a `String`, with every invalid UTF-8 sequence replaced by U+FFFD and NUL bytes too
    /// (some exposition parsers stop at NUL).
    public static func sanitizedString(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        let repaired = String(decoding: bytes, as: UTF8.self)
        guard repaired.utf8.contains(0) else { return repaired }
        return String(repaired.unicodeScalars.map { $0 == "\0" ? "\u{FFFD}" : Character($0) })
    }

    @inline(__always) static func isLetter(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
    }

    @inline(__always) static func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
}
