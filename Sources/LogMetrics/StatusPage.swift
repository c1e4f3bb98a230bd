import Aggregation
import CAllocator
import Exposition
import Foundation
import Reporting
import Synchronization

/// The page on `/`: what a person opening the scrape port in a browser wants to know. Requests
/// by route (with rates over the last five minutes), the inputs and their lag, series per family
/// and what the caps dropped, the lines by outcome, and the configuration in force. Plain HTML
/// and CSS, no script, so that it renders anywhere (and in a test's headless browser).
final class StatusPage: Sendable {
    static let window = 300.0
    /// Readings this far apart: the window then reaches back at most this much further, and
    /// says so.
    static let sampleInterval = 60.0
    private let started = Date()
    /// The page's window ends at the totals of the moment it is made, so no reading is kept whole.
    private let readings = Mutex(
        SlidingTable(window: StatusPage.window, spacing: StatusPage.sampleInterval / 2, keepsNewestWhole: false))
    let current: Current
    let workers: [FollowWorker]
    let configPath: String?
    let inputs: [String]

    /// The page made last, served again for a second: a browser's refreshes or a health check
    /// aimed at `/` cost one snapshot a second at most.
    private let cached = Mutex<(time: Double, page: [UInt8])?>(nil)

    init(current: Current, workers: [FollowWorker], configPath: String?, inputs: [String]) {
        self.current = current
        self.workers = workers
        self.configPath = configPath
        self.inputs = inputs
        sample()
    }

    /// Takes a reading for the window; every ``sampleInterval``, from the maintenance thread
    /// (never from a request, so that requests cannot grow what is kept).
    func sample() {
        let now = current.get
        // Only what a reading keeps: the route table's families, the busiest rows' detail.
        let schema = now.compiled.schema
        let snapshot = now.pipeline.snapshot(
            includeNative: false, families: RouteTable.familiesRead(from: schema), deferring: true)
        let table = RouteTable.table(
            fromMetrics: snapshot, schema: schema, rowsWithDetail: SlidingTable.rowsWithDetail)
        let time = monotonicSeconds()
        readings.withLock { $0.add(table, at: time) }
        lm_allocator_release_free_memory()
    }

    func render() -> (contentType: String, body: [UInt8]) {
        let time = monotonicSeconds()
        if let page = cached.withLock({ $0 }), time - page.time < 1 { return ("text/html; charset=utf-8", page.page) }
        let page = Array(make(at: time).utf8)
        cached.withLock { $0 = (time, page) }
        return ("text/html; charset=utf-8", page)
    }

    private func make(at time: Double) -> String {
        let now = current.get
        let snapshot = now.pipeline.snapshot(includeNative: false)
        let totals = RouteTable.table(fromMetrics: snapshot, schema: now.compiled.schema)
        let (recent, seconds) = readings.withLock { $0.window(endingWith: totals, at: time) }
        let recentByKey = Dictionary(recent.rows.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        var html = Self.head
        let uptime = TableWriter.elapsed(Date().timeIntervalSince(started))
        html += "<header><h1>logmetrics</h1><p>version \(LogMetrics.version) · up \(uptime) · "
        html += "<a href=\"/metrics\">/metrics</a> · <a href=\"/healthz\">/healthz</a></p></header>\n"

        let total = totals.rows.reduce(0) { $0 + $1.requests }
        let window = TableWriter.elapsed(seconds)
        html += "<section id=\"routes\"><h2>Requests by route</h2>\n"
        html += "<p>\(total) requests since start. The other columns cover the last \(window): "
        html += "errors by error_type, p50, p95 and p99 from the duration histogram's buckets as "
        html += "histogram_quantile estimates them.</p>\n"
        if totals.rows.isEmpty {
            html += "<p class=\"empty\">No requests counted yet.</p>\n"
        } else {
            html += "<table><thead><tr><th>route</th><th>since start</th><th>last \(window)</th><th>req/s</th>"
            html += "<th>4xx %</th><th>5xx %</th><th>p50</th><th>p95</th><th>p99</th><th>slow %</th><th>flags</th>"
            html += "</tr></thead><tbody>\n"
            for row in totals.rows.prefix(100) {
                let last = recentByKey[row.key] ?? Row(key: row.key)
                let rate = seconds > 0 ? Double(last.requests) / seconds : 0
                html +=
                    "<tr><td class=\"key\">\(Self.escape(TableWriter.displayable(row.key)))</td><td>\(row.requests)</td>"
                html += "<td>\(last.requests)</td><td>\(TableWriter.rate(rate))</td>"
                html +=
                    "<td\(last.clientErrors > 0 ? " class=\"warn\"" : "")>\(TableWriter.percent(last.clientErrors, of: last.requests))</td>"
                html +=
                    "<td\(last.serverErrors > 0 ? " class=\"bad\"" : "")>\(TableWriter.percent(last.serverErrors, of: last.requests))</td>"
                for q in [0.5, 0.95, 0.99] { html += "<td>\(Self.milliseconds(last.durationQuantile(q)))</td>" }
                html += "<td>\(TableWriter.percent(last.slow, of: last.requests))</td>"
                let flags = last.topFlags(3).map { "\(Self.escape(TableWriter.displayable($0.flag))) \($0.count)" }
                    .joined(separator: ", ")
                html += "<td class=\"key\">\(flags)</td></tr>\n"
            }
            html += "</tbody></table>\n"
            if totals.rows.count > 100 { html += "<p>… and \(totals.rows.count - 100) more routes.</p>\n" }
        }
        html += "</section>\n"

        html += "<section id=\"inputs\"><h2>Inputs</h2>\n"
        var statuses: [(path: String, bytes: UInt64, lines: UInt64, lag: Int64)] = []
        for worker in workers {
            for status in worker.statistics.snapshot().inputs where status.isOpen {
                statuses.append((status.path, status.bytesRead, status.linesRead, status.lagBytes))
            }
        }
        if statuses.isEmpty {
            let named = inputs.map { $0 == "-" ? "standard input" : $0 }.joined(separator: ", ")
            html += "<p>Reading \(Self.escape(named)); no file is open.</p>\n"
        } else {
            html += "<table><thead><tr><th>path</th><th>bytes read</th><th>lines read</th><th>lag (bytes)</th>"
            html += "</tr></thead><tbody>\n"
            for status in statuses.sorted(by: { $0.path < $1.path }).prefix(200) {
                html += "<tr><td class=\"key\">\(Self.escape(status.path))</td><td>\(status.bytes)</td>"
                html +=
                    "<td>\(status.lines)</td><td\(status.lag > 1 << 20 ? " class=\"warn\"" : "")>\(max(0, status.lag))</td></tr>\n"
            }
            html += "</tbody></table>\n"
        }
        html += "</section>\n"

        html += "<section id=\"lines\"><h2>Lines</h2><table><tbody>\n"
        var outcomes: [String: UInt64] = [:]
        if let lines = snapshot.families.first(where: { $0.name == "logmetrics_lines" }),
            case .integers(let values) = lines.values
        {
            for (labels, value) in zip(lines.labels, values) {
                let result = labels["result"] ?? ""
                outcomes[result, default: 0] += value
                if let reason = labels["reason"], value > 0 { outcomes[result + " · " + reason, default: 0] += value }
            }
        }
        for result in ["parsed", "skipped", "malformed", "oversized"] {
            html += "<tr><td class=\"key\">\(result)</td><td>\(outcomes[result] ?? 0)</td></tr>\n"
            for (name, value) in outcomes.sorted(by: { $0.key < $1.key }) where name.hasPrefix(result + " · ") {
                html += "<tr><td class=\"key\">\(Self.escape(name))</td><td>\(value)</td></tr>\n"
            }
        }
        html += "</tbody></table></section>\n"

        html += "<section id=\"series\"><h2>Series</h2>\n"
        html += "<table><thead><tr><th>family</th><th>series</th><th>dropped at the cap</th><th>expired</th>"
        html += "</tr></thead><tbody>\n"
        let series = Self.byFamily(snapshot, "logmetrics_series")
        let dropped = Self.byFamily(snapshot, "logmetrics_series_dropped")
        let expired = Self.byFamily(snapshot, "logmetrics_series_expired")
        for definition in now.compiled.schema.families {
            let name = definition.name
            let drops = dropped[name] ?? 0
            html += "<tr><td class=\"key\">\(Self.escape(name))</td><td>\(series[name] ?? 0)</td>"
            html += "<td\(drops > 0 ? " class=\"bad\"" : "")>\(drops)</td><td>\(expired[name] ?? 0)</td></tr>\n"
        }
        html += "</tbody></table></section>\n"

        html += "<section id=\"configuration\"><h2>Configuration</h2>\n"
        let configuration = now.compiled.configuration
        html += "<p>preset \(Self.escape(configuration.preset.rawValue)) · "
        if let configPath {
            // The text as it was when the configuration in force was loaded, not the file now.
            html += "from <code>\(Self.escape(configPath))</code>, as loaded</p>\n"
            html += "<pre>\(Self.escape(now.configText ?? ""))</pre>\n"
        } else {
            html += "built-in defaults (no --config)</p>\n"
        }
        html += "</section>\n</body></html>\n"
        return html
    }

    static func byFamily(_ snapshot: MetricSnapshot, _ name: String) -> [String: UInt64] {
        guard let family = snapshot.families.first(where: { $0.name == name }),
            case .integers(let values) = family.values
        else { return [:] }
        var result: [String: UInt64] = [:]
        for (labels, value) in zip(family.labels, values) { result[labels["family"] ?? ""] = value }
        return result
    }

    static func milliseconds(_ value: Double?) -> String {
        guard let value else { return "-" }
        return value < 10 ? String(format: "%.1f ms", value) : String(format: "%.0f ms", value)
    }

    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    static let head = """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>logmetrics</title>
        <style>
        body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1d1d1f; }
        h1 { font-size: 1.4em; margin: 0; } h2 { font-size: 1.1em; margin-top: 1.6em; }
        header p { margin: .2em 0; color: #555; }
        table { border-collapse: collapse; }
        th, td { padding: .25em .7em; border-bottom: 1px solid #ddd; text-align: right; white-space: nowrap; }
        th { background: #f4f4f6; font-weight: 600; }
        td.key, th:first-child, #routes th:last-child { text-align: left; }
        td.key { font-family: ui-monospace, monospace; }
        td.warn { color: #a15c00; } td.bad { color: #b00020; font-weight: 600; }
        pre { background: #f4f4f6; padding: .8em; overflow-x: auto; }
        .empty { color: #555; }
        </style></head><body>

        """
}
