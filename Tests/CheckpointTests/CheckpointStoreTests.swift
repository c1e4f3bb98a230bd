import AccessLogParser
import Aggregation
import Exposition
import Foundation
import Tailer
import Testing

@testable import Checkpoint

@Suite struct CheckpointStoreTests {
    let directory: String = {
        let path = NSTemporaryDirectory() + "logmetrics-checkpoint-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    static func line(_ route: String, code: Int, duration: Int, flags: String = "-") -> String {
        """
        {"duration":\(duration),"method":"GET","path":"/\(route)","protocol":"HTTP/1.1","response_code":\(code),\
        "response_flags":"\(flags)","route_name":"\(route)","upstream_cluster":"outbound|80||users.shop.svc.cluster.local",\
        "bytes_received":10,"bytes_sent":2000,"upstream_service_time":"\(duration)"}
        """
    }

    static func feed(_ pipeline: Pipeline, _ lines: [String]) {
        let decoder = AccessLogDecoder(configuration: ParserConfiguration(wantedFields: pipeline.schema.wantedFields))
        let bytes = Array((lines.joined(separator: "\n") + "\nnot json\n").utf8)
        pipeline.shards[0].withRecorder { state in
            state.currentInput = state.addInput(labels: [:])
            bytes.withUnsafeBufferPointer { decoder.feed($0, into: &state) }
            decoder.finish(into: &state)
            state.updateInput(lines: decoder.counts, bytes: UInt64(bytes.count))
        }
    }

    static func text(_ snapshot: MetricSnapshot) -> String {
        var out: [UInt8] = []
        TextFormatWriter.write(snapshot, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func schema() throws -> MetricsSchema {
        try MetricsSchema(families: MetricsSchema.defaultFamilies())
    }

    /// Saved, written, read back and restored into a new pipeline, every counter, bucket, sum
    /// and native histogram is what it was, self counters included.
    @Test func aRestoredPipelineServesWhatTheSavedOneDid() throws {
        let original = Pipeline(schema: try Self.schema(), shards: 2)
        Self.feed(original, (0..<300).map { Self.line("r\($0 % 7)", code: [200, 503][$0 % 2], duration: $0 * 13) })
        let snapshot = original.snapshot(now: 1, includeCreated: true, includeNative: true)
        let store = CheckpointStore(directory: directory)
        let position = SavedPosition(
            path: "/var/log/a.log",
            identity: FileIdentity(device: 1, inode: 2, fingerprint: Fingerprint(length: 3, hash: 4)),
            offset: 1234)
        try store.save(
            Checkpoint(writtenAt: 10, positions: [position], families: snapshot.families.compactMap(SavedFamily.init)))
        let (loaded, problems) = store.load()
        #expect(problems.isEmpty)
        guard case .checkpoint(let checkpoint, _) = loaded else {
            Issue.record("no checkpoint loaded")
            return
        }
        #expect(checkpoint.positions == [position])
        let restored = Pipeline(schema: try Self.schema(), shards: 2)
        let summary = restored.restore(
            MetricSnapshot(families: checkpoint.families.compactMap { $0.snapshot() }))
        #expect(summary.skippedFamilies.isEmpty)
        #expect(summary.series > 0)
        let again = restored.snapshot(now: 1, includeCreated: true, includeNative: true)
        #expect(Self.text(again) == Self.text(snapshot))
        for (a, b) in zip(snapshot.families, again.families) {
            guard case .histograms(let x) = a.values, case .histograms(let y) = b.values else { continue }
            #expect(x.native == y.native, "\(a.name)")
            #expect(a.created == b.created, "\(a.name)")
        }
        // And counting goes on from there.
        Self.feed(restored, [Self.line("r0", code: 200, duration: 5)])
        Self.feed(original, [Self.line("r0", code: 200, duration: 5)])
        #expect(Self.text(restored.snapshot(now: 1)) == Self.text(original.snapshot(now: 1)))
    }

    @Test func familiesThatNoLongerFitAreSkippedAndNamed() throws {
        let original = Pipeline(schema: try Self.schema(), shards: 1)
        Self.feed(original, [Self.line("a", code: 200, duration: 3)])
        var families = MetricsSchema.defaultFamilies()
        families[1].labels.removeLast()  // the duration histogram loses `error_type`
        let restored = Pipeline(schema: try MetricsSchema(families: families), shards: 1)
        let summary = restored.restore(original.snapshot(now: 1, includeCreated: true, includeNative: true))
        #expect(summary.skippedFamilies == ["logmetrics_http_request_duration_seconds"])
    }

    /// A restart with another slow threshold (one more duration bound) carries the histogram
    /// over: the count, the sum and every cumulative bucket at a bound both runs have.
    @Test func aRestartWithMovedBucketBoundsCarriesTheHistogramOver() throws {
        let original = Pipeline(schema: try Self.schema(), shards: 1)
        Self.feed(original, [3, 7, 40, 1500].map { Self.line("a", code: 200, duration: $0) })
        let restored = Pipeline(
            schema: try MetricsSchema(families: MetricsSchema.defaultFamilies(slowThresholds: [7])), shards: 1)
        let summary = restored.restore(original.snapshot(now: 1, includeCreated: true, includeNative: true))
        #expect(summary.skippedFamilies.isEmpty)
        let name = "logmetrics_http_request_duration_seconds"
        guard case .histograms(let was) = original.snapshot(now: 1).families.first(where: { $0.name == name })?.values,
            case .histograms(let now) = restored.snapshot(now: 1).families.first(where: { $0.name == name })?.values
        else {
            Issue.record("no duration histogram")
            return
        }
        #expect(now.bounds.values.count == was.bounds.values.count + 1)
        #expect(now.count(0) == 4 && now.sum(0) == was.sum(0))
        for (index, bound) in was.bounds.values.enumerated() {
            let newIndex = now.bounds.values.firstIndex(of: bound)!
            let carried: UInt64 = now.bucketCounts[0...newIndex].reduce(0, +)
            let saved: UInt64 = was.bucketCounts[0...index].reduce(0, +)
            #expect(carried == saved, "le=\(bound)")
        }
    }

    /// A file edited by hand that still decodes: series with other label names, native spans
    /// that do not cover their deltas. Nothing traps; what does not fit is left out.
    @Test func handEditedFamiliesAreCheckedNotTrusted() throws {
        let original = Pipeline(schema: try Self.schema(), shards: 1)
        Self.feed(original, [Self.line("a", code: 200, duration: 3), Self.line("b", code: 500, duration: 40)])
        var families = original.snapshot(now: 1, includeCreated: true, includeNative: true).families.compactMap(
            SavedFamily.init)
        let requests = try #require(families.firstIndex { $0.name == "logmetrics_http_requests" })
        families[requests].seriesLabelNames = families[requests].labelValues.indices.map { k in
            k == 0 ? families[requests].labelNames + ["extra"] : families[requests].labelNames
        }
        families[requests].labelValues[0].append("x")
        let duration = try #require(families.firstIndex { $0.name == "logmetrics_http_request_duration_seconds" })
        families[duration].histogram?.native?[0]?.positiveSpans = [[0, 4_000_000_000]]
        let restored = Pipeline(schema: try Self.schema(), shards: 1)
        restored.restore(MetricSnapshot(families: families.compactMap { $0.snapshot() }))
        let snapshot = restored.snapshot(now: 1, includeNative: true)
        #expect(snapshot.families.first { $0.name == "logmetrics_http_requests" }?.seriesCount == 1)
    }

    @Test func aCorruptFileIsSetAsideNotFatal() throws {
        let store = CheckpointStore(directory: directory)
        try "{ not json".write(toFile: store.path, atomically: false, encoding: .utf8)
        let (loaded, problems) = store.load()
        guard case .none = loaded else {
            Issue.record("a corrupt file loaded")
            return
        }
        #expect(problems.count == 1)
        #expect(!FileManager.default.fileExists(atPath: store.path))
        let files = try FileManager.default.contentsOfDirectory(atPath: directory)
        #expect(files.contains { $0.hasPrefix("logmetrics.state.corrupt-") })
    }

    @Test func theNewerOfAMainAndASurvivingTemporaryFileWins() throws {
        let store = CheckpointStore(directory: directory)
        try store.save(Checkpoint(writtenAt: 10, positions: [], families: []))
        let newer = try JSONEncoder().encode(Checkpoint(writtenAt: 20, positions: [], families: []))
        try newer.write(to: URL(fileURLWithPath: store.temporaryPath))
        guard case .checkpoint(let checkpoint, let path) = store.load().loaded else {
            Issue.record("nothing loaded")
            return
        }
        #expect(checkpoint.writtenAt == 20)
        #expect(path == store.temporaryPath)
    }

    /// A kill while a checkpoint was written leaves part of it in the temporary file: the main
    /// file is loaded, and the part removed rather than kept as corrupt.
    @Test func anUnfinishedTemporaryFileIsRemovedAndTheMainFileLoaded() throws {
        let store = CheckpointStore(directory: directory)
        try store.save(Checkpoint(writtenAt: 10, positions: [], families: []))
        let whole = try JSONEncoder().encode(Checkpoint(writtenAt: 20, positions: [], families: []))
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: store.temporaryPath))
        let (loaded, problems) = store.load()
        guard case .checkpoint(let checkpoint, let path) = loaded else {
            Issue.record("nothing loaded")
            return
        }
        #expect(checkpoint.writtenAt == 10 && path == store.path)
        #expect(problems.count == 1 && problems[0].contains("unfinished"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["logmetrics.state"])
    }

    @Test func aReadOnlyDirectoryIsAnErrorNamingThePath() throws {
        guard getuid() != 0 else { return }  // root writes anyway
        let store = CheckpointStore(directory: directory)
        chmod(directory, 0o500)
        defer { chmod(directory, 0o700) }
        #expect(throws: SystemError.self) { try store.save(Checkpoint(writtenAt: 1, positions: [], families: [])) }
    }

    @Test func anotherVersionIsSetAside() throws {
        let store = CheckpointStore(directory: directory)
        var checkpoint = Checkpoint(writtenAt: 1, positions: [], families: [])
        checkpoint.version = 99
        try JSONEncoder().encode(checkpoint).write(to: URL(fileURLWithPath: store.path))
        let (loaded, problems) = store.load()
        if case .checkpoint = loaded { Issue.record("version 99 loaded") }
        #expect(problems.first?.contains("version 99") == true)
    }
}
