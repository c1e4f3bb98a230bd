import Benchmark
import Corpus
import Exposition
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

    let formats: [(String, ExpositionFormat, Bool)] = [
        ("text", .text, false), ("text+gzip", .text, true), ("openmetrics", .openMetrics, false),
        ("protobuf", .protobuf, false),
    ]
    for (name, lines, variants) in [("corpus", Fixtures.lines, 1), ("10k-series", 400_000, 24)] {
        for (formatName, format, gzip) in formats {
            // The corpus-sized scrape in text only; the 10k-series one in every format.
            if name == "corpus" && formatName != "text" { continue }
            let label = formatName == "text" ? "render/\(name)" : "render/\(name)/\(formatName)"
            Benchmark(label) { benchmark, workload in
                blackHole(workload.render())
            } setup: {
                let workload = try RenderWorkload(
                    Fixtures.corpus(.json(.alphabetical), lines: lines, routeVariants: variants), format: format,
                    gzip: gzip)
                _ = workload.render()
                var line =
                    "\(label): \(workload.seriesCount) series, \(workload.sampleCount) samples, "
                    + "\(workload.outputBytes) bytes per scrape"
                if gzip {
                    let ratio = Double(workload.outputBytes) / Double(max(1, workload.compressedBytes))
                    line += ", \(workload.compressedBytes) gzipped (ratio \((ratio * 10).rounded() / 10))"
                }
                print(line)
                return workload
            }
        }
    }
}
