import AccessLogParser
import Aggregation
import Configuration
import Reporting
import Synchronization
import Tailer

/// The configuration in force and the pipeline it counts into; replaced as a whole on reload.
final class Current: Sendable {
    struct Value: Sendable {
        var compiled: CompiledConfiguration
        var pipeline: Pipeline
        /// The configuration file's text when it was loaded, if there is one.
        var configText: String?
    }

    private let value: Mutex<Value>

    init(
        _ compiled: CompiledConfiguration, shards: Int, enrichment: (any MetadataLookup)? = nil,
        configText: String? = nil
    ) {
        value = Mutex(
            Value(
                compiled: compiled,
                pipeline: Pipeline(schema: compiled.schema, shards: shards, enrichment: enrichment),
                configText: configText))
    }

    var get: Value { value.withLock { $0 } }

    /// Moves to `compiled`, carrying every surviving series over (see ``Pipeline/migrate(to:)``).
    func replace(with compiled: CompiledConfiguration, configText: String? = nil) {
        value.withLock { value in
            value.pipeline = value.pipeline.migrate(to: compiled.schema)
            value.compiled = compiled
            value.configText = configText
        }
    }
}

/// Feeds one input into shard `shardIndex` of the current pipeline: each chunk is decoded into
/// the shard's recorder under its lock. After a reload, the next chunk goes to the new pipeline's
/// shard, with the decoder's unfinished lines kept.
final class Ingest {
    let decoder: AccessLogDecoder
    let current: Current
    let shardIndex: Int
    let input: Int
    private(set) var bytes: UInt64 = 0
    /// When set, the start times of the records are noted in it (for a report's request rate).
    var timeSpan: TimeSpan?

    init(current: Current, shardIndex: Int, labels: [String: String] = [:]) {
        let value = current.get
        self.current = current
        self.shardIndex = shardIndex
        self.decoder = AccessLogDecoder(configuration: value.compiled.parser)
        self.input = value.pipeline.shards[shardIndex].withRecorder { $0.addInput(labels: labels) }
    }

    func feed(_ chunk: UnsafeBufferPointer<UInt8>) {
        bytes &+= UInt64(chunk.count)
        record { state in
            self.noting(&state) { (sink: inout TimeSpanSink<ShardState>) in
                self.decoder.feed(chunk, into: &sink)
            } plain: {
                self.decoder.feed(chunk, into: &$0)
            }
        }
    }

    /// One file of the input ended (rotated away): settle its unfinished last line, keeping
    /// partial container records for the next file.
    func endOfFile() {
        record { state in
            self.noting(&state) { (sink: inout TimeSpanSink<ShardState>) in
                self.decoder.endOfFile(into: &sink)
            } plain: {
                self.decoder.endOfFile(into: &$0)
            }
        }
    }

    /// The input ended: settle its unfinished last line and partial records.
    func finish() {
        record { state in
            self.noting(&state) { (sink: inout TimeSpanSink<ShardState>) in
                self.decoder.finish(into: &sink)
            } plain: {
                self.decoder.finish(into: &$0)
            }
        }
    }

    /// Runs `body` on a sink that notes start times into ``timeSpan`` when it is set, else
    /// `plain` on the shard itself (the common case pays for nothing).
    private func noting(
        _ state: inout ShardState, _ body: (inout TimeSpanSink<ShardState>) -> Void, plain: (inout ShardState) -> Void
    ) {
        guard let span = timeSpan else { return plain(&state) }
        withUnsafeMutablePointer(to: &state) { pointer in
            var sink = TimeSpanSink(inner: pointer, span: span)
            body(&sink)
            timeSpan = sink.span
        }
    }

    private func record(_ body: (inout ShardState) -> Void) {
        while true {
            let value = current.get
            decoder.reconfigure(value.compiled.parser)
            let input = input
            let bytes = bytes
            let done = value.pipeline.shards[shardIndex].withRecorder { state -> Bool in
                // A reload retired this shard after we looked: go again with the new one.
                guard !state.isRetired else { return false }
                state.currentInput = input
                state.updateClock()
                body(&state)
                state.updateInput(lines: decoder.counts, bytes: bytes)
                return true
            }
            if done { return }
        }
    }
}
