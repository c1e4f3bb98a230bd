import Benchmark
import Corpus
import Workloads

// A scrape: SnapshotBuilder.snapshot over an ingested corpus, then TextFormatWriter.write of the
// whole snapshot (default families plus self metrics). One iteration is one scrape. CPU time is
// left out: the kernel accounts it in 10 ms ticks, coarser than a scrape.
//
// - render/corpus: after the 100 000-line benchmark corpus (its series count is printed).
// - render/10k-series: after 400 000 lines whose routes are copied 24 times (`search`,
//   `search_v1`, ...), which gives about 10 000 series across all families (a histogram counts
//   once), the size the target is set for.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .peakMemoryResident],
        warmupIterations: 5,
        scalingFactor: .one,
        maxDuration: .seconds(3),
        maxIterations: 10_000
    )

    for (name, lines, variants) in [("corpus", Fixtures.lines, 1), ("10k-series", 400_000, 24)] {
        Benchmark("render/\(name)") { benchmark, workload in
            blackHole(workload.render())
        } setup: {
            let workload = try RenderWorkload(
                Fixtures.corpus(.json(.alphabetical), lines: lines, routeVariants: variants))
            _ = workload.render()
            print(
                "render/\(name): \(workload.seriesCount) series, \(workload.sampleCount) samples, "
                    + "\(workload.outputBytes) bytes of text per scrape")
            return workload
        }
    }
}
