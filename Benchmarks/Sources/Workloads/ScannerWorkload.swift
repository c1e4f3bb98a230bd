import AccessLogParser
import Corpus

/// `JSONRecordScanner.scan` alone over the pre-split lines of a JSON corpus: no framing, no
/// envelope, no aggregation.
public final class ScannerWorkload {
    public let buffer: CorpusBuffer
    let scanner: JSONRecordScanner
    let record = AccessRecord()

    /// - Parameter wanted: the fields whose values are recorded; other keys are recognised and
    ///   skipped, as with the metric families' ``MetricsSchema/wantedFields``.
    public init(_ buffer: CorpusBuffer, wanted: FieldSet) {
        self.buffer = buffer
        scanner = JSONRecordScanner(keys: FieldMap.automatic.makeKeyTable(wanted: wanted))
    }

    /// Scans lines `first..<(first + count)`; returns the sum of their response codes, which
    /// depends on every record having been read (and keeps the work from being optimised away).
    @inline(never)
    public func scan(first: Int, count: Int) -> Int {
        var codes = 0
        var hints: UInt8 = 0
        for k in first..<(first + count) {
            if scanner.scan(buffer.line(k), into: record, hints: &hints) == .record {
                codes &+= Int(record.int(.responseCode) ?? 0)
            }
        }
        return codes
    }

    /// Scans every line and compares with the corpus's expected counts; returns what differs.
    public func verify() -> String? {
        let codes = scan(first: 0, count: buffer.lineCount)
        guard let expected = buffer.expected?.responseCodeSum else { return nil }
        return codes == expected ? nil : "scanner: response codes sum to \(codes), expected \(expected)"
    }
}

extension ExpectedCounts {
    /// The sum of the response codes of all requests: a cheap exact check that every record was
    /// parsed with the right code.
    public var responseCodeSum: Int {
        requests.reduce(0) { $0 + $1.key.responseCode * $1.value }
    }
}
