/// One entry of an HTTP `Accept` or `Accept-Encoding` header: a value, its parameters and its
/// weight.
///
/// Parsing is lenient in the way that keeps negotiation predictable: names are compared
/// case-insensitively, quoted parameter values are unquoted, and an entry whose weight cannot be
/// read gets weight 0 (it is ignored) rather than spoiling the rest of the header.
public struct MediaRange: Sendable, Hashable {
    /// `type/subtype` for `Accept` (`*/*`, `text/*` included), or a coding for `Accept-Encoding`;
    /// lowercased.
    public var value: String
    /// Parameters other than `q`, names lowercased, values as sent (unquoted).
    public var parameters: [String: String]
    /// The weight, `0...1`; 1 when absent.
    public var quality: Double

    public init(value: String, parameters: [String: String] = [:], quality: Double = 1) {
        self.value = value
        self.parameters = parameters
        self.quality = quality
    }

    /// The entries of a header value, in order. Empty entries are skipped.
    public static func parseList(_ header: String) -> [MediaRange] {
        var ranges: [MediaRange] = []
        for element in split(header, on: ",") {
            var parts = split(element, on: ";").makeIterator()
            guard let first = parts.next() else { continue }
            let value = trim(first).lowercased()
            guard !value.isEmpty else { continue }
            var range = MediaRange(value: value)
            while let part = parts.next() {
                let pair = trim(part)
                guard let equals = pair.firstIndex(of: "=") else { continue }
                let name = trim(pair[..<equals]).lowercased()
                var parameterValue = trim(pair[pair.index(after: equals)...])
                if parameterValue.count >= 2, parameterValue.first == "\"", parameterValue.last == "\"" {
                    parameterValue = String(parameterValue.dropFirst().dropLast())
                }
                if name == "q" {
                    range.quality = Self.quality(parameterValue)
                } else {
                    range.parameters[name] = parameterValue
                }
            }
            ranges.append(range)
        }
        return ranges
    }

    /// RFC 9110 `qvalue`: 0 to 1 with at most three decimals. Anything else reads as 0.
    static func quality(_ text: String) -> Double {
        guard text.utf8.count <= 5, let value = Double(text), value >= 0, value <= 1 else { return 0 }
        return value
    }

    /// Splits on `separator` outside double quotes.
    static func split(_ text: some StringProtocol, on separator: Character) -> [Substring] {
        let text = Substring(text)
        var pieces: [Substring] = []
        var start = text.startIndex
        var quoted = false
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            if character == "\"" {
                quoted.toggle()
            } else if character == separator && !quoted {
                pieces.append(text[start..<index])
                start = text.index(after: index)
            }
            index = text.index(after: index)
        }
        pieces.append(text[start...])
        return pieces
    }

    static func trim(_ text: some StringProtocol) -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = text.firstIndex(where: { !isSpace($0) }) else { return "" }
        let last = text.lastIndex(where: { !isSpace($0) })!
        return String(text[first...last])
    }
}
