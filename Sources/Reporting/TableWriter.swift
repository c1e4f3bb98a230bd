/// Renders a ``Table`` for a person (aligned columns) or a program (JSON).
public enum TableWriter {
    public static let columns = ["REQUESTS", "REQ/S", "4XX%", "5XX%", "P50", "P95", "P99", "SLOW%", "FLAGS"]

    /// Aligned columns, at most `top` rows (all when nil), then a line of totals.
    ///
    /// - Parameter rateSeconds: the seconds rates are over; the log's time span when nil.
    public static func text(_ table: Table, top: Int? = nil, rateSeconds: Double? = nil, width: Int? = nil) -> String {
        let seconds = rateSeconds ?? table.spanSeconds
        var lines: [[String]] = [[table.grouping.rawValue.uppercased()] + columns]
        let shown = top.map { Array(table.rows.prefix($0)) } ?? table.rows
        for row in shown {
            lines.append([
                row.key.isEmpty ? "\"\"" : displayable(row.key),
                String(row.requests),
                seconds.map { rate(Double(row.requests) / $0) } ?? "-",
                percent(row.clientErrors, of: row.requests),
                percent(row.serverErrors, of: row.requests),
                duration(row.durationQuantile(0.5)),
                duration(row.durationQuantile(0.95)),
                duration(row.durationQuantile(0.99)),
                percent(row.slow, of: row.requests),
                row.topFlags(3).map { "\(displayable($0.flag)):\($0.count)" }.joined(separator: " "),
            ])
        }
        var widths = Array(repeating: 0, count: lines[0].count)
        for line in lines {
            for (k, cell) in line.enumerated() { widths[k] = max(widths[k], cell.count) }
        }
        // A long key (a raw path) must not push the numbers off a terminal: cut it in the middle.
        if let width {
            let others = widths.dropFirst().dropLast().reduce(0, +) + 2 * (widths.count - 1) + widths.last!
            let room = max(12, width - others)
            if widths[0] > room {
                widths[0] = room
                for k in 1..<lines.count { lines[k][0] = shortened(lines[k][0], to: room) }
            }
        }
        var out = ""
        for line in lines {
            var cells: [String] = []
            for (k, cell) in line.enumerated() {
                let pad = String(repeating: " ", count: max(0, widths[k] - cell.count))
                // The key and the flags read left to right; numbers line up on the right.
                if k == 0 || k == line.count - 1 {
                    cells.append(cell + (k == line.count - 1 ? "" : pad))
                } else {
                    cells.append(pad + cell)
                }
            }
            out += cells.joined(separator: "  ").trimmingTrailingSpaces() + "\n"
        }
        if let top, table.rows.count > top {
            out += "… \(table.rows.count - top) more \(plural(table.grouping)) (--top)\n"
        }
        out += "\n" + summary(table, rateSeconds: seconds) + "\n"
        return out
    }

    /// One line: the requests, the time they span, and what the lines were.
    public static func summary(_ table: Table, rateSeconds: Double?) -> String {
        var parts = ["\(table.requests) requests"]
        if let span = table.spanSeconds, rateSeconds == span {
            parts[0] += " over \(elapsed(span)) (\(rate(Double(table.requests) / span)) req/s)"
        }
        if table.tcpConnections > 0 { parts.append("\(table.tcpConnections) TCP connections") }
        let order = ["parsed", "skipped", "malformed", "oversized"]
        let lineParts = order.compactMap { name in table.lines[name].map { "\($0) \(name)" } }
        if !lineParts.isEmpty { parts.append("lines: " + lineParts.joined(separator: ", ")) }
        return parts.joined(separator: " · ")
    }

    /// The table as one JSON object; ratios are fractions (0.25), durations milliseconds.
    public static func json(_ table: Table, top: Int? = nil, rateSeconds: Double? = nil) -> String {
        let seconds = rateSeconds ?? table.spanSeconds
        var out = "{\"group_by\":\(quoted(table.grouping.rawValue)),\"requests\":\(table.requests)"
        out += ",\"span_seconds\":\(number(table.spanSeconds))"
        out += ",\"first_request\":\(number(table.firstRequest)),\"last_request\":\(number(table.lastRequest))"
        out += ",\"tcp_connections\":\(table.tcpConnections)"
        out += ",\"lines\":{"
        out += table.lines.sorted { $0.key < $1.key }.map { "\(quoted($0.key)):\($0.value)" }.joined(separator: ",")
        out += "},\"rows\":["
        let shown = top.map { Array(table.rows.prefix($0)) } ?? table.rows
        out += shown.map { row in
            var o = "{\"key\":\(quoted(row.key)),\"requests\":\(row.requests)"
            o += ",\"requests_per_second\":\(number(seconds.map { Double(row.requests) / $0 }))"
            o += ",\"client_errors\":\(row.clientErrors),\"server_errors\":\(row.serverErrors),\"slow\":\(row.slow)"
            o += ",\"client_error_ratio\":\(number(ratio(row.clientErrors, row.requests)))"
            o += ",\"server_error_ratio\":\(number(ratio(row.serverErrors, row.requests)))"
            o += ",\"slow_ratio\":\(number(ratio(row.slow, row.requests)))"
            o += ",\"duration_ms\":{\"p50\":\(number(row.durationQuantile(0.5)))"
            o += ",\"p95\":\(number(row.durationQuantile(0.95))),\"p99\":\(number(row.durationQuantile(0.99)))"
            let mean = row.durationCount > 0 ? row.durationSumMilliseconds / Double(row.durationCount) : nil
            o += ",\"mean\":\(number(mean))}"
            o += ",\"response_flags\":{"
            o += row.topFlags(.max).map { "\(quoted($0.flag)):\($0.count)" }.joined(separator: ",")
            return o + "}}"
        }.joined(separator: ",")
        return out + "]}\n"
    }

    /// `text` with control characters (C0, DEL, C1) shown as `\xNN`: keys come from the log, and
    /// an escape sequence in a Host header or a path must not reach the terminal as one.
    public static func displayable(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            if isControl(scalar) {
                let hex = String(scalar.value, radix: 16, uppercase: true)
                out += "\\x" + (hex.count < 2 ? "0" : "") + hex
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }

    static func plural(_ grouping: Grouping) -> String {
        switch grouping {
        case .route: "routes"
        case .destination: "destinations"
        case .authority: "authorities"
        case .method: "methods"
        case .responseCode: "response codes"
        }
    }

    static func ratio(_ part: UInt64, _ whole: UInt64) -> Double? {
        whole == 0 ? nil : Double(part) / Double(whole)
    }

    public static func percent(_ part: UInt64, of whole: UInt64) -> String {
        guard whole > 0 else { return "-" }
        if part == 0 { return "0" }
        return fixed(100 * Double(part) / Double(whole), digits: 1)
    }

    public static func rate(_ value: Double) -> String {
        value >= 100 ? String(Int(value.rounded())) : fixed(value, digits: value >= 10 ? 1 : 2)
    }

    /// Milliseconds as a person reads them: `0ms`, `12ms`, `1.25s`, `3m20s`.
    static func duration(_ milliseconds: Double?) -> String {
        guard let ms = milliseconds else { return "-" }
        // The last bucket has no upper end: a quantile there is only known to be above it.
        if let last = RouteTable.durationLayout.upperBounds.last, ms >= last { return ">" + elapsed(last / 1000) }
        if ms < 10 { return (ms == ms.rounded() ? String(Int(ms)) : fixed(ms, digits: 1)) + "ms" }
        if ms < 1000 { return String(Int(ms.rounded())) + "ms" }
        if ms < 60_000 { return fixed(ms / 1000, digits: ms < 10_000 ? 2 : 1) + "s" }
        return elapsed(ms / 1000)
    }

    public static func elapsed(_ seconds: Double) -> String {
        if seconds < 60 { return fixed(seconds, digits: seconds < 10 ? 1 : 0) + "s" }
        let whole = Int(seconds.rounded())
        if whole < 3600 { return "\(whole / 60)m\(whole % 60)s" }
        if whole < 86_400 { return "\(whole / 3600)h\((whole % 3600) / 60)m" }
        return "\(whole / 86_400)d\((whole % 86_400) / 3600)h"
    }

    /// `value` with `digits` decimals, without Foundation's formatter.
    static func fixed(_ value: Double, digits: Int) -> String {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = Int64((value * scale).rounded())
        let whole = scaled / Int64(scale)
        let part = abs(scaled % Int64(scale))
        guard digits > 0 else { return String(whole) }
        let fraction = String(part)
        return (scaled < 0 && whole == 0 ? "-" : "") + "\(whole)."
            + String(repeating: "0", count: digits - fraction.count) + fraction
    }

    static func number(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "null" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }

    static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let c where c.value < 0x20:
                let hex = String(c.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    static func shortened(_ s: String, to width: Int) -> String {
        guard s.count > width else { return s }
        let head = (width - 1) / 2
        let tail = width - 1 - head
        return String(s.prefix(head)) + "…" + String(s.suffix(tail))
    }
}

extension String {
    fileprivate func trimmingTrailingSpaces() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
