/// Decoding of JSON string contents, with the leniency real Envoy logs need.
///
/// - The JSON escapes `\" \\ \/ \b \f \n \r \t` and `\uXXXX`, with UTF-16 surrogate pairs joined.
///   A lone or mismatched surrogate becomes U+FFFD.
/// - Envoy's octal escape `\NNN` (three octal digits, first one 0-3), which its JSON sanitizer
///   writes for every byte of a value that is not valid UTF-8: decoded to that byte. The result may
///   be invalid UTF-8; label values are repaired when they are interned.
/// - Any other backslash sequence is kept as written, so that a single odd escape does not make a
///   whole record unusable.
public enum JSONString {
    /// Appends the decoded form of the string contents `raw` (without the surrounding quotes).
    public static func decode(_ raw: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        let n = raw.count
        var i = 0
        out.reserveCapacity(out.count + n)
        while i < n {
            let c = raw[i]
            guard c == asciiBackslash, i + 1 < n else {
                out.append(c)
                i += 1
                continue
            }
            let e = raw[i + 1]
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"):
                out.append(e)
                i += 2
            case UInt8(ascii: "b"):
                out.append(0x08)
                i += 2
            case UInt8(ascii: "f"):
                out.append(0x0C)
                i += 2
            case UInt8(ascii: "n"):
                out.append(0x0A)
                i += 2
            case UInt8(ascii: "r"):
                out.append(0x0D)
                i += 2
            case UInt8(ascii: "t"):
                out.append(0x09)
                i += 2
            case UInt8(ascii: "u"):
                guard let unit = hex4(raw, at: i + 2) else {
                    out.append(c)
                    i += 1
                    continue
                }
                i += 6
                var scalar: UInt32 = UInt32(unit)
                if (0xD800...0xDBFF).contains(unit) {
                    // A high surrogate needs a low one right after it.
                    if i + 6 <= n, raw[i] == asciiBackslash, raw[i + 1] == UInt8(ascii: "u"),
                        let low = hex4(raw, at: i + 2), (0xDC00...0xDFFF).contains(low)
                    {
                        scalar = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
                        i += 6
                    } else {
                        scalar = 0xFFFD
                    }
                } else if (0xDC00...0xDFFF).contains(unit) {
                    scalar = 0xFFFD
                }
                appendUTF8(scalar, to: &out)
            case UInt8(ascii: "0")...UInt8(ascii: "3"):
                if i + 3 < n, isOctal(raw[i + 2]), isOctal(raw[i + 3]) {
                    out.append((e &- 0x30) &<< 6 | (raw[i + 2] &- 0x30) &<< 3 | (raw[i + 3] &- 0x30))
                    i += 4
                } else {
                    out.append(c)
                    i += 1
                }
            default:
                out.append(c)
                i += 1
            }
        }
    }

    /// Decodes `raw` to a `String`, repairing invalid UTF-8. Allocates; not for the hot path.
    public static func decodeToString(_ raw: UnsafeBufferPointer<UInt8>) -> String {
        var out: [UInt8] = []
        decode(raw, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    @inline(__always)
    static func isOctal(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x37 }

    static func hex4(_ raw: UnsafeBufferPointer<UInt8>, at i: Int) -> UInt16? {
        guard i + 4 <= raw.count else { return nil }
        var v: UInt16 = 0
        for k in 0..<4 {
            let c = raw[i + k]
            let d: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - 0x30
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - 0x61 + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - 0x41 + 10
            default: return nil
            }
            v = v << 4 | UInt16(d)
        }
        return v
    }

    static func appendUTF8(_ scalar: UInt32, to out: inout [UInt8]) {
        switch scalar {
        case 0..<0x80:
            out.append(UInt8(scalar))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | (scalar >> 6)))
            out.append(UInt8(0x80 | (scalar & 0x3F)))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | (scalar >> 12)))
            out.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (scalar & 0x3F)))
        default:
            out.append(UInt8(0xF0 | (scalar >> 18)))
            out.append(UInt8(0x80 | ((scalar >> 12) & 0x3F)))
            out.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (scalar & 0x3F)))
        }
    }
}
