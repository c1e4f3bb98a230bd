#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// One request of the corpus, drawn once and rendered in any of the corpus formats.
///
/// Text fields are indices into the model's tables or reused byte buffers, so drawing a
/// million requests allocates almost nothing.
struct SyntheticRequest {
    var route = 0
    /// Which copy of the route (see `routeVariants`); 0 for the route's own name.
    var variant = 0
    var outcome = 0
    var method = 0
    /// The path with its query, as the client sent it.
    var path: [UInt8] = []
    var http2 = false
    /// Whether the client used TLS: the gateway's 8443 listener and an SNI.
    var tls = true
    var authority = 0
    var userAgent = 0
    /// X-Forwarded-For hops: none (header absent), the client, or the client and a proxy.
    var forwardedHops = 1
    var client: UInt32 = 0
    var proxy: UInt32 = 0
    var downstreamPort = 0
    var bytesReceived = 0
    var bytesSent = 0
    var durationMillis = 0
    /// `x-envoy-upstream-service-time`, absent (-1) when Envoy answered by itself.
    var upstreamServiceTime = -1
    /// 0 when no upstream host was picked.
    var upstreamHost: UInt32 = 0
    /// 0 when no upstream connection was made.
    var upstreamLocalPort = 0
    var requestIDHigh: UInt64 = 0
    var requestIDLow: UInt64 = 0
    var startNanos: Int64 = 0
    /// When Envoy wrote the line; also the container runtime's timestamp.
    var endNanos: Int64 = 0
}

/// Draws requests from ``TrafficModel`` with a seeded random source.
struct RequestSource {
    private var random: SplitMix64
    private let routeVariants: Int
    private let routeWeights: [Int]
    private let outcomeWeights: [[Int]]
    private let methodWeights: [[Int]]
    private let userAgentWeights: [Int]
    private let authorityWeights: [Int]
    private var serial: UInt64 = 0
    /// The simulated clock: completions arrive at about 2 000 per second.
    private var clockNanos: Int64

    /// Clients come from the three documentation networks (RFC 5737).
    static let clientNetworks: [UInt32] = [0xCB00_7100, 0xC633_6400, 0xC000_0200]

    /// 2026-11-22T00:00:00Z, a fixed origin so that timestamps are part of the seeded output.
    static let origin = Int64(CivilTime.days(year: 2026, month: 11, day: 22)) * 86_400 * 1_000_000_000

    init(seed: UInt64, routeVariants: Int) {
        random = SplitMix64(seed: seed)
        self.routeVariants = max(1, routeVariants)
        let routes = TrafficModel.routes
        // Zipf with exponent 1 over the popularity ranks.
        routeWeights = cumulativeWeights(routes.indices.map { 1_000_000_000 / ($0 + 1) })
        outcomeWeights = routes.map { cumulativeWeights(TrafficModel.outcomeWeights($0)) }
        methodWeights = routes.map { cumulativeWeights($0.methods.map(\.weight)) }
        userAgentWeights = cumulativeWeights(TrafficModel.userAgents.map(\.1))
        authorityWeights = cumulativeWeights(TrafficModel.authorities.map(\.1))
        clockNanos = Self.origin
    }

    /// Overwrites `r` with the next request.
    mutating func next(into r: inout SyntheticRequest) {
        let route = random.pick(cumulative: routeWeights)
        let model = TrafficModel.routes[route]
        r.route = route
        r.variant =
            model.kind == .unrouted ? random.below(TrafficModel.unroutedPaths.count) : random.below(routeVariants)
        r.outcome = random.pick(cumulative: outcomeWeights[route])
        r.method = model.methods[random.pick(cumulative: methodWeights[route])].method
        fillPath(model, variant: r.variant, into: &r.path)
        r.http2 = random.chance(perMillion: 350_000)
        r.tls = random.chance(perMillion: 600_000)
        r.authority = random.pick(cumulative: authorityWeights)
        r.userAgent = random.pick(cumulative: userAgentWeights)

        let hops = random.below(10)
        r.forwardedHops = hops < 7 ? 1 : (hops < 9 ? 2 : 0)
        r.client = Self.clientNetworks[random.below(3)] | UInt32(random.within(1...254))
        r.proxy = 0x0A00_0000 | UInt32(random.below(4)) << 8 | UInt32(random.within(2...254))
        r.downstreamPort = random.within(1024...65535)

        let outcome = TrafficModel.outcomes[r.outcome]
        r.durationMillis = duration(model, r.outcome)
        r.upstreamServiceTime =
            outcome.localReplyBytes == nil ? max(0, r.durationMillis - random.within(0...2)) : -1
        // POST, PUT and PATCH send a body on routes that take one.
        let hasBody = (TrafficModel.post...TrafficModel.patch).contains(r.method) && model.requestBytesMedian > 0
        r.bytesReceived = hasBody ? Int(random.logNormal(median: model.requestBytesMedian, sigma: 0.6)) : 0
        r.bytesSent = bodyBytes(model, outcome)
        let connects = outcome.hasUpstream && model.kind != .unrouted
        r.upstreamHost =
            connects ? 0x0AF4_0000 | UInt32(random.within(1...15)) << 8 | UInt32(random.within(2...254)) : 0
        let connected = connects && outcome.failureReason == nil
        r.upstreamLocalPort = connected ? random.within(32768...60999) : 0

        // Unique request ids: the last 48 bits are a bijection of the line number (an odd
        // multiplier is invertible modulo 2^48), the rest is random with UUID v4 markers.
        serial &+= 1
        r.requestIDHigh = (random.next() & 0xFFFF_FFFF_FFFF_0FFF) | 0x4000
        r.requestIDLow = (serial &* 0x9E37_79B9_7F4B) & 0xFFFF_FFFF_FFFF
        r.requestIDLow |= UInt64(0x8 | random.below(4)) << 60 | (random.next() & 0x0FFF) << 48

        // Completions arrive as a Poisson stream; start_time is the completion less the
        // duration, so, as in a real log, start times are not in order.
        clockNanos += Int64(-500_000 * log(1 - random.unit()))
        r.endNanos = clockNanos
        r.startNanos = clockNanos - Int64(r.durationMillis) * 1_000_000 - Int64(random.below(1_000_000))
    }

    private mutating func duration(_ model: TrafficModel.Route, _ outcome: Int) -> Int {
        typealias O = TrafficModel.O
        switch outcome {
        case O.noRoute404, O.rateLimited429, O.noHealthyUpstream503:
            return random.within(0...1)
        case O.connectFailure503:
            return random.within(0...3)
        case O.retriedConnectFailure503:
            return random.within(25...90)
        case O.timeout504:
            return model.timeoutMillis + random.within(0...5)
        case O.downstreamDisconnect0:
            return Int(random.logNormal(median: model.latencyMedianMillis * 2, sigma: model.latencySigma + 0.3))
        default:
            var millis = random.logNormal(median: model.latencyMedianMillis, sigma: model.latencySigma)
            // A long tail: one request in 200 waits on something (GC, a cold cache, a lock),
            // Pareto-distributed with shape 1.5, up to 200 times the usual.
            if random.chance(perMillion: 5_000) {
                millis *= min(200, 1 / pow(1 - random.unit(), 1 / 1.5))
            }
            return min(Int(millis.rounded()), model.timeoutMillis - 1)
        }
    }

    private mutating func bodyBytes(_ model: TrafficModel.Route, _ outcome: TrafficModel.Outcome) -> Int {
        if let local = outcome.localReplyBytes { return local }
        switch outcome.code {
        case 204, 301: return 0
        case 404: return random.within(20...200)
        case 500, 503: return random.within(20...120)
        default:
            return model.responseBytesMedian < 1
                ? 0 : Int(random.logNormal(median: model.responseBytesMedian, sigma: 0.5))
        }
    }

    private mutating func fillPath(_ model: TrafficModel.Route, variant: Int, into path: inout [UInt8]) {
        path.removeAll(keepingCapacity: true)
        if model.kind == .unrouted {
            path.append(contentsOf: TrafficModel.unroutedPaths[variant].utf8)
            return
        }
        for piece in model.path {
            switch piece {
            case .literal(let text):
                path.append(contentsOf: text.utf8)
            case .number:
                // Log-uniform: small ids are as common per decade as large ones.
                path.appendDecimal(Int(exp(random.unit() * log(2_000_000.0))))
            case .uuid:
                path.appendHex(random.next(), digits: 8)
                path.append(UInt8(ascii: "-"))
                path.appendHex(random.next(), digits: 4)
                path.append("-4")
                path.appendHex(random.next(), digits: 3)
                path.append(UInt8(ascii: "-"))
                path.appendHex(0x8 | random.next() & 0x3, digits: 1)
                path.appendHex(random.next(), digits: 3)
                path.append(UInt8(ascii: "-"))
                path.appendHex(random.next(), digits: 12)
            case .sku:
                path.append("SKU-")
                path.appendDecimal(random.below(1_000_000), width: 6)
            case .page:
                // Most visitors stay on the first pages.
                path.appendDecimal(min(200, Int(1 / pow(1 - random.unit(), 1 / 1.2))))
            case .term:
                path.append(contentsOf: TrafficModel.searchTerms[random.below(TrafficModel.searchTerms.count)].utf8)
            case .slug:
                path.append(contentsOf: TrafficModel.slugs[random.below(TrafficModel.slugs.count)].utf8)
            case .asset:
                path.append(contentsOf: TrafficModel.assets[random.below(TrafficModel.assets.count)].utf8)
            case .imageSize:
                path.append(contentsOf: TrafficModel.imageSizes[random.below(TrafficModel.imageSizes.count)].utf8)
            case .provider:
                path.append(contentsOf: TrafficModel.providers[random.below(TrafficModel.providers.count)].utf8)
            }
        }
    }
}
