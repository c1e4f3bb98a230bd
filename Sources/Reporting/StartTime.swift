import AccessLogParser

/// Envoy's `%START_TIME%` as Unix seconds: `2026-11-22T04:45:08.800Z`, the default of Istio's
/// and Envoy Gateway's formats (and of the TEXT format, where it is bracketed), with any number
/// of fraction digits and a `Z` or `±HH:MM` offset. Nil for anything else.
public enum StartTime {
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> Double? {
        var i = 0
        let n = bytes.count
        if n > 0, bytes[0] == UInt8(ascii: "[") { i = 1 }
        func digits(_ count: Int) -> Int? {
            guard i + count <= n else { return nil }
            var value = 0
            for _ in 0..<count {
                let d = Int(bytes[i]) - 48
                guard (0...9).contains(d) else { return nil }
                value = value * 10 + d
                i += 1
            }
            return value
        }
        func expect(_ c: Character) -> Bool {
            guard i < n, bytes[i] == c.asciiValue! else { return false }
            i += 1
            return true
        }
        guard let year = digits(4), expect("-"), let month = digits(2), expect("-"), let day = digits(2),
            i < n, bytes[i] == UInt8(ascii: "T") || bytes[i] == UInt8(ascii: " ")
        else { return nil }
        i += 1
        guard let hour = digits(2), expect(":"), let minute = digits(2), expect(":"), let second = digits(2),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second <= 60
        else { return nil }
        var fraction = 0.0
        if i < n, bytes[i] == UInt8(ascii: ".") {
            i += 1
            var scale = 0.1
            while i < n, (48...57).contains(bytes[i]) {
                fraction += Double(bytes[i] - 48) * scale
                scale /= 10
                i += 1
            }
        }
        var offset = 0
        if i < n, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") {
            let sign = bytes[i] == UInt8(ascii: "-") ? -1 : 1
            i += 1
            guard let h = digits(2) else { return nil }
            _ = expect(":")
            guard let m = digits(2) else { return nil }
            offset = sign * (h * 3600 + m * 60)
        } else {
            _ = expect("Z")
        }
        // Only a closing bracket may follow (the TEXT format's); a day must exist in its month.
        if i < n, bytes[i] == UInt8(ascii: "]") { i += 1 }
        guard i == n, day <= daysIn(month: month, year: year) else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset
        return Double(seconds) + fraction
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 in the proleptic Gregorian calendar (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}

/// The first and last request start times a report saw.
public struct TimeSpan: Sendable, Equatable {
    public var first: Double?
    public var last: Double?

    public init() {}

    public mutating func note(_ record: AccessRecord) {
        guard let raw = record.rawBytes(.startTime), let time = StartTime.parse(raw) else { return }
        if first.map({ time < $0 }) ?? true { first = time }
        if last.map({ time > $0 }) ?? true { last = time }
    }
}

/// Passes records on to `inner` after noting their start time.
public struct TimeSpanSink<Inner: AccessRecordSink>: AccessRecordSink {
    public var inner: UnsafeMutablePointer<Inner>
    public var span: TimeSpan

    public init(inner: UnsafeMutablePointer<Inner>, span: TimeSpan) {
        self.inner = inner
        self.span = span
    }

    public mutating func consume(_ record: AccessRecord) {
        span.note(record)
        inner.pointee.consume(record)
    }

    public mutating func reject(_ outcome: LineOutcome, line: UnsafeBufferPointer<UInt8>) {
        inner.pointee.reject(outcome, line: line)
    }
}
