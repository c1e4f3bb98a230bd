import AccessLogParser
import Benchmark
import Corpus
import Workloads

// AccessLogDecoder.feed: framing, the container envelope and the record parser, over raw JSON
// (Envoy 1.40's key order), the same lines in CRI envelopes, and Istio TEXT, recording the fields
// the default metric families use, into a sink that only counts.
//
// One iteration feeds the bytes of 1 000 lines in chunks of at most 256 KiB (chunk boundaries
// fall inside lines, as with real reads); the scaling factor is .kilo, so the scaled figures are
// per line. Each corpus (100 000 lines) is checked in setup: every line parsed, response codes
// as generated. One whole pass is made as warm-up. CPU time is left out: the kernel accounts it
// in 10 ms ticks, far coarser than an iteration.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .peakMemoryResident],
        warmupIterations: Fixtures.lines / Fixtures.linesPerIteration,
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 1_000_000
    )

    // The default families have no label patterns, so building their schema cannot fail.
    let metricFields = try! PipelineWorkload.metricFields()
    for format in [CorpusFormat.json(.alphabetical), .cri(.alphabetical), .text] {
        Benchmark("decode/\(format)") { benchmark, state in
            state.workload.feed(first: state.cursor.advance(), count: Fixtures.linesPerIteration)
        } setup: {
            let buffer = Fixtures.corpus(format)
            if let problem = DecoderWorkload.verify(buffer, wanted: metricFields) { throw WorkloadMismatch(problem) }
            return DecodeState(DecoderWorkload(buffer, wanted: metricFields))
        }
    }
}

/// A workload and the cursor that moves it through the corpus from one iteration to the next.
final class DecodeState {
    let workload: DecoderWorkload
    var cursor: SliceCursor

    init(_ workload: DecoderWorkload) {
        self.workload = workload
        cursor = Fixtures.slices(workload.buffer)
    }
}
