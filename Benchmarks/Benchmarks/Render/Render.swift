import Aggregation
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
// - render/100k-series: ten times that (4 000 000 lines, 240 copies), with the caps raised so
//   that no family stops at its default 10 000 series; text only.
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
    let cases = [("corpus", Fixtures.lines, 1), ("10k-series", 400_000, 24), ("100k-series", 4_000_000, 240)]
    let raised = Limits(maxSeriesPerFamily: 1_000_000, defaultMaxValuesPerLabel: 100_000)
    for (name, lines, variants) in cases {
        for (formatName, format, gzip) in formats {
            // The corpus-sized and 100k-series scrapes in text only; the 10k-series one in every format.
            if name != "10k-series" && formatName != "text" { continue }
            let label = formatName == "text" ? "render/\(name)" : "render/\(name)/\(formatName)"
            Benchmark(label) { benchmark, workload in
                blackHole(workload.render())
            } setup: {
                let workload = try RenderWorkload(
                    Fixtures.corpus(.json(.alphabetical), lines: lines, routeVariants: variants), format: format,
                    gzip: gzip, limits: name == "100k-series" ? raised : Limits())
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
