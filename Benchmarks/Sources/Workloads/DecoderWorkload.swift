import AccessLogParser
import Corpus

/// Framing, container envelope and record parsing: `AccessLogDecoder.feed` over a corpus in
/// read-sized chunks, into a sink that only counts.
public final class DecoderWorkload {
    public let buffer: CorpusBuffer
    public let chunkSize: Int
    public let decoder: AccessLogDecoder
    var sink = CountingSink()

    /// Counts records and sums their response codes: the least a consumer can do.
    struct CountingSink: AccessRecordSink {
        var records = 0
        var codes = 0

        mutating func consume(_ record: AccessRecord) {
            records &+= 1
            codes &+= Int(record.int(.responseCode) ?? 0)
        }
    }

    /// - Parameters:
    ///   - wanted: the fields the parser records (`.all`, or the metric families' fields).
    ///   - chunkSize: bytes per `feed`, 256 KiB as the tool reads them.
    public init(_ buffer: CorpusBuffer, wanted: FieldSet = .all, chunkSize: Int = 256 * 1024) {
        self.buffer = buffer
        self.chunkSize = chunkSize
        decoder = AccessLogDecoder(configuration: ParserConfiguration(wantedFields: wanted))
    }

    /// Feeds the bytes of lines `first..<(first + count)` in chunks of at most ``chunkSize``.
    /// Chunk boundaries fall inside lines, so the framer carries line pieces across chunks as
    /// it does with real reads; the slice ends with a whole line, so nothing is left over.
    @inline(never)
    public func feed(first: Int, count: Int) {
        feed(buffer.lines(first, count: count))
    }

    /// Feeds the whole corpus.
    public func feedAll() {
        feed(buffer.bytes)
    }

    private func feed(_ bytes: UnsafeBufferPointer<UInt8>) {
        var offset = 0
        while offset < bytes.count {
            let end = min(offset + chunkSize, bytes.count)
            decoder.feed(UnsafeBufferPointer(rebasing: bytes[offset..<end]), into: &sink)
            offset = end
        }
    }

    public var records: Int { sink.records }

    /// Decodes the corpus with a fresh decoder and compares with its expected counts.
    public static func verify(_ buffer: CorpusBuffer, wanted: FieldSet = .all) -> String? {
        let workload = DecoderWorkload(buffer, wanted: wanted)
        workload.feedAll()
        let counts = workload.decoder.counts
        if counts.parsed != UInt64(buffer.lineCount) || counts.total != counts.parsed {
            return "decoder (\(buffer.format)): \(counts.parsed) of \(counts.total) lines parsed, "
                + "expected all \(buffer.lineCount)"
        }
        if let expected = buffer.expected, workload.sink.codes != expected.responseCodeSum {
            return "decoder (\(buffer.format)): response codes sum to \(workload.sink.codes), "
                + "expected \(expected.responseCodeSum)"
        }
        return nil
    }
}
