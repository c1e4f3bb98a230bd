import AccessLogParser
import Benchmark
import Corpus
import Workloads

// JSONRecordScanner.scan alone, over pre-split lines of Istio JSON in both key orders, recording
// every field or only those the default metric families use.
//
// One iteration scans 1 000 lines (Fixtures.linesPerIteration) and the scaling factor is
// .kilo, so the scaled figures are per line: time per line, lines per second, allocations per
// line. The corpus (100 000 lines, ~84 MB) is checked against its expected counts in setup,
// and one whole pass is made as warm-up before anything is measured. CPU time is left out:
// the kernel accounts it in 10 ms ticks, far coarser than an iteration (about 0.4 ms); the
// throughput executable reports CPU seconds over whole passes instead.
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
    for order in KeyOrder.allCases {
        for (name, wanted) in [("all-fields", FieldSet.all), ("metric-fields", metricFields)] {
            Benchmark("scan/\(name)/\(order.rawValue)") { benchmark, state in
                blackHole(state.workload.scan(first: state.cursor.advance(), count: Fixtures.linesPerIteration))
            } setup: {
                let state = ScanState(ScannerWorkload(Fixtures.corpus(.json(order)), wanted: wanted))
                if let problem = state.workload.verify() { throw WorkloadMismatch(problem) }
                return state
            }
        }
    }
}

/// A workload and the cursor that moves it through the corpus from one iteration to the next.
final class ScanState {
    let workload: ScannerWorkload
    var cursor: SliceCursor

    init(_ workload: ScannerWorkload) {
        self.workload = workload
        cursor = Fixtures.slices(workload.buffer)
    }
}
