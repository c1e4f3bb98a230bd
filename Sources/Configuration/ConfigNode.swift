import Yams

/// A YAML node with where it came from, and typed readers that fail with that place.
struct ConfigNode {
    let node: Node
    let file: String
    let path: String

    var line: Int { node.mark?.line ?? 0 }
    var column: Int { node.mark?.column ?? 0 }

    func error(_ message: String) -> ConfigurationError {
        ConfigurationError(file: file, line: line, column: column, key: path, message: message)
    }

    func child(_ key: String, _ node: Node) -> ConfigNode {
        ConfigNode(node: node, file: file, path: path.isEmpty ? key : "\(path).\(key)")
    }

    /// The members of a mapping, in file order. Keys not in `allowed` are rejected, with the
    /// closest allowed key suggested: a misspelt key silently ignored is a 3 a.m. outage.
    func mapping(allowed: [String]? = nil) throws(ConfigurationError) -> [(key: String, value: ConfigNode)] {
        if case .scalar(let scalar) = node, scalar.string.isEmpty || scalar.tag.rawValue == Tag.Name.null.rawValue {
            return []
        }
        guard case .mapping(let mapping) = node else { throw error("expected a mapping (key: value)") }
        var members: [(key: String, value: ConfigNode)] = []
        var seen: Set<String> = []
        for (keyNode, value) in mapping {
            guard let key = keyNode.string else {
                throw ConfigNode(node: keyNode, file: file, path: path).error("keys must be strings")
            }
            let member = child(key, value)
            let keyPlace = ConfigNode(node: keyNode, file: file, path: member.path)
            if let allowed, !allowed.contains(key) {
                var message = "unknown key"
                if let suggestion = Self.closest(key, in: allowed) { message += "; did you mean \"\(suggestion)\"?" }
                message += " (expected one of: \(allowed.joined(separator: ", ")))"
                throw keyPlace.error(message)
            }
            guard seen.insert(key).inserted else { throw keyPlace.error("duplicate key") }
            members.append((key, member))
        }
        return members
    }

    /// The node at a dotted key path below this one (mapping keys only), as far as it exists.
    func find(_ keyPath: String) -> ConfigNode? {
        var current = self
        for key in keyPath.split(separator: ".") {
            guard case .mapping(let mapping) = current.node,
                let value = mapping.first(where: { $0.key.string == String(key) })?.value
            else { return current.path.isEmpty ? nil : current }
            current = current.child(String(key), value)
        }
        return current
    }

    func sequence() throws(ConfigurationError) -> [ConfigNode] {
        guard case .sequence(let sequence) = node else { throw error("expected a list") }
        return sequence.enumerated().map { ConfigNode(node: $1, file: file, path: "\(path)[\($0)]") }
    }

    func string() throws(ConfigurationError) -> String {
        guard case .scalar(let scalar) = node else { throw error("expected a string") }
        return scalar.string
    }

    func nonEmptyString() throws(ConfigurationError) -> String {
        let value = try string()
        guard !value.isEmpty else { throw error("must not be empty") }
        return value
    }

    func bool() throws(ConfigurationError) -> Bool {
        guard let value = node.bool else { throw error("expected true or false") }
        return value
    }

    func int(in range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
        guard let value = node.int else { throw error("expected a whole number") }
        guard range.contains(value) else {
            throw error("\(value) is out of range \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    func double() throws(ConfigurationError) -> Double {
        guard let value = node.float ?? node.int.map(Double.init), value.isFinite else {
            throw error("expected a number")
        }
        return value
    }

    /// `30s`, `10m`, `1h`, `1h30m`, `2d`, or a number of seconds.
    func seconds() throws(ConfigurationError) -> Double {
        if let number = node.int { return Double(number) }
        let text = try string()
        guard let seconds = Self.parseDuration(text) else {
            throw error("\"\(text)\" is not a duration (examples: 90s, 10m, 1h, 1h30m)")
        }
        return seconds
    }

    func strings() throws(ConfigurationError) -> [String] {
        if case .scalar = node { return [try string()] }
        return try sequence().map { node throws(ConfigurationError) in try node.string() }
    }

    static func parseDuration(_ text: String) -> Double? {
        var total = 0.0
        var number = ""
        var sawUnit = false
        for character in text {
            if character.isNumber || character == "." {
                number.append(character)
                continue
            }
            guard let value = Double(number) else { return nil }
            let unit: Double
            switch character {
            case "s": unit = 1
            case "m": unit = 60
            case "h": unit = 3600
            case "d": unit = 86400
            default: return nil
            }
            total += value * unit
            number = ""
            sawUnit = true
        }
        if !number.isEmpty {
            guard !sawUnit, let value = Double(number) else { return nil }
            total += value
        }
        return text.isEmpty ? nil : total
    }

    /// The allowed key at the smallest edit distance, if it is close enough to be a typo.
    static func closest(_ key: String, in allowed: [String]) -> String? {
        let scored = allowed.map { ($0, distance(Array(key), Array($0))) }.min { $0.1 < $1.1 }
        guard let (best, score) = scored, score <= max(2, key.count / 3) else { return nil }
        return best
    }

    static func distance(_ a: [Character], _ b: [Character]) -> Int {
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var current = [i + 1]
            for (j, y) in b.enumerated() {
                current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }
}
