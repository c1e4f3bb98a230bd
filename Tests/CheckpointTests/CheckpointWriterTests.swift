import AccessLogParser
import Aggregation
import Exposition
import Foundation
import Histograms
import Tailer
import Testing

@testable import Checkpoint

/// The checkpoint written from a snapshot's columns reads back as exactly the ``Checkpoint`` that
/// `JSONEncoder` would have written of the same snapshot.
@Suite struct CheckpointWriterTests {
    let directory: String = {
        let path = NSTemporaryDirectory() + "logmetrics-checkpoint-writer-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    /// Every optional key absent, a birth time, and a path JSON must escape.
    static let otherPosition = SavedPosition(
        path: "/var/log/\"odd\"\\dir/zürich\n.log",
        identity: FileIdentity(
            device: UInt64.max, inode: 0, fingerprint: Fingerprint(length: 0, hash: 0),
            birth: -1_700_000_000_123_456_789),
        offset: Int64.max)

    static let position = SavedPosition(
        path: "/var/log/pods/shop_gateway-7d9f_0b1c/istio-proxy/0.log",
        identity: FileIdentity(device: 1, inode: 2, fingerprint: Fingerprint(length: 3, hash: UInt64.max)),
        offset: 1234, previous: Fingerprint(length: 5, hash: 6), savedAt: 1_796_000_000.25)

    func roundTrip(_ families: [MetricFamilySnapshot], writtenAt: Double = 1_796_000_123.5) throws -> Checkpoint {
        let store = CheckpointStore(directory: directory)
        try store.save(writtenAt: writtenAt, positions: [Self.position, Self.otherPosition], families: families)
        guard case .checkpoint(let checkpoint, _) = store.load().loaded else {
            Issue.record("nothing loaded")
            throw CancellationError()
        }
        return checkpoint
    }

    /// Real lines through the pipeline: interned labels, histograms with native buckets and
    /// created times, the self counters (label sets of their own, some series with other
    /// label names), gauges left out; route names with quotes, backslashes, control characters
    /// and non-ASCII text. Enough series that the text is written in several pieces.
    @Test func aPipelineSnapshotReadsBackAsItsSavedForm() throws {
        let pipeline = Pipeline(schema: try CheckpointStoreTests.schema(), shards: 2)
        let odd = ["quo\\\"te", "back\\\\slash", "tab\\there", "bell\\u0007", "zürich-ü", "emoji-\\ud83d\\ude00", "/"]
        // The odd names first: past the route value cap (500) names fold into `__overflow__`.
        let lines =
            odd.map { CheckpointStoreTests.line($0, code: 200, duration: 12) }
            + (0..<6000).map { CheckpointStoreTests.line("r\($0)", code: [200, 503, 404][$0 % 3], duration: $0 % 997) }
        CheckpointStoreTests.feed(pipeline, lines)
        let snapshot = pipeline.snapshot(now: 1, includeCreated: true, includeExemplars: true, includeNative: true)
        #expect(snapshot.families.contains { $0.type == .gauge })
        let checkpoint = try roundTrip(snapshot.families)
        let expected = Checkpoint(
            writtenAt: 1_796_000_123.5, positions: [Self.position, Self.otherPosition],
            families: snapshot.families.compactMap(SavedFamily.init))
        #expect(checkpoint == expected)
        #expect(checkpoint.families.count < snapshot.families.count)
        let routes = Set(checkpoint.families.flatMap(\.labelValues).flatMap { $0 })
        let names: Set = ["quo\"te", "back\\slash", "tab\there", "bell\u{07}", "zürich-ü", "emoji-😀"]
        #expect(names.subtracting(routes).isEmpty)
        let size = try FileManager.default.attributesOfItem(atPath: CheckpointStore(directory: directory).path)[.size]
        #expect((size as? Int ?? 0) > 2 * CheckpointWriter.flushBytes)
    }

    /// Values at the edges of their types, and the optional parts present and absent.
    @Test func edgesOfEveryValueReadBack() throws {
        let counters = MetricFamilySnapshot(
            name: "c", help: "", type: .counter, unit: "bytes",
            labels: [LabelSet(names: ["a"], values: [""]), LabelSet(names: ["a", "b"], values: ["x", "y"])],
            values: .integers([0, UInt64.max]), created: [0.1, 1e-300])
        let native = NativeHistogramSnapshot(
            schema: -4, zeroThreshold: 2.938735877055719e-39, zeroCount: 7, count: 12, sum: 0.30000000000000004,
            positiveSpans: [(offset: -3, length: 2), (offset: 1_000, length: 1)], positiveDeltas: [1, -1, Int64.min],
            negativeSpans: [(offset: 0, length: 1)], negativeDeltas: [Int64.max])
        let histograms = MetricFamilySnapshot(
            name: "h", help: "", type: .histogram,
            labels: [LabelSet(names: ["r"], values: ["1"]), .init(names: ["r"], values: ["2"])],
            values: .histograms(
                HistogramColumns(
                    bounds: BucketBounds([1e-9, 0.5, 1, 123_456_789.125, 1.7976931348623157e308]),
                    bucketCounts: [1, 2, 3, 4, 5, 6, 0, 0, 0, 0, 0, UInt64.max], scaledSums: [Int64.min, Int64.max],
                    sumExponent: -9, native: [native, nil])))
        let plain = MetricFamilySnapshot(
            name: "p", help: "", type: .histogram, labels: [],
            values: .histograms(
                HistogramColumns(bounds: BucketBounds([1]), bucketCounts: [], scaledSums: [], sumExponent: 0)))
        let doubles = MetricFamilySnapshot(name: "d", help: "", type: .counter, values: .doubles([1.5]))
        let families = [counters, histograms, plain, doubles]
        let checkpoint = try roundTrip(families, writtenAt: -0.0)
        #expect(
            checkpoint
                == Checkpoint(
                    writtenAt: -0.0, positions: [Self.position, Self.otherPosition],
                    families: families.compactMap(SavedFamily.init))
        )
        #expect(checkpoint.writtenAt.sign == .minus)
        #expect(checkpoint.families.map(\.name) == ["c", "h", "p"])
        #expect(checkpoint.families[0].seriesLabelNames == [["a"], ["a", "b"]])
    }

    /// JSON has no infinity: the value is named, nothing is renamed over the last checkpoint,
    /// and no temporary file is left.
    @Test func aValueJSONCannotHoldFailsTheWriteAndKeepsTheLastCheckpoint() throws {
        let store = CheckpointStore(directory: directory)
        try store.save(writtenAt: 5, positions: [], families: [])
        let family = MetricFamilySnapshot(
            name: "c", help: "", type: .counter, labels: [.empty], values: .integers([1]), created: [.infinity])
        do {
            try store.save(writtenAt: 6, positions: [], families: [family])
            Issue.record("an infinite created time was written")
        } catch {
            #expect("\(error)".contains("c created time"))
        }
        guard case .checkpoint(let checkpoint, _) = store.load().loaded else {
            Issue.record("the last checkpoint is gone")
            return
        }
        #expect(checkpoint.writtenAt == 5)
        #expect(!FileManager.default.fileExists(atPath: store.temporaryPath))
    }
}
