/// What logmetrics must report for a corpus, counted while the corpus was generated.
public struct ExpectedCounts: Sendable, Equatable {
    /// A group of `logmetrics_http_requests_total` series: summed over every other label.
    public struct Key: Hashable, Sendable, Comparable, CustomStringConvertible {
        /// The `route` label: `route_name`, or the path for requests no route matched (their
        /// paths hold no identifiers and no query, so any path-to-route rule keeps them whole).
        public var route: String
        public var responseCode: Int
        /// `response_flags` as Envoy wrote it (`URX,UF`); see ``canonicalFlags``.
        public var responseFlags: String

        public init(route: String, responseCode: Int, responseFlags: String) {
            self.route = route
            self.responseCode = responseCode
            self.responseFlags = responseFlags
        }

        /// The flags as a set in Envoy's table order (`UF,URX`), the form logmetrics labels use.
        public var canonicalFlags: String {
            let parts = responseFlags.split(separator: ",").map(String.init)
            guard parts.count > 1 else { return responseFlags }
            return parts.sorted { Self.flagRank($0) < Self.flagRank($1) }.joined(separator: ",")
        }

        /// Positions in Envoy's response-flag table of the flags the corpus uses.
        static func flagRank(_ flag: String) -> Int {
            ["UH", "UT", "UF", "UC", "NR", "RL", "DC", "URX"].firstIndex(of: flag) ?? Int.max
        }

        public static func < (a: Key, b: Key) -> Bool {
            (a.route, a.responseCode, a.responseFlags) < (b.route, b.responseCode, b.responseFlags)
        }

        public var description: String {
            "route=\(route) response_code=\(responseCode) response_flags=\(responseFlags)"
        }
    }

    /// Requests per (route, response code, response flags).
    public var requests: [Key: Int] = [:]
    public var lines = 0
    /// Bytes of the corpus, newlines included.
    public var bytes = 0
    /// Sum of `duration` over all requests, in milliseconds.
    public var durationMillis = 0
    /// Requests with `duration` above 1000 ms (`slow_request="true"` at the default threshold).
    public var slowRequests = 0
    /// Requests whose path carries an identifier (before any query string).
    public var requestsWithIdentifiers = 0

    public init() {}
}

/// Counts by dense indices while lines are generated; turned into ``ExpectedCounts`` once.
struct ExpectationCounter {
    private let routeVariants: Int
    /// Per route, the first label index; unrouted requests get one label per path.
    private let labelBase: [Int]
    private var counts: [Int]
    private(set) var totals = ExpectedCounts()

    init(routeVariants: Int) {
        self.routeVariants = max(1, routeVariants)
        var base: [Int] = []
        var next = 0
        for route in TrafficModel.routes {
            base.append(next)
            next += route.kind == .unrouted ? TrafficModel.unroutedPaths.count : self.routeVariants
        }
        labelBase = base
        counts = Array(repeating: 0, count: next * TrafficModel.outcomes.count)
    }

    mutating func count(_ r: SyntheticRequest, lineBytes: Int) {
        counts[(labelBase[r.route] + r.variant) * TrafficModel.outcomes.count + r.outcome] += 1
        totals.lines += 1
        totals.bytes += lineBytes
        totals.durationMillis += r.durationMillis
        if r.durationMillis > 1000 { totals.slowRequests += 1 }
        if TrafficModel.routes[r.route].pathHasIdentifier { totals.requestsWithIdentifiers += 1 }
    }

    func result() -> ExpectedCounts {
        var result = totals
        for (route, model) in TrafficModel.routes.enumerated() {
            let labels = model.kind == .unrouted ? TrafficModel.unroutedPaths.count : routeVariants
            for variant in 0..<labels {
                let name =
                    model.name.map { variant == 0 ? $0 : "\($0)_v\(variant)" } ?? TrafficModel.unroutedPaths[variant]
                for (index, outcome) in TrafficModel.outcomes.enumerated() {
                    let n = counts[(labelBase[route] + variant) * TrafficModel.outcomes.count + index]
                    guard n > 0 else { continue }
                    let key = ExpectedCounts.Key(route: name, responseCode: outcome.code, responseFlags: outcome.flags)
                    result.requests[key, default: 0] += n
                }
            }
        }
        return result
    }
}
