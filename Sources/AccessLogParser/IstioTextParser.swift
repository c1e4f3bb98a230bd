/// Reads Istio's default TEXT access-log format (and Envoy's built-in default, which is its prefix
/// with the upstream host last) into an ``AccessRecord``.
///
/// Layouts, told apart by what follows the response flags:
/// - Istio 1.9+ (including 1.23+, where field 17 became `UPSTREAM_CLUSTER_RAW`): two unquoted
///   tokens (response code details, connection termination details), then the quoted upstream
///   transport failure reason.
/// - Istio 1.8: the quoted transport failure reason directly.
/// - Istio 1.3-1.7: a quoted mixer status, then the quoted transport failure reason.
/// - Envoy's default: the byte counts directly, and the line ends with the quoted upstream host.
///
/// Text values are not escaped, so a `"` inside a user agent would confuse a left-to-right split.
/// The parser takes the fixed fields from the left up to the upstream service time and the
/// unquoted tail from the right, then splits the quoted middle
/// (`"XFF" "USER-AGENT" "REQUEST-ID" "AUTHORITY" "UPSTREAM-HOST"`) from both ends, so that
/// whatever a client puts in its user agent lands in the user agent.
public struct IstioTextParser: Sendable {
    public enum Status: Equatable, Sendable {
        case record
        /// Starts with `[` but is not an access-log line (Envoy's own `[time][thread][level]` lines).
        case notAccessLog
        case malformed
    }

    public init() {}

    public func parse(_ line: UnsafeBufferPointer<UInt8>, into record: AccessRecord) -> Status {
        guard let p = line.baseAddress else { return .notAccessLog }
        var n = line.count
        while n > 0 && (p[n - 1] == 0x20 || p[n - 1] == 0x09) { n -= 1 }
        record.begin(p, length: n, format: .text)
        guard n > 0, p[0] == UInt8(ascii: "[") else { return .notAccessLog }
        let timeEnd = firstIndex(of: UInt8(ascii: "]"), in: p, from: 1, end: n)
        guard timeEnd + 2 < n, p[timeEnd + 1] == 0x20, p[timeEnd + 2] == asciiQuote else { return .notAccessLog }
        set(.startTime, p, 1, timeEnd, record)

        // "METHOD PATH PROTOCOL": the request line ends at the first `" ` followed by a digit.
        let requestStart = timeEnd + 3
        var requestEnd = requestStart
        while true {
            requestEnd = firstIndex(of: asciiQuote, in: p, from: requestEnd, end: n)
            guard requestEnd + 2 < n else { return .malformed }
            if p[requestEnd + 1] == 0x20 && isDigit(p[requestEnd + 2]) { break }
            requestEnd += 1
        }
        let methodEnd = firstIndex(of: 0x20, in: p, from: requestStart, end: requestEnd)
        var protocolStart = requestEnd
        while protocolStart > methodEnd && p[protocolStart - 1] != 0x20 { protocolStart -= 1 }
        guard methodEnd < requestEnd, protocolStart > methodEnd else { return .malformed }
        set(.method, p, requestStart, methodEnd, record)
        set(.path, p, methodEnd + 1, protocolStart - 1, record)
        set(.protocol, p, protocolStart, requestEnd, record)

        var i = requestEnd + 2
        guard let code = token(p, &i, n) else { return .malformed }
        setNumber(.responseCode, p, code, record)
        guard let flags = token(p, &i, n) else { return .malformed }
        set(.responseFlags, p, flags.start, flags.end, record)

        guard i < n else { return .malformed }
        if p[i] == asciiQuote {
            guard let first = quoted(p, &i, n) else { return .malformed }
            if i < n && p[i] == asciiQuote {
                // Istio <= 1.7: the first quoted field was the mixer status.
                guard let reason = quoted(p, &i, n) else { return .malformed }
                set(.upstreamTransportFailureReason, p, reason.start, reason.end, record)
            } else {
                set(.upstreamTransportFailureReason, p, first.start, first.end, record)
            }
        } else if !isDigit(p[i]) {
            guard let details = token(p, &i, n), let termination = token(p, &i, n) else { return .malformed }
            set(.responseCodeDetails, p, details.start, details.end, record)
            set(.connectionTerminationDetails, p, termination.start, termination.end, record)
            guard i < n, p[i] == asciiQuote, let reason = quoted(p, &i, n) else { return .malformed }
            set(.upstreamTransportFailureReason, p, reason.start, reason.end, record)
        }
        for field in [AccessLogField.bytesReceived, .bytesSent, .duration, .upstreamServiceTime] {
            guard let value = token(p, &i, n) else { return .malformed }
            setNumber(field, p, value, record)
        }

        // The unquoted tail, right to left, unless the line ends with the quoted upstream host.
        var end = n
        if p[n - 1] != asciiQuote {
            let tail: [AccessLogField] = [
                .routeName, .requestedServerName, .downstreamRemoteAddress, .downstreamLocalAddress,
                .upstreamLocalAddress, .upstreamCluster,
            ]
            for field in tail {
                var start = end
                while start > i && p[start - 1] != 0x20 { start -= 1 }
                guard start > i else { return .malformed }
                set(field, p, start, end, record)
                end = start - 1
            }
        }
        // The quoted middle: `"a" "b" ... "e"` between i and end.
        guard end - i >= 2, p[i] == asciiQuote, p[end - 1] == asciiQuote else { return .malformed }
        var separators: InlineArray<4, Int> = .init(repeating: 0)
        // From the left: the X-Forwarded-For value ends at the first `" "`.
        guard let first = separator(p, from: i + 1, to: end - 1) else { return .malformed }
        separators[0] = first
        // From the right: upstream host, authority and request id end at the last three.
        var right = end - 1
        for k in stride(from: 3, through: 1, by: -1) {
            guard let s = separatorBackward(p, from: first + 3, before: right) else { return .malformed }
            separators[k] = s
            right = s
        }
        guard separators[1] >= separators[0] + 3 else { return .malformed }
        set(.xForwardedFor, p, i + 1, separators[0], record)
        set(.userAgent, p, separators[0] + 3, separators[1], record)
        set(.requestID, p, separators[1] + 3, separators[2], record)
        set(.authority, p, separators[2] + 3, separators[3], record)
        set(.upstreamHost, p, separators[3] + 3, end - 1, record)
        return .record
    }

    @inline(__always)
    func isDigit(_ c: UInt8) -> Bool { c &- UInt8(ascii: "0") < 10 }

    /// The next space-separated token at `i`; moves `i` past it and its separator.
    func token(_ p: UnsafePointer<UInt8>, _ i: inout Int, _ n: Int) -> (start: Int, end: Int)? {
        guard i < n, p[i] != 0x20 else { return nil }
        let start = i
        let end = firstIndex(of: 0x20, in: p, from: i, end: n)
        i = end == n ? n : end + 1
        return (start, end)
    }

    /// A quoted field written by Envoy itself (no quotes inside), ending at `" ` or at the end.
    func quoted(_ p: UnsafePointer<UInt8>, _ i: inout Int, _ n: Int) -> (start: Int, end: Int)? {
        guard i < n, p[i] == asciiQuote else { return nil }
        let close = firstIndex(of: asciiQuote, in: p, from: i + 1, end: n)
        guard close < n, close + 1 == n || p[close + 1] == 0x20 else { return nil }
        let result = (i + 1, close)
        i = close + 1 == n ? n : close + 2
        return result
    }

    /// Position of the first `"` of a `" "` separator in `p[from..<to]`.
    func separator(_ p: UnsafePointer<UInt8>, from: Int, to: Int) -> Int? {
        var k = from
        while k + 2 < to + 1 {
            if p[k] == asciiQuote && p[k + 1] == 0x20 && p[k + 2] == asciiQuote { return k }
            k += 1
        }
        return nil
    }

    /// Position of the first `"` of the last `" "` separator that ends before `before`.
    func separatorBackward(_ p: UnsafePointer<UInt8>, from: Int, before: Int) -> Int? {
        var k = before - 3
        while k >= from {
            if p[k] == asciiQuote && p[k + 1] == 0x20 && p[k + 2] == asciiQuote { return k }
            k -= 1
        }
        return nil
    }

    @inline(__always)
    func set(_ field: AccessLogField, _ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int, _ record: AccessRecord) {
        if end <= start || (end - start == 1 && p[start] == UInt8(ascii: "-")) {
            record.setAbsent(field)
        } else {
            record.setText(field, start: start, end: end, escaped: false)
        }
    }

    @inline(__always)
    func setNumber(
        _ field: AccessLogField, _ p: UnsafePointer<UInt8>, _ token: (start: Int, end: Int), _ record: AccessRecord
    ) {
        if token.end - token.start == 1 && p[token.start] == UInt8(ascii: "-") {
            record.setAbsent(field)
        } else if let value = parseInteger(p, token.start, token.end) {
            record.setNumber(field, value, start: token.start, end: token.end)
        } else {
            record.setInvalidNumber(field)
        }
    }
}
