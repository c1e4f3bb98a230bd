/// The automatic route of a path that no rule and no usable `route_name` named: the path without
/// its query, with every segment that looks like an identifier replaced by `{id}`.
///
/// A segment is an identifier when it is all digits, a UUID, at least 16 hexadecimal digits, or a
/// long opaque token (20 or more characters of letters, digits, `-` and `_` that mixes letters and
/// digits). Paths deeper than `maxDepth` segments keep their first `maxDepth` and end in
/// `/{rest...}`, so that no path can make more than a bounded number of distinct routes below a
/// fixed prefix, before the route label's value cap bounds them all.
public struct PathTemplate: Sendable, Equatable {
    public var maxDepth: Int

    public init(maxDepth: Int = 8) {
        self.maxDepth = max(1, maxDepth)
    }

    static let placeholder = Array("{id}".utf8)
    static let rest = Array("{rest...}".utf8)

    /// Appends the template of `path` (its query already removed or not) to `out`.
    public func write(_ path: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        var end = path.count
        for k in 0..<path.count where path[k] == UInt8(ascii: "?") || path[k] == UInt8(ascii: "#") {
            end = k
            break
        }
        var i = 0
        var depth = 0
        while i < end {
            if path[i] == UInt8(ascii: "/") {
                out.append(UInt8(ascii: "/"))
                i += 1
                continue
            }
            var j = i
            while j < end && path[j] != UInt8(ascii: "/") { j += 1 }
            depth += 1
            if depth > maxDepth {
                out.append(contentsOf: Self.rest)
                return
            }
            let segment = UnsafeBufferPointer(rebasing: path[i..<j])
            if Self.isIdentifier(segment) {
                out.append(contentsOf: Self.placeholder)
            } else {
                out.append(contentsOf: segment)
            }
            i = j
        }
    }

    /// Whether a path segment is an identifier rather than part of the API's shape.
    public static func isIdentifier(_ segment: UnsafeBufferPointer<UInt8>) -> Bool {
        let n = segment.count
        guard n > 0 else { return false }
        var digits = 0
        var hex = 0
        var letters = 0
        var tokenCharacters = 0
        for c in segment {
            let isDigit = c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")
            let lower = c | 0x20
            let isLetter = lower >= UInt8(ascii: "a") && lower <= UInt8(ascii: "z")
            if isDigit { digits += 1 }
            if isDigit || (lower >= UInt8(ascii: "a") && lower <= UInt8(ascii: "f")) { hex += 1 }
            if isLetter { letters += 1 }
            if isDigit || isLetter || c == UInt8(ascii: "-") || c == UInt8(ascii: "_") { tokenCharacters += 1 }
        }
        if digits == n { return true }
        if hex == n && n >= 16 { return true }
        if n == 36 && isUUID(segment) { return true }
        if n >= 20 && tokenCharacters == n && digits > 0 && letters > 0 { return true }
        return false
    }

    static func isUUID(_ s: UnsafeBufferPointer<UInt8>) -> Bool {
        for (k, c) in s.enumerated() {
            if k == 8 || k == 13 || k == 18 || k == 23 {
                if c != UInt8(ascii: "-") { return false }
            } else {
                let lower = c | 0x20
                let isHex =
                    (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
                    || (lower >= UInt8(ascii: "a") && lower <= UInt8(ascii: "f"))
                if !isHex { return false }
            }
        }
        return true
    }
}
