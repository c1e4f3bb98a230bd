/// Finds the first rule that matches a request, quickly even with hundreds of rules.
///
/// Exact paths are looked up in a table and templates walked in a trie of path segments, so the
/// cost grows with the depth of the path rather than with the number of rules. Each trie node
/// knows the smallest rule index below it, which prunes branches that cannot beat a match already
/// found. Prefix rules are few and checked in order; regular expressions, the slowest, are
/// evaluated last and only when they come before the best match so far.
///
/// Not shared between threads: each shard builds its own from the same rules.
public final class RouteMatcher: @unchecked Sendable {
    // @unchecked Sendable: a matcher holds compiled regular expressions, which are not Sendable;
    // each shard owns its own and uses it only with the shard's lock held.
    public let rules: [RouteRule]
    /// Every key of this matcher's tables is hashed with it.
    private let hashSeed: UInt64
    private let constraints: [Constraint]
    private let exact: ByteTable
    private let exactRules: [[Int]]
    private var nodes: [Node] = [Node()]
    /// Prefix rules in order: where each prefix is in ``prefixBytes``, and its rule. Plain
    /// integers, so that walking them per line copies no array and retains nothing.
    private let prefixRules: [(start: Int, count: Int, rule: Int)]
    private let prefixBytes: [UInt8]
    private let regexRules: [(regex: Regex<AnyRegexOutput>, rule: Int)]
    /// The rule of the first regular expression (`Int.max`: none), read per line without
    /// touching ``regexRules``, whose elements cost a metadata lookup and a retain to read.
    private let firstRegexRule: Int
    private let anyPathRules: [Int]

    private struct Node {
        var literals = ByteTable()
        var literalChildren: [Int] = []
        var parameter: Int?
        /// Rules whose template ends at this node.
        var endRules: [Int] = []
        /// Rules whose template ends here with a `{name...}` tail.
        var restRules: [Int] = []
        var minRule = Int.max
    }

    private struct Constraint {
        var methods: [[UInt8]]
        var authority: [UInt8]?
        var authorityHasPort = false
        var routeName: [UInt8]?
    }

    public init(rules: [RouteRule]) throws(RouteRuleError) {
        self.rules = rules
        let seed = UInt64.random(in: .min ... .max)
        hashSeed = seed
        var constraints: [Constraint] = []
        let exact = ByteTable()
        var exactRules: [[Int]] = []
        var prefixes: [(prefix: [UInt8], rule: Int)] = []
        var regexes: [(regex: Regex<AnyRegexOutput>, rule: Int)] = []
        var anyPath: [Int] = []
        var templates: [(segments: [TemplateSegment], rule: Int)] = []
        for (index, rule) in rules.enumerated() {
            guard !rule.name.isEmpty else { throw .emptyName(rule: index) }
            let authority = rule.authority.map { Array($0.lowercased().utf8) }
            constraints.append(
                Constraint(
                    methods: rule.methods.map { Array($0.uppercased().utf8) }, authority: authority,
                    authorityHasPort: authority?.contains(UInt8(ascii: ":")) ?? false,
                    routeName: rule.routeName.map { Array($0.utf8) }))
            switch rule.path {
            case nil:
                anyPath.append(index)
            case .exact(let path):
                let bytes = Array(path.utf8)
                let hash = bytes.withUnsafeBufferPointer { hashBytes($0.baseAddress, $0.count, seed: seed) }
                if let slot = bytes.withUnsafeBufferPointer({ exact.find($0, hash: hash) }) {
                    exactRules[Int(slot)].append(index)
                } else {
                    bytes.withUnsafeBufferPointer { exact.insert($0, hash: hash, value: UInt32(exactRules.count)) }
                    exactRules.append([index])
                }
            case .prefix(let prefix):
                prefixes.append((Array(prefix.utf8), index))
            case .template(let template):
                templates.append((try Self.parseTemplate(template, rule: index), index))
            case .regex(let pattern):
                do {
                    regexes.append((try Regex(pattern), index))
                } catch {
                    throw .invalidRegex(rule: index, pattern: pattern, reason: "\(error)")
                }
            }
        }
        self.constraints = constraints
        readsMethod = constraints.contains { !$0.methods.isEmpty }
        readsAuthority = constraints.contains { $0.authority != nil }
        readsRouteName = constraints.contains { $0.routeName != nil }
        self.exact = exact
        self.exactRules = exactRules
        var prefixBytes: [UInt8] = []
        self.prefixRules = prefixes.map { prefix, rule in
            defer { prefixBytes += prefix }
            return (prefixBytes.count, prefix.count, rule)
        }
        self.prefixBytes = prefixBytes
        self.regexRules = regexes
        self.firstRegexRule = regexes.first?.rule ?? .max
        self.anyPathRules = anyPath
        keyBuffer = .allocate(byteCount: Self.keyCapacity, alignment: 8)
        sightings = .allocate(capacity: Self.sightingBits / 64)
        sightings.initialize(repeating: 0, count: Self.sightingBits / 64)
        for (segments, rule) in templates { insert(segments, rule: rule) }
    }

    enum TemplateSegment: Equatable {
        case literal([UInt8])
        case parameter
        case rest
    }

    static func parseTemplate(_ template: String, rule: Int) throws(RouteRuleError) -> [TemplateSegment] {
        guard template.hasPrefix("/") else {
            throw .invalidTemplate(rule: rule, template: template, reason: "must start with /")
        }
        var parts = template.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        // "/" is the root, and "/users/" the same as "/users", as when matching.
        if parts.last?.isEmpty == true { parts.removeLast() }
        var segments: [TemplateSegment] = []
        for (k, part) in parts.enumerated() {
            if part.hasPrefix("{") && part.hasSuffix("}") {
                let inner = part.dropFirst().dropLast()
                if inner.hasSuffix("...") {
                    guard k == parts.count - 1 else {
                        throw .invalidTemplate(
                            rule: rule, template: template, reason: "{\(inner)} must be the last segment")
                    }
                    guard inner.count > 3 else {
                        throw .invalidTemplate(rule: rule, template: template, reason: "a {name...} needs a name")
                    }
                    segments.append(.rest)
                } else {
                    guard !inner.isEmpty, !inner.contains("{"), !inner.contains("}") else {
                        throw .invalidTemplate(
                            rule: rule, template: template, reason: "\"\(part)\" is not a {name} segment")
                    }
                    segments.append(.parameter)
                }
            } else if part.contains("{") || part.contains("}") {
                throw .invalidTemplate(
                    rule: rule, template: template, reason: "\"\(part)\": a {name} must be a whole segment")
            } else {
                segments.append(.literal(Array(part.utf8)))
            }
        }
        return segments
    }

    private func insert(_ segments: [TemplateSegment], rule: Int) {
        var node = 0
        nodes[0].minRule = min(nodes[0].minRule, rule)
        for segment in segments {
            switch segment {
            case .rest:
                nodes[node].restRules.append(rule)
                return
            case .parameter:
                if nodes[node].parameter == nil {
                    nodes.append(Node())
                    nodes[node].parameter = nodes.count - 1
                }
                node = nodes[node].parameter!
            case .literal(let bytes):
                let hash = bytes.withUnsafeBufferPointer { hashBytes($0.baseAddress, $0.count, seed: hashSeed) }
                if let child = bytes.withUnsafeBufferPointer({ nodes[node].literals.find($0, hash: hash) }) {
                    node = nodes[node].literalChildren[Int(child)]
                } else {
                    nodes.append(Node())
                    let child = nodes.count - 1
                    let slot = UInt32(nodes[node].literalChildren.count)
                    nodes[node].literalChildren.append(child)
                    bytes.withUnsafeBufferPointer { nodes[node].literals.insert($0, hash: hash, value: slot) }
                    node = child
                }
            }
            nodes[node].minRule = min(nodes[node].minRule, rule)
        }
        nodes[node].endRules.append(rule)
    }

    /// The index of the first rule that matches, or `nil`. `path` must not include the query.
    public func match(
        method: UnsafeBufferPointer<UInt8>?, path: UnsafeBufferPointer<UInt8>?, authority: UnsafeBufferPointer<UInt8>?,
        routeName: UnsafeBufferPointer<UInt8>?
    ) -> Int? {
        guard let path else { return evaluate(method: method, path: nil, authority: authority, routeName: routeName) }
        let length = writeKey(method: method, path: path, authority: authority, routeName: routeName)
        guard length >= 0 else {
            return evaluate(method: method, path: path, authority: authority, routeName: routeName)
        }
        let key = UnsafeBufferPointer(start: keyBuffer.assumingMemoryBound(to: UInt8.self), count: length)
        let hash = hashBytes(key.baseAddress, length, seed: hashSeed)
        if let found = results.find(key, hash: hash) { return found == Self.noRule ? nil : Int(found) }
        let rule = evaluate(method: method, path: path, authority: authority, routeName: routeName)
        // Kept from its second sighting on: a path with an identifier in it is usually seen once,
        // and thousands of those would push the table out of the cache the repeated ones hit.
        let bit = Int(truncatingIfNeeded: hash &>> UInt64(64 - Self.sightingBitsLog2))
        let word = sightings + (bit &>> 6)
        let mask: UInt64 = 1 &<< UInt64(bit & 63)
        if word.pointee & mask == 0 {
            word.pointee |= mask
            sightingCount &+= 1
            // One bit in sixteen set: a request seen once passes for a repeat at most that often.
            // Past it, start over.
            if sightingCount > Self.sightingBits / 16 {
                sightings.update(repeating: 0, count: Self.sightingBits / 64)
                sightingCount = 0
            }
            return rule
        }
        if results.count >= Self.resultsKept { results.removeAll() }
        results.insert(key, hash: hash, value: rule.map { UInt32($0) } ?? Self.noRule)
        return rule
    }

    /// Request -> the first rule that matches it, for requests seen before. A user's traffic
    /// repeats its paths; the trie walk, the prefixes and the constraints cost far more than one
    /// hash and one probe. Keyed by the path and by only those request fields some rule reads.
    private let results = ByteTable()
    /// Allocated once the rules are known to be valid: a throwing initializer runs no `deinit`.
    private let keyBuffer: UnsafeMutableRawPointer
    /// Longer requests are evaluated each time: 8,192 of them stay under 2.2 MB.
    private static let keyCapacity = 256
    /// Bounded like the regular expressions' results.
    private static let resultsKept = 8192
    /// Requests seen once, by 18 bits of their hash: 32 KiB.
    private let sightings: UnsafeMutablePointer<UInt64>
    private var sightingCount = 0
    private static let sightingBitsLog2 = 18
    private static let sightingBits = 1 << sightingBitsLog2
    private static let noRule = UInt32.max - 1
    private let readsMethod: Bool
    private let readsAuthority: Bool
    private let readsRouteName: Bool

    deinit {
        keyBuffer.deallocate()
        sightings.deallocate()
    }

    /// The length of the request's key in ``keyBuffer``, or -1 when it does not fit.
    private func writeKey(
        method: UnsafeBufferPointer<UInt8>?, path: UnsafeBufferPointer<UInt8>, authority: UnsafeBufferPointer<UInt8>?,
        routeName: UnsafeBufferPointer<UInt8>?
    ) -> Int {
        var n = 0
        // Each field is preceded by its length, 0xFFFF when absent (unlike empty).
        func put(_ field: UnsafeBufferPointer<UInt8>?) -> Bool {
            guard let field else {
                guard n &+ 2 <= Self.keyCapacity else { return false }
                keyBuffer.storeBytes(of: UInt16.max, toByteOffset: n, as: UInt16.self)
                n &+= 2
                return true
            }
            guard n &+ 2 &+ field.count <= Self.keyCapacity else { return false }
            keyBuffer.storeBytes(of: UInt16(field.count), toByteOffset: n, as: UInt16.self)
            n &+= 2
            if let base = field.baseAddress { (keyBuffer + n).copyMemory(from: base, byteCount: field.count) }
            n &+= field.count
            return true
        }
        guard !readsMethod || put(method), !readsAuthority || put(authority), !readsRouteName || put(routeName),
            put(path)
        else { return -1 }
        return n
    }

    private func evaluate(
        method: UnsafeBufferPointer<UInt8>?, path: UnsafeBufferPointer<UInt8>?, authority: UnsafeBufferPointer<UInt8>?,
        routeName: UnsafeBufferPointer<UInt8>?
    ) -> Int? {
        var best = Int.max
        let request = Request(method: method, authority: authority, routeName: routeName)
        for rule in anyPathRules where rule < best && satisfies(rule, request) {
            best = rule
            break
        }
        if let path {
            let hash = hashBytes(path.baseAddress, path.count, seed: hashSeed)
            if let slot = exact.find(path, hash: hash) {
                for rule in exactRules[Int(slot)] where rule < best && satisfies(rule, request) {
                    best = rule
                    break
                }
            }
            if path.first == UInt8(ascii: "/") && nodes[0].minRule < best {
                walk(node: 0, path, from: 1, request, &best)
            }
            if !prefixRules.isEmpty {
                prefixBytes.withUnsafeBufferPointer { bytes in
                    for (start, count, rule) in prefixRules where rule < best && path.count >= count {
                        if Self.startsWith(path, bytes, start, count) && satisfies(rule, request) {
                            best = rule
                            break
                        }
                    }
                }
            }
            if firstRegexRule < best {
                matchRegexes(path, hash: hash, request, &best)
            }
        }
        return best == .max ? nil : best
    }

    /// Path -> the first regular expression (by position in `regexRules`) that matches it, or
    /// ``noRegexMatches``. Evaluating a regular expression needs a `String` of the path, an
    /// allocation per line; paths that reach the regular expressions repeat (probes, paths no
    /// other rule knows), so each is evaluated once. Bounded: paths of at most 512 bytes, emptied
    /// when it holds 8,192 of them.
    private let regexResults = ByteTable()
    private static let noRegexMatches = UInt32.max - 1

    private func matchRegexes(_ path: UnsafeBufferPointer<UInt8>, hash: UInt64, _ request: Request, _ best: inout Int) {
        // Long paths are not kept: 8,192 of them could hold hundreds of megabytes.
        let cacheable = path.count <= 512
        var first = cacheable ? regexResults.find(path, hash: hash) : nil
        if first == nil {
            let text = String(decoding: path, as: UTF8.self)
            let index = regexRules.firstIndex { (try? $0.regex.firstMatch(in: text)) != nil }
            let value = index.map { UInt32($0) } ?? Self.noRegexMatches
            if cacheable {
                if regexResults.count >= 8192 { regexResults.removeAll() }
                regexResults.insert(path, hash: hash, value: value)
            }
            first = value
        }
        guard let first, first != Self.noRegexMatches else { return }
        let (_, rule) = regexRules[Int(first)]
        guard rule < best else { return }
        if satisfies(rule, request) {
            best = rule
            return
        }
        // The first match's other conditions failed: look further, without the cache (rare).
        let text = String(decoding: path, as: UTF8.self)
        for (regex, rule) in regexRules[(Int(first) + 1)...] where rule < best {
            if (try? regex.firstMatch(in: text)) != nil && satisfies(rule, request) {
                best = rule
                break
            }
        }
    }

    private struct Request {
        var method: UnsafeBufferPointer<UInt8>?
        var authority: UnsafeBufferPointer<UInt8>?
        var routeName: UnsafeBufferPointer<UInt8>?
    }

    /// Walks the trie from `node` with the path segments starting at `start`.
    private func walk(
        node: Int, _ path: UnsafeBufferPointer<UInt8>, from start: Int, _ request: Request, _ best: inout Int
    ) {
        guard nodes[node].minRule < best else { return }
        for rule in nodes[node].restRules where rule < best && satisfies(rule, request) {
            best = rule
            break
        }
        // Past the last segment (a trailing slash counts as the end: "/users/42/" is "/users/{id}").
        if start >= path.count {
            for rule in nodes[node].endRules where rule < best && satisfies(rule, request) {
                best = rule
                break
            }
            return
        }
        var end = start
        while end < path.count && path[end] != UInt8(ascii: "/") { end += 1 }
        let segment = UnsafeBufferPointer(rebasing: path[start..<end])
        let next = end + 1
        if !nodes[node].literalChildren.isEmpty {
            let hash = hashBytes(segment.baseAddress, segment.count, seed: hashSeed)
            if let slot = nodes[node].literals.find(segment, hash: hash) {
                walk(node: nodes[node].literalChildren[Int(slot)], path, from: next, request, &best)
            }
        }
        if let parameter = nodes[node].parameter, !segment.isEmpty {
            walk(node: parameter, path, from: next, request, &best)
        }
    }

    private func satisfies(_ rule: Int, _ request: Request) -> Bool {
        let constraint = constraints[rule]
        if !constraint.methods.isEmpty {
            guard let method = request.method, constraint.methods.contains(where: { $0.elementsEqual(method) }) else {
                return false
            }
        }
        if let routeName = constraint.routeName {
            guard let actual = request.routeName, routeName.elementsEqual(actual) else { return false }
        }
        if let glob = constraint.authority {
            guard var authority = request.authority else { return false }
            if !constraint.authorityHasPort, let colon = authority.lastIndex(of: UInt8(ascii: ":")),
                authority.first != UInt8(ascii: "[") || authority[colon - 1] == UInt8(ascii: "]")
            {
                authority = UnsafeBufferPointer(rebasing: authority[..<colon])
            }
            guard Self.globMatches(glob, authority) else { return false }
        }
        return true
    }

    @inline(__always)
    private static func startsWith(
        _ path: UnsafeBufferPointer<UInt8>, _ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ count: Int
    ) -> Bool {
        for k in 0..<count where path[k] != bytes[start &+ k] { return false }
        return true
    }

    /// `*` matches any run of characters, `?` one; ASCII case is ignored.
    static func globMatches(_ glob: [UInt8], _ text: UnsafeBufferPointer<UInt8>) -> Bool {
        var g = 0
        var t = 0
        var star = -1
        var resume = 0
        while t < text.count {
            let c = text[t] | (text[t] >= UInt8(ascii: "A") && text[t] <= UInt8(ascii: "Z") ? 0x20 : 0)
            if g < glob.count && (glob[g] == UInt8(ascii: "?") || glob[g] == c) {
                g += 1
                t += 1
            } else if g < glob.count && glob[g] == UInt8(ascii: "*") {
                star = g
                resume = t
                g += 1
            } else if star >= 0 {
                g = star + 1
                resume += 1
                t = resume
            } else {
                return false
            }
        }
        while g < glob.count && glob[g] == UInt8(ascii: "*") { g += 1 }
        return g == glob.count
    }
}
