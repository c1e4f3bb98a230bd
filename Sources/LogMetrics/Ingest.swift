import AccessLogParser
import Aggregation
import Tailer

/// Feeds one input into a shard: each chunk is decoded into the shard's recorder under its lock.
final class Ingest {
    let decoder: AccessLogDecoder
    let shard: Shard
    let input: Int
    private(set) var bytes: UInt64 = 0

    init(shard: Shard, configuration: ParserConfiguration, labels: [String: String] = [:]) {
        self.decoder = AccessLogDecoder(configuration: configuration)
        self.shard = shard
        self.input = shard.withRecorder { $0.addInput(labels: labels) }
    }

    func feed(_ chunk: UnsafeBufferPointer<UInt8>) {
        bytes &+= UInt64(chunk.count)
        let decoder = decoder
        let input = input
        let bytes = bytes
        shard.withRecorder { state in
            state.currentInput = input
            decoder.feed(chunk, into: &state)
            state.updateInput(lines: decoder.counts, bytes: bytes)
        }
    }

    /// One file of the input ended (rotated away): settle its unfinished last line, keeping
    /// partial container records for the next file.
    func endOfFile() {
        let decoder = decoder
        let input = input
        let bytes = bytes
        shard.withRecorder { state in
            state.currentInput = input
            decoder.endOfFile(into: &state)
            state.updateInput(lines: decoder.counts, bytes: bytes)
        }
    }

    /// The input ended: settle its unfinished last line and partial records.
    func finish() {
        let decoder = decoder
        let input = input
        let bytes = bytes
        shard.withRecorder { state in
            state.currentInput = input
            decoder.finish(into: &state)
            state.updateInput(lines: decoder.counts, bytes: bytes)
        }
    }
}
