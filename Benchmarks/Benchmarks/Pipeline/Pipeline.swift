import Benchmark
import Corpus
import Workloads

// The whole per-line path: AccessLogDecoder feeding a Shard with the default metric families,
// each chunk under the shard's lock (shard.withRecorder { decoder.feed(chunk, into: &$0) }), as
// the tool's ingest loop does.
//
// pipeline/<format>: one iteration feeds the bytes of 1 000 lines in chunks of at most 256 KiB;
// the scaling factor is .kilo, so the scaled figures are per line. CPU time is left out there:
// the kernel accounts it in 10 ms ticks, far coarser than an iteration.
//
// pipeline-pass/json: one iteration is a whole pass over the 100 000-line corpus (about
// 0.1 s), long enough for CPU time to mean something; the figures are per pass.
//
// Setup runs the whole corpus through a fresh pipeline and compares logmetrics_http_requests
// per (route, response_code, response_flags) with the generator's counts exactly. The warm-up
// pass creates every series, so the measured iterations are the steady state.
let benchmarks: @Sendable () -> Void = {
    let passes = Fixtures.lines / Fixtures.linesPerIteration
    for format in [CorpusFormat.json(.alphabetical), .json(.declared), .cri(.alphabetical), .text] {
        Benchmark(
            "pipeline/\(format)",
            configuration: .init(
                metrics: [.wallClock, .throughput, .mallocCountTotal, .peakMemoryResident],
                warmupIterations: passes, scalingFactor: .kilo, maxDuration: .seconds(3), maxIterations: 1_000_000)
        ) { benchmark, state in
            state.workload.feed(first: state.cursor.advance(), count: Fixtures.linesPerIteration)
        } setup: {
            try PipelineState(Fixtures.corpus(format))
        }
    }

    Benchmark(
        "pipeline-pass/json",
        configuration: .init(
            metrics: [.wallClock, .throughput, .cpuTotal, .mallocCountTotal, .peakMemoryResident],
            warmupIterations: 1, scalingFactor: .one, maxDuration: .seconds(3), maxIterations: 1_000)
    ) { benchmark, state in
        state.workload.feedAll()
    } setup: {
        try PipelineState(Fixtures.corpus(.json(.alphabetical)))
    }
}

/// A checked workload and the cursor that moves it through the corpus from one iteration to
/// the next.
final class PipelineState {
    let workload: PipelineWorkload
    var cursor: SliceCursor

    init(_ buffer: CorpusBuffer) throws {
        if let problem = try PipelineWorkload.verify(buffer) { throw WorkloadMismatch(problem) }
        workload = try PipelineWorkload(buffer)
        cursor = Fixtures.slices(buffer)
    }
}
