/// Number formatting for the text formats, without allocation on the paths a scrape takes per
/// sample (whole numbers and scaled integers).
public enum NumberFormatting {
    /// Appends the decimal digits of `value`.
    @inlinable
    public static func appendInteger(_ value: UInt64, to out: inout [UInt8]) {
        if value < 10 {
            out.append(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: value))
            return
        }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // room for 20 digits, written backwards
        var v = value
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            while v > 0 {
                count += 1
                buffer[24 - count] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: v % 10)
                v /= 10
            }
            out.append(contentsOf: buffer[(24 - count)...])
        }
    }

    @inlinable
    public static func appendInteger(_ value: Int64, to out: inout [UInt8]) {
        if value < 0 {
            out.append(UInt8(ascii: "-"))
            appendInteger(value.magnitude, to: &out)
        } else {
            appendInteger(UInt64(value), to: &out)
        }
    }

    /// Appends `scaled * 10^exponent` as an exact decimal (`1234` with exponent -3 is `1.234`).
    public static func appendScaled(_ scaled: Int64, exponent: Int, to out: inout [UInt8]) {
        if exponent >= 0 {
            appendInteger(scaled, to: &out)
            if scaled != 0 {
                for _ in 0..<exponent { out.append(UInt8(ascii: "0")) }
            }
            return
        }
        let negative = scaled < 0
        var magnitude = scaled.magnitude
        var divisor: UInt64 = 1
        // An exponent below -19 would overflow the divisor; no unit needs more than nanos.
        for _ in 0..<min(-exponent, 19) { divisor &*= 10 }
        if negative { out.append(UInt8(ascii: "-")) }
        appendInteger(magnitude / divisor, to: &out)
        magnitude %= divisor
        guard magnitude != 0 else { return }
        out.append(UInt8(ascii: "."))
        var place = divisor / 10
        while magnitude != 0 {
            let digit = magnitude / place
            out.append(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: digit))
            magnitude -= digit * place
            place /= 10
        }
    }

    /// `scaled * 10^exponent` as the nearest `Double`.
    ///
    /// Dividing by an exact power of ten (exact up to 10^22) rounds once, so the result is the
    /// double closest to the decimal whenever `scaled` itself is exact (below 2^53).
    public static func double(scaled: Int64, exponent: Int) -> Double {
        if exponent == 0 { return Double(scaled) }
        var power = 1.0
        for _ in 0..<min(exponent.magnitude, 22) { power *= 10 }
        return exponent < 0 ? Double(scaled) / power : Double(scaled) * power
    }

    /// A float as Go's `strconv.FormatFloat(v, 'g', -1, 64)` writes it, which is what Prometheus
    /// clients emit: shortest round-trip digits, exponent form below 1e-4 and from 1e6 up.
    public static func goFloat(_ value: Double) -> String {
        var bytes: [UInt8] = []
        appendGoFloat(value, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends `value` as ``goFloat(_:)`` spells it.
    ///
    /// Go switches to the exponent form when the decimal exponent is below -4 or at least 6: for
    /// the shortest representation `strconv` compares against a fixed precision of 6, not the
    /// digit count (so `1e+06` and `1.234567e+06`, but `123456.7`).
    public static func appendGoFloat(_ value: Double, to out: inout [UInt8]) {
        if appendSpecial(value, to: &out) { return }
        withDigits(of: value) { digits, pointPosition in
            let exponent = pointPosition - 1
            if exponent < -4 || exponent >= 6 {
                appendExponentForm(digits, exponent: exponent, to: &out)
            } else {
                appendPositionalForm(digits, pointPosition: pointPosition, to: &out)
            }
        }
    }

    /// OpenMetrics' canonical float for `le` and `quantile`: like Go's `%g`, but a whole number
    /// gets `.0` (`1.0`, `10.0`); exponent forms stay (`1e+06`).
    public static func openMetricsFloat(_ value: Double) -> String {
        var bytes: [UInt8] = []
        appendOpenMetricsFloat(value, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends `value` as ``openMetricsFloat(_:)`` spells it.
    public static func appendOpenMetricsFloat(_ value: Double, to out: inout [UInt8]) {
        if value == 0 {
            // Both zeros, as Prometheus' own writer does: `-0.0` is not a distinct bucket.
            out.append(contentsOf: "0.0".utf8)
            return
        }
        let start = out.count
        appendGoFloat(value, to: &out)
        guard value.isFinite else { return }
        for byte in out[start...] where byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") { return }
        out.append(contentsOf: ".0".utf8)
    }

    /// Appends `value` without an exponent (`1700000000.25`), for timestamps in seconds: any
    /// float spelling is valid there, and this one reads best.
    public static func appendPositional(_ value: Double, to out: inout [UInt8]) {
        if appendSpecial(value, to: &out) { return }
        if value == value.rounded(.towardZero), value.magnitude < 0x1p53 {
            appendInteger(Int64(value), to: &out)
            return
        }
        withDigits(of: value) { digits, pointPosition in
            appendPositionalForm(digits, pointPosition: pointPosition, to: &out)
        }
    }

    // MARK: - Digits

    /// Writes zero, infinities and NaN; returns false for any other value.
    private static func appendSpecial(_ value: Double, to out: inout [UInt8]) -> Bool {
        if value.isNaN {
            out.append(contentsOf: "NaN".utf8)
        } else if value.isInfinite {
            out.append(contentsOf: (value > 0 ? "+Inf" : "-Inf").utf8)
        } else if value == 0 {
            out.append(contentsOf: (value.sign == .minus ? "-0" : "0").utf8)
        } else {
            return false
        }
        return true
    }

    /// Calls `body` with the sign-prefixed shortest round-trip digits of a finite non-zero
    /// `value` (no leading or trailing zeros) and the position of the decimal point: the value
    /// is `0.d1d2…dn × 10^pointPosition`, Go's `decimal.dp`.
    ///
    /// Swift's `description` already finds the shortest digits; this only reshapes them. The
    /// description of most values fits in a small string, so nothing is allocated; the digits
    /// go to a stack buffer.
    private static func withDigits(
        of value: Double, _ body: (_ digits: UnsafeBufferPointer<UInt8>, _ pointPosition: Int) -> Void
    ) {
        let text = value.magnitude.description
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { buffer in
            var count = 0
            if value < 0 {
                buffer[0] = UInt8(ascii: "-")
                count = 1
            }
            let firstDigit = count
            var pointPosition = 0
            var seenPoint = false
            var exponent = 0
            var exponentSign = 1
            var inExponent = false
            for byte in text.utf8 {
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9") where inExponent:
                    exponent = exponent * 10 + Int(byte &- UInt8(ascii: "0"))
                case UInt8(ascii: "0") where count == firstDigit:
                    // A leading zero: before the point it is nothing, after it it moves the point.
                    if seenPoint { pointPosition -= 1 }
                case UInt8(ascii: "0")...UInt8(ascii: "9"):
                    // Shortest digits of a double are at most 17, plus a few trailing zeros of
                    // the description that are trimmed below; 32 bytes cannot overflow.
                    if count < 31 {
                        buffer[count] = byte
                        count += 1
                    }
                    if !seenPoint { pointPosition += 1 }
                case UInt8(ascii: "."):
                    seenPoint = true
                case UInt8(ascii: "e"), UInt8(ascii: "E"):
                    inExponent = true
                case UInt8(ascii: "-") where inExponent:
                    exponentSign = -1
                default:
                    break
                }
            }
            while count > firstDigit + 1 && buffer[count - 1] == UInt8(ascii: "0") { count -= 1 }
            body(UnsafeBufferPointer(rebasing: buffer[0..<count]), pointPosition + exponentSign * exponent)
        }
    }

    /// `d.ddde±XX`, at least two exponent digits, as Go writes it.
    private static func appendExponentForm(_ digits: UnsafeBufferPointer<UInt8>, exponent: Int, to out: inout [UInt8]) {
        var index = 0
        if digits[0] == UInt8(ascii: "-") {
            out.append(UInt8(ascii: "-"))
            index = 1
        }
        out.append(digits[index])
        if digits.count > index + 1 {
            out.append(UInt8(ascii: "."))
            out.append(contentsOf: digits[(index + 1)...])
        }
        out.append(UInt8(ascii: "e"))
        out.append(exponent < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
        let magnitude = exponent.magnitude
        if magnitude < 10 { out.append(UInt8(ascii: "0")) }
        appendInteger(UInt64(magnitude), to: &out)
    }

    /// `ddd.ddd`, `0.000ddd` or `ddd000`.
    private static func appendPositionalForm(
        _ digits: UnsafeBufferPointer<UInt8>, pointPosition: Int, to out: inout [UInt8]
    ) {
        var index = 0
        if digits[0] == UInt8(ascii: "-") {
            out.append(UInt8(ascii: "-"))
            index = 1
        }
        let significant = digits[index...]
        if pointPosition <= 0 {
            out.append(contentsOf: "0.".utf8)
            for _ in 0..<(-pointPosition) { out.append(UInt8(ascii: "0")) }
            out.append(contentsOf: significant)
        } else if significant.count <= pointPosition {
            out.append(contentsOf: significant)
            for _ in 0..<(pointPosition - significant.count) { out.append(UInt8(ascii: "0")) }
        } else {
            let split = index + pointPosition
            out.append(contentsOf: digits[index..<split])
            out.append(UInt8(ascii: "."))
            out.append(contentsOf: digits[split...])
        }
    }
}
