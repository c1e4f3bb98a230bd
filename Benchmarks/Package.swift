// swift-tools-version: 6.1
import PackageDescription

// Throughput and allocation benchmarks for logmetrics, kept out of the root package so that
// building or testing logmetrics never pulls in the benchmark framework.
//
// - `Corpus`: a seeded generator of Istio access logs (JSON in two key orders, CRI-wrapped
//   JSON, Istio TEXT) that also returns the exact counts logmetrics must report for them.
// - `Workloads`: the measured loops (scanner, decoder, pipeline, render), shared by the
//   ordo-one benchmarks and the `throughput` executable so both time the same code.
// - `make-corpus`: writes a corpus file and checks a `logmetrics report` output against it.
// - `throughput`: best-of-5 lines/s, MB/s, CPU seconds, allocations per line, peak RSS.
// - `Benchmarks/<Name>`: ordo-one benchmark suites (`swift package benchmark`).
let package = Package(
    name: "logmetrics-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        // Named so that products resolve whatever the checkout directory is called.
        .package(name: "logmetrics", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark.git", exact: "1.38.1", traits: ["MallocInterposer"]),
        // The allocation counter the benchmark framework itself uses; `throughput` links it
        // directly to count mallocs per line outside the framework.
        .package(url: "https://github.com/ordo-one/malloc-interposer.git", from: "1.5.0"),
    ],
    targets: [
        .target(name: "Corpus"),
        .target(
            name: "Workloads",
            dependencies: [
                "Corpus",
                .product(name: "AccessLogParser", package: "logmetrics"),
                .product(name: "Aggregation", package: "logmetrics"),
                .product(name: "Exposition", package: "logmetrics"),
            ]
        ),
        .executableTarget(name: "make-corpus", dependencies: ["Corpus"]),
        .executableTarget(
            name: "throughput",
            dependencies: [
                "Corpus", "Workloads",
                .product(name: "MallocInterposerSwift", package: "malloc-interposer"),
            ]
        ),
    ]
)

// One ordo-one suite per stage: scanner alone, framing + scanner, the full pipeline, and
// snapshot + text rendering.
for name in ["Scanner", "Framing", "Pipeline", "Render"] {
    package.targets.append(
        .executableTarget(
            name: name,
            dependencies: [
                "Corpus", "Workloads",
                .product(name: "Exposition", package: "logmetrics"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/\(name)",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    )
}
