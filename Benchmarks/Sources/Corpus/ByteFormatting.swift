/// Appending numbers, addresses and timestamps as text, without `String` per value: a
/// million-line corpus is rendered in a second or two.
extension Array where Element == UInt8 {
    @inline(__always)
    mutating func append(_ text: StaticString) {
        text.withUTF8Buffer { append(contentsOf: $0) }
    }

    /// Appends a non-negative integer in decimal.
    mutating func appendDecimal(_ value: Int) {
        precondition(value >= 0)
        if value < 10 {
            append(UInt8(truncatingIfNeeded: value) &+ 0x30)
            return
        }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for any Int
        var count = 0
        var v = value
        Swift.withUnsafeMutableBytes(of: &digits) { buffer in
            while v > 0 {
                buffer[23 - count] = UInt8(truncatingIfNeeded: v % 10) &+ 0x30
                v /= 10
                count += 1
            }
            append(contentsOf: buffer[(24 - count)...])
        }
    }

    /// Appends `value` in decimal, left-padded with zeros to `width` digits.
    mutating func appendDecimal(_ value: Int, width: Int) {
        var pad = 1
        var digits = 1
        while digits < width {
            pad *= 10
            digits += 1
        }
        var v = value
        while pad > 0 {
            append(UInt8(truncatingIfNeeded: (v / pad) % 10) &+ 0x30)
            v %= pad
            pad /= 10
        }
    }

    /// Appends the low `digits` hex digits of `value`, lowercase, most significant first.
    mutating func appendHex(_ value: UInt64, digits: Int) {
        let alphabet: StaticString = "0123456789abcdef"
        alphabet.withUTF8Buffer { hex in
            var shift = (digits - 1) * 4
            while shift >= 0 {
                append(hex[Int((value &>> UInt64(shift)) & 0xF)])
                shift -= 4
            }
        }
    }

    /// Appends an IPv4 address given as four octets packed big-endian into `address`.
    mutating func appendIPv4(_ address: UInt32) {
        appendDecimal(Int(address &>> 24))
        append(UInt8(ascii: "."))
        appendDecimal(Int((address &>> 16) & 0xFF))
        append(UInt8(ascii: "."))
        appendDecimal(Int((address &>> 8) & 0xFF))
        append(UInt8(ascii: "."))
        appendDecimal(Int(address & 0xFF))
    }

    mutating func appendIPv4(_ address: UInt32, port: Int) {
        appendIPv4(address)
        append(UInt8(ascii: ":"))
        appendDecimal(port)
    }
}

/// Calendar arithmetic for UTC timestamps, after Howard Hinnant's `days_from_civil`.
enum CivilTime {
    /// Days since 1970-01-01 of a proleptic Gregorian date.
    static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The date of a day count since 1970-01-01.
    static func date(days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

extension Array where Element == UInt8 {
    /// Appends `2026-11-22T02:55:59` for nanoseconds since the epoch (UTC, no fraction, no zone).
    mutating func appendDateTime(nanos: Int64) {
        let seconds = Int(nanos / 1_000_000_000)
        let (year, month, day) = CivilTime.date(days: seconds / 86_400)
        let secondOfDay = seconds % 86_400
        appendDecimal(year, width: 4)
        append(UInt8(ascii: "-"))
        appendDecimal(month, width: 2)
        append(UInt8(ascii: "-"))
        appendDecimal(day, width: 2)
        append(UInt8(ascii: "T"))
        appendDecimal(secondOfDay / 3600, width: 2)
        append(UInt8(ascii: ":"))
        appendDecimal(secondOfDay / 60 % 60, width: 2)
        append(UInt8(ascii: ":"))
        appendDecimal(secondOfDay % 60, width: 2)
    }

    /// Envoy's `%START_TIME%`: milliseconds and `Z` (`2026-11-22T02:55:59.906Z`).
    mutating func appendEnvoyTime(nanos: Int64) {
        appendDateTime(nanos: nanos)
        append(UInt8(ascii: "."))
        appendDecimal(Int(nanos % 1_000_000_000 / 1_000_000), width: 3)
        append(UInt8(ascii: "Z"))
    }

    /// Go's RFC 3339 with nanoseconds as containerd writes it: trailing zeros of the fraction
    /// are dropped, and the fraction with them when it is zero.
    mutating func appendContainerdTime(nanos: Int64) {
        appendDateTime(nanos: nanos)
        var fraction = Int(nanos % 1_000_000_000)
        if fraction > 0 {
            var width = 9
            while fraction % 10 == 0 {
                fraction /= 10
                width -= 1
            }
            append(UInt8(ascii: "."))
            appendDecimal(fraction, width: width)
        }
        append(UInt8(ascii: "Z"))
    }
}
