import Corpus

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Compares the Prometheus text a `logmetrics report` printed with a corpus's expected counts.
struct ReportCheck {
    let expected: ExpectedCounts
    private(set) var summary = ""

    init(expected: ExpectedCounts) {
        self.expected = expected
    }

    /// The differences, empty when everything matches exactly.
    mutating func check(exposition: String) -> [String] {
        var requests: [ExpectedCounts.Key: Int] = [:]
        var parsed = -1
        var slow = 0
        var durationMillis = 0
        var sawDurationSum = false
        for line in exposition.split(separator: "\n") where !line.hasPrefix("#") {
            guard let sample = Sample(line) else { continue }
            switch sample.name {
            case "logmetrics_http_requests_total":
                let key = ExpectedCounts.Key(
                    route: sample.labels["route"] ?? "", responseCode: Int(sample.labels["response_code"] ?? "") ?? -1,
                    responseFlags: sample.labels["response_flags"] ?? "")
                let count = Int(sample.value) ?? -1
                requests[key, default: 0] += count
                if sample.labels["slow_request"] == "true" { slow += count }
            case "logmetrics_lines_total" where sample.labels["result"] == "parsed":
                parsed = Int(sample.value) ?? -1
            case "logmetrics_http_request_duration_seconds_sum":
                sawDurationSum = true
                durationMillis += Self.millis(sample.value) ?? Int.min / 2
            default:
                break
            }
        }

        var problems: [String] = []
        var wanted: [ExpectedCounts.Key: Int] = [:]
        for (key, count) in expected.requests {
            let label = ExpectedCounts.Key(
                route: key.route, responseCode: key.responseCode, responseFlags: key.canonicalFlags)
            wanted[label, default: 0] += count
        }
        for key in Set(wanted.keys).union(requests.keys).sorted() where wanted[key] != requests[key] {
            problems.append("\(key): expected \(wanted[key] ?? 0), reported \(requests[key] ?? 0)")
        }
        if parsed != expected.lines {
            problems.append("logmetrics_lines_total{result=\"parsed\"}: expected \(expected.lines), reported \(parsed)")
        }
        if slow != expected.slowRequests {
            problems.append("slow_request=\"true\" requests: expected \(expected.slowRequests), reported \(slow)")
        }
        if !sawDurationSum || durationMillis != expected.durationMillis {
            problems.append(
                "sum of request durations: expected \(expected.durationMillis) ms, reported \(durationMillis) ms")
        }
        let total = requests.values.reduce(0, +)
        summary = """
            checked \(wanted.count) (route, response_code, response_flags) groups, \(total) requests, \
            \(slow) slow, duration sum \(durationMillis) ms, \(parsed) lines parsed
            """
        return problems
    }

    /// Seconds written as a decimal (`12.345`) to whole milliseconds, exactly.
    static func millis(_ text: Substring) -> Int? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard let whole = Int(parts[0]) else { return nil }
        guard parts.count == 2 else { return whole * 1000 }
        let fraction = parts[1]
        guard fraction.count <= 3, let digits = Int(fraction) else { return nil }
        var scaled = digits
        for _ in fraction.count..<3 { scaled *= 10 }
        return whole * 1000 + scaled
    }
}

/// One sample line of the text format: `name{a="x",b="y"} value`.
struct Sample {
    var name: Substring
    var labels: [String: String] = [:]
    var value: Substring

    init?(_ line: Substring) {
        guard let brace = line.firstIndex(of: "{") else {
            let parts = line.split(separator: " ")
            guard parts.count >= 2 else { return nil }
            name = parts[0]
            value = parts[1]
            return
        }
        name = line[..<brace]
        var i = line.index(after: brace)
        while i < line.endIndex && line[i] != "}" {
            guard let equals = line[i...].firstIndex(of: "=") else { return nil }
            let labelName = String(line[i..<equals])
            var j = line.index(equals, offsetBy: 2)  // past `="`
            var labelValue = ""
            while j < line.endIndex && line[j] != "\"" {
                if line[j] == "\\" {
                    j = line.index(after: j)
                    labelValue.append(line[j] == "n" ? "\n" : line[j])
                } else {
                    labelValue.append(line[j])
                }
                j = line.index(after: j)
            }
            labels[labelName] = labelValue
            i = line.index(after: j)
            if i < line.endIndex && line[i] == "," { i = line.index(after: i) }
        }
        guard i < line.endIndex else { return nil }
        let rest = line[line.index(after: i)...].split(separator: " ")
        guard let first = rest.first else { return nil }
        value = first
    }
}

func readFile(_ path: String) -> String? {
    let fd = path == "-" ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { if fd != STDIN_FILENO { close(fd) } }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return n == 0 ? String(decoding: bytes, as: UTF8.self) : nil }
        bytes.append(contentsOf: buffer[..<n])
    }
}

/// One paragraph about a generated corpus, for standard error.
func describe(_ expected: ExpectedCounts, format: CorpusFormat, seconds: Double) -> String {
    let lines = Double(expected.lines)
    var codes: [Int: Int] = [:]
    var flags: [String: Int] = [:]
    var routes = Set<String>()
    for (key, count) in expected.requests {
        codes[key.responseCode, default: 0] += count
        flags[key.responseFlags, default: 0] += count
        routes.insert(key.route)
    }
    func share(_ n: Int) -> String {
        let basisPoints = Int((Double(n) / lines * 10_000).rounded())
        let fraction = basisPoints % 100
        return "\(basisPoints / 100).\(fraction < 10 ? "0" : "")\(fraction)%"
    }
    let codeMix = codes.sorted { $0.key < $1.key }.map { "\($0.key) \(share($0.value))" }.joined(separator: ", ")
    let flagMix = flags.sorted { $0.value > $1.value }.map { "\($0.key) \(share($0.value))" }.joined(separator: ", ")
    let average = Double(expected.bytes) / lines
    return """
        \(expected.lines) lines (\(format)), \(expected.bytes) bytes, \(Int(average.rounded())) bytes/line, \
        \(routes.count) route labels, \(share(expected.requestsWithIdentifiers)) with ids in the path, \
        \(share(expected.slowRequests)) slower than 1 s; generated in \(Int(seconds * 1000)) ms
        codes: \(codeMix)
        flags: \(flagMix)
        """
}
