/// A strict parser for the text formats, to read the writers' output back: anything the
/// writers should never produce is an error, so a test that parses cleanly has seen only
/// well-formed lines.
struct ParsedSample: Equatable {
    var name: String
    var labels: [String: String]
    var value: String
    var exemplar: ParsedExemplar?
}

struct ParsedExemplar: Equatable {
    var labels: [String: String]
    var value: String
    var timestamp: String?
}

struct ParsedExposition {
    var samples: [ParsedSample] = []
    /// `# HELP`/`# TYPE`/`# UNIT` lines: kind, name, text (HELP unescaped).
    var metadata: [(kind: String, name: String, text: String)] = []
    var sawEOF = false

    func samples(named name: String) -> [ParsedSample] { samples.filter { $0.name == name } }

    func type(of name: String) -> String? {
        metadata.first { $0.kind == "TYPE" && $0.name == name }?.text
    }
}

struct ParseError: Error, CustomStringConvertible {
    var line: Int
    var reason: String
    var description: String { "line \(line): \(reason)" }
}

enum ExpositionParser {
    static func parse(_ bytes: [UInt8], openMetrics: Bool) throws -> ParsedExposition {
        guard bytes.last == 0x0A else { throw ParseError(line: 0, reason: "no final newline") }
        var result = ParsedExposition()
        let lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).dropLast()
        for (number, line) in lines.enumerated() {
            if result.sawEOF { throw ParseError(line: number, reason: "content after # EOF") }
            guard !line.isEmpty else {
                if openMetrics { throw ParseError(line: number, reason: "blank line") }
                continue
            }
            guard let text = String(validating: line, as: UTF8.self) else {
                throw ParseError(line: number, reason: "invalid UTF-8")
            }
            if text.hasPrefix("#") {
                try parseComment(text, line: number, openMetrics: openMetrics, into: &result)
            } else {
                var cursor = Cursor(text: Array(text.unicodeScalars), line: number)
                result.samples.append(try cursor.sample(openMetrics: openMetrics))
            }
        }
        if openMetrics && !result.sawEOF { throw ParseError(line: lines.count, reason: "missing # EOF") }
        return result
    }

    static func parseComment(_ text: String, line: Int, openMetrics: Bool, into result: inout ParsedExposition) throws {
        if text == "# EOF" {
            guard openMetrics else { throw ParseError(line: line, reason: "# EOF in text format") }
            result.sawEOF = true
            return
        }
        let parts = text.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count >= 3, parts[0] == "#" else { throw ParseError(line: line, reason: "bad comment") }
        let kind = String(parts[1])
        guard ["HELP", "TYPE", "UNIT"].contains(kind) else { throw ParseError(line: line, reason: "unknown comment") }
        if kind == "UNIT" && !openMetrics { throw ParseError(line: line, reason: "UNIT in text format") }
        let rest = parts.count > 3 ? String(parts[3]) : ""
        var unescaped = ""
        var escaping = false
        for scalar in rest.unicodeScalars {
            if escaping {
                switch scalar {
                case "\\": unescaped.append("\\")
                case "n": unescaped.append("\n")
                case "\"" where openMetrics: unescaped.append("\"")
                default: throw ParseError(line: line, reason: "bad escape in HELP")
                }
                escaping = false
            } else if scalar == "\\" {
                escaping = true
            } else {
                if scalar == "\"" && openMetrics { throw ParseError(line: line, reason: "unescaped quote in HELP") }
                unescaped.unicodeScalars.append(scalar)
            }
        }
        let name = String(parts[2])
        if result.metadata.contains(where: { $0.kind == kind && $0.name == name }) {
            throw ParseError(line: line, reason: "second \(kind) for \(name)")
        }
        result.metadata.append((kind, name, unescaped))
    }
}

/// Reads one sample line scalar by scalar.
private struct Cursor {
    let text: [Unicode.Scalar]
    let line: Int
    var index = 0

    init(text: [Unicode.Scalar], line: Int) {
        self.text = text
        self.line = line
    }

    var current: Unicode.Scalar? { index < text.count ? text[index] : nil }

    func fail(_ reason: String) -> ParseError { ParseError(line: line, reason: reason) }

    mutating func expect(_ scalar: Unicode.Scalar) throws {
        guard current == scalar else { throw fail("expected \(scalar) at \(index)") }
        index += 1
    }

    mutating func name() throws -> String {
        var name = ""
        while let scalar = current,
            ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
                || ("0"..."9").contains(scalar) || scalar == "_" || scalar == ":"
        {
            name.unicodeScalars.append(scalar)
            index += 1
        }
        guard let first = name.unicodeScalars.first, !("0"..."9").contains(first) else { throw fail("bad name") }
        return name
    }

    mutating func labels() throws -> [String: String] {
        var labels: [String: String] = [:]
        try expect("{")
        if current == "}" {
            index += 1
            return labels
        }
        while true {
            let name = try self.name()
            guard !name.contains(":") else { throw fail("colon in label name") }
            try expect("=")
            try expect("\"")
            var value = ""
            while true {
                guard let scalar = current else { throw fail("unterminated label value") }
                index += 1
                if scalar == "\"" { break }
                if scalar == "\n" { throw fail("raw newline in label value") }
                if scalar == "\\" {
                    guard let escaped = current else { throw fail("dangling escape") }
                    index += 1
                    switch escaped {
                    case "\\": value.append("\\")
                    case "\"": value.append("\"")
                    case "n": value.append("\n")
                    default: throw fail("bad escape \\\(escaped)")
                    }
                } else {
                    value.unicodeScalars.append(scalar)
                }
            }
            guard labels.updateValue(value, forKey: name) == nil else { throw fail("duplicate label \(name)") }
            if current == "," {
                index += 1
                continue
            }
            try expect("}")
            return labels
        }
    }

    mutating func number() throws -> String {
        var token = ""
        while let scalar = current, scalar != " " {
            token.unicodeScalars.append(scalar)
            index += 1
        }
        guard ["+Inf", "-Inf", "NaN"].contains(token) || Double(token) != nil else { throw fail("bad number \(token)") }
        return token
    }

    mutating func sample(openMetrics: Bool) throws -> ParsedSample {
        let name = try self.name()
        let labels = current == "{" ? try self.labels() : [:]
        try expect(" ")
        let value = try number()
        var exemplar: ParsedExemplar?
        if current == " " {
            index += 1
            guard openMetrics, current == "#" else { throw fail("trailing content (timestamps are not written)") }
            index += 1
            try expect(" ")
            let exemplarLabels = try self.labels()
            try expect(" ")
            let exemplarValue = try number()
            var timestamp: String?
            if current == " " {
                index += 1
                timestamp = try number()
            }
            exemplar = ParsedExemplar(labels: exemplarLabels, value: exemplarValue, timestamp: timestamp)
        }
        guard current == nil else { throw fail("trailing content") }
        return ParsedSample(name: name, labels: labels, value: value, exemplar: exemplar)
    }
}

extension ParsedExposition {
    /// Checks that every histogram's `+Inf` bucket equals its `_count`, and buckets are
    /// cumulative, for every label set. Returns how many histogram series were checked.
    func checkHistogramInvariants() throws -> Int {
        var checked = 0
        for sample in samples where sample.name.hasSuffix("_bucket") && sample.labels["le"] == "+Inf" {
            let base = String(sample.name.dropLast("_bucket".count))
            var labels = sample.labels
            labels["le"] = nil
            guard let count = samples.first(where: { $0.name == base + "_count" && $0.labels == labels }) else {
                throw ParseError(line: 0, reason: "no _count for \(base) \(labels)")
            }
            guard Double(count.value) == Double(sample.value) else {
                throw ParseError(line: 0, reason: "+Inf \(sample.value) != _count \(count.value) for \(base)")
            }
            let buckets = samples.filter {
                $0.name == sample.name && $0.labels.filter { $0.key != "le" } == labels
            }
            var previous = -Double.infinity
            var previousBound = -Double.infinity
            for bucket in buckets {
                let value = Double(bucket.value)!
                let bound = bucket.labels["le"] == "+Inf" ? Double.infinity : Double(bucket.labels["le"]!)!
                guard value >= previous, bound > previousBound else {
                    throw ParseError(line: 0, reason: "buckets of \(base) not cumulative or not increasing")
                }
                previous = value
                previousBound = bound
            }
            checked += 1
        }
        return checked
    }
}
