import AccessLogParser
import CFuzzerDriver

// Arbitrary bytes through the whole decoder (framing, CRI and docker envelopes, partial-line
// reassembly, both record syntaxes), fed in pieces whose sizes come from the input itself, with a
// small line bound so that the oversized paths are reached. Every line must end in exactly one
// outcome.
struct CountingSink: AccessRecordSink {
    var records = 0
    var rejected = 0

    mutating func consume(_ record: AccessRecord) {
        records += 1
        for field in record.present {
            _ = record.withValue(field) { $0?.count ?? 0 }
        }
    }

    mutating func reject(_ outcome: LineOutcome, line: UnsafeBufferPointer<UInt8>) {
        rejected += 1
    }
}

let configurations: [ParserConfiguration] = [
    ParserConfiguration(maxLineLength: 512),
    ParserConfiguration(envelope: .cri, maxLineLength: 4096),
    ParserConfiguration(envelope: .docker, maxLineLength: 4096),
]

let fuzz: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt = { start, count in
    guard count > 0, let start else { return 0 }
    let bytes = UnsafeBufferPointer(start: start, count: count)
    let configuration = configurations[Int(bytes[0]) % configurations.count]
    let decoder = AccessLogDecoder(configuration: configuration)
    var sink = CountingSink()
    var offset = 1
    var step = Int(bytes[0] >> 2) + 1
    while offset < count {
        let end = min(count, offset + step)
        decoder.feed(UnsafeBufferPointer(rebasing: bytes[offset..<end]), into: &sink)
        step = Int(bytes[offset]) % 97 + 1
        offset = end
    }
    decoder.finish(into: &sink)
    precondition(decoder.counts.total == UInt64(sink.records + sink.rejected), "every line has exactly one outcome")
    precondition(decoder.counts.parsed == UInt64(sink.records))
    return 0
}

@_cdecl("DecoderFuzzer_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments, fuzz)
}
