import AccessLogParser
import Exposition
import Histograms
import Synchronization
import Testing

@testable import Aggregation

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    let seconds = Mutex<Double>(1000)
    func advance(_ by: Double) { seconds.withLock { $0 += by } }
    func read() -> Double { seconds.withLock { $0 } }
}

@Suite struct ExpiryTests {
    func makeHarness(_ clock: ManualClock, shards: Int = 1) -> (Registry, [Shard], ParserConfiguration) {
        let schema = try! MetricsSchema(
            families: MetricsSchema.defaultFamilies(), limits: Limits(maxSeriesPerFamily: 3))
        let registry = Registry(schema: schema, monotonic: { clock.read() })
        let shards = (0..<shards).map { _ in Shard(registry: registry) }
        return (registry, shards, ParserConfiguration(wantedFields: schema.wantedFields))
    }

    func feed(_ shard: Shard, _ parser: ParserConfiguration, _ lines: [String]) {
        let decoder = AccessLogDecoder(configuration: parser)
        let bytes = Array((lines.joined(separator: "\n") + "\n").utf8)
        shard.withRecorder { state in
            if state.inputs.isEmpty { _ = state.addInput(labels: [:]) }
            state.currentInput = 0
            state.updateClock()
            bytes.withUnsafeBufferPointer { decoder.feed($0, into: &state) }
        }
    }

    @Test func idleSeriesExpireAndBusyOnesStay() {
        let clock = ManualClock()
        let (registry, shards, parser) = makeHarness(clock, shards: 2)
        feed(shards[0], parser, [line(route: "quiet"), line(route: "busy")])
        clock.advance(500)
        feed(shards[1], parser, [line(route: "busy")])
        clock.advance(200)
        // quiet: last seen 700 s ago; busy: 200 s ago.
        #expect(registry.expireIdleSeries(shards: shards, idleSeconds: 600) > 0)
        let snapshot = SnapshotBuilder.snapshot(registry: registry, shards: shards)
        let routes = snapshot.values("logmetrics_http_requests").keys.compactMap { $0["route"] }
        #expect(routes == ["busy"])
        #expect(snapshot.sum("logmetrics_http_requests") == 2, "the busy series keeps both shards' counts")
        #expect(snapshot.sum("logmetrics_series_expired", where: ["family": "logmetrics_http_requests"]) == 1)
    }

    @Test func expiredIdentifiersAreReusedFromZeroAndFreeTheCap() {
        let clock = ManualClock()
        let (registry, shards, parser) = makeHarness(clock)
        feed(shards[0], parser, [line(route: "a"), line(route: "b"), line(route: "c")])
        clock.advance(3600)
        registry.expireIdleSeries(shards: shards, idleSeconds: 600)
        // The cap is 3: the three new routes fit again, and none inherits an old count.
        feed(shards[0], parser, [line(route: "d"), line(route: "e"), line(route: "f"), line(route: "d")])
        let snapshot = SnapshotBuilder.snapshot(registry: registry, shards: shards)
        let requests = snapshot.values("logmetrics_http_requests")
        #expect(Set(requests.keys.compactMap { $0["route"] }) == ["d", "e", "f"])
        #expect(requests.first { $0.key["route"] == "d" }?.value == 2)
        #expect(requests.first { $0.key["route"] == "e" }?.value == 1)
        #expect(snapshot.sum("logmetrics_series_dropped", where: ["family": "logmetrics_http_requests"]) == 0)
    }

    @Test func nothingExpiresBeforeItsTime() {
        let clock = ManualClock()
        let (registry, shards, parser) = makeHarness(clock)
        feed(shards[0], parser, [line(route: "a")])
        clock.advance(599)
        #expect(registry.expireIdleSeries(shards: shards, idleSeconds: 600) == 0)
    }
}

@Suite struct ReloadTests {
    /// One decoder per shard index, as one reader per input keeps its decoder across a reload.
    let decoders = (0..<2).map { _ in
        AccessLogDecoder(
            configuration: ParserConfiguration(
                wantedFields: try! MetricsSchema(families: MetricsSchema.defaultFamilies()).wantedFields))
    }

    func feed(_ shard: Shard, _ parser: ParserConfiguration, _ lines: [String], reader: Int = 0) -> Bool {
        let decoder = decoders[reader]
        let bytes = Array((lines.joined(separator: "\n") + "\n").utf8)
        return shard.withRecorder { state in
            guard !state.isRetired else { return false }
            if state.inputs.isEmpty { _ = state.addInput(labels: [:]) }
            state.currentInput = 0
            bytes.withUnsafeBufferPointer { decoder.feed($0, into: &state) }
            state.updateInput(lines: decoder.counts, bytes: 0)
            return true
        }
    }

    @Test func reloadKeepsEveryCounterThatStillExists() throws {
        let before = try MetricsSchema(families: MetricsSchema.defaultFamilies())
        let pipeline = Pipeline(schema: before, shards: 2)
        let parser = ParserConfiguration(wantedFields: before.wantedFields)
        #expect(feed(pipeline.shards[0], parser, [line(route: "a"), line(route: "b", duration: 1500)]))
        #expect(feed(pipeline.shards[1], parser, [line(route: "a")], reader: 1))
        // The new configuration drops `method` from the duration histogram and adds a static label
        // to the per-flag counter: those two families start over, every other keeps its series.
        var families = MetricsSchema.defaultFamilies()
        families[1].labels.removeAll { $0.name == "method" }
        families[5].labels.append(.init("cluster", .constant("prod")))
        let after = try MetricsSchema(families: families)
        let next = pipeline.migrate(to: after)
        #expect(!feed(pipeline.shards[0], parser, [line(route: "a")]), "a retired shard refuses new counts")
        #expect(feed(next.shards[0], parser, [line(route: "a")]))
        let snapshot = next.snapshot(includeCreated: true)
        #expect(snapshot.sum("logmetrics_http_requests", where: ["route": "a"]) == 3)
        #expect(snapshot.sum("logmetrics_http_requests", where: ["route": "b", "slow_request": "true"]) == 1)
        #expect(snapshot.sum("logmetrics_lines", where: ["result": "parsed"]) == 4)
        guard case .histograms(let durations) = snapshot.family("logmetrics_http_request_duration_seconds")?.values
        else {
            Issue.record("no duration histogram")
            return
        }
        #expect(durations.count(0) == 1, "the changed family starts over with the line counted after the reload")
        let before0 = pipeline.snapshot(includeCreated: true)
        let created = before0.family("logmetrics_http_requests")?.created?.first
        #expect(snapshot.family("logmetrics_http_requests")?.created?.first == created, "creation time is kept")
    }

    /// A reload that moves the duration histogram's bounds (here: a new slow threshold, which
    /// becomes a bound) must not reset a bucket that goes on: Prometheus reads a drop as a
    /// restart of the process.
    @Test func reloadThatMovesBucketBoundsResetsNoBucket() throws {
        let before = try MetricsSchema(families: MetricsSchema.defaultFamilies())
        let pipeline = Pipeline(schema: before, shards: 1)
        let parser = ParserConfiguration(wantedFields: before.wantedFields)
        let durations = [3, 7, 40, 40, 300, 1500]
        #expect(feed(pipeline.shards[0], parser, durations.map { line(route: "a", duration: $0) }))
        // 0.007 s is a new bound, 1 s (the old slow threshold) is gone.
        let after = try MetricsSchema(
            families: MetricsSchema.defaultFamilies(slowThresholds: [7]).map { family in
                var family = family
                if family.name == "logmetrics_http_request_duration_seconds" {
                    family.buckets = try! BucketLayout(
                        upperBounds: family.buckets!.upperBounds.filter { $0 != 1 })
                }
                return family
            })
        let next = pipeline.migrate(to: after)
        #expect(feed(next.shards[0], parser, [line(route: "a", duration: 6)]))
        let old = pipeline.snapshot().family("logmetrics_http_request_duration_seconds")
        let new = next.snapshot().family("logmetrics_http_request_duration_seconds")
        guard case .histograms(let was) = old?.values, case .histograms(let now) = new?.values else {
            Issue.record("no duration histogram")
            return
        }
        #expect(now.count(0) == was.count(0) + 1, "every observation carried over")
        #expect(now.sum(0) == was.sum(0) + 0.006)
        func cumulative(_ columns: HistogramColumns, at bound: Double) -> UInt64? {
            guard let index = columns.bounds.values.firstIndex(of: bound) else { return nil }
            return columns.bucketCounts[0...index].reduce(0, +)
        }
        for bound in was.bounds.values where now.bounds.values.contains(bound) {
            let expected = durations.filter { Double($0) / 1000 <= bound }.count + (0.006 <= bound ? 1 : 0)
            #expect(cumulative(now, at: bound) == UInt64(expected), "le=\(bound) exact")
        }
        // Before the new bound, 3 ms was counted at 0.005; 7 ms is counted at 0.01, as before.
        #expect(cumulative(now, at: 0.007) == 2, "the new bound holds what is known to be below it")
        #expect(!now.bounds.values.contains(1))
        #expect(cumulative(now, at: 2.5) == 7, "what 1 s held is in the next bound up")
    }
}
