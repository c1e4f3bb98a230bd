// swift-tools-version: 6.1
import PackageDescription

// Modules follow the data flow and depend one way:
//   Tailer -> AccessLogParser -> Aggregation -> Exposition -> ScrapeServer
// Histograms is a leaf of pure values; Configuration turns a YAML file into the typed values the
// stages take. Only the executable wires them together.
let hotPathSettings: [SwiftSetting] = [
    // The per-line loop is covered by tests and fuzzing; dynamic exclusivity checks
    // on its buffers cost measurable time without catching anything the tests would not.
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))
]

let package = Package(
    name: "logmetrics",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "logmetrics", targets: ["LogMetrics"]),
        .library(name: "AccessLogParser", targets: ["AccessLogParser"]),
        .library(name: "Histograms", targets: ["Histograms"]),
        .library(name: "Exposition", targets: ["Exposition"]),
        .library(name: "Aggregation", targets: ["Aggregation"]),
        .library(name: "Tailer", targets: ["Tailer"]),
        .library(name: "ScrapeServer", targets: ["ScrapeServer"]),
        .library(name: "Configuration", targets: ["Configuration"]),
        .library(name: "Kubernetes", targets: ["Kubernetes"]),
        .library(name: "Checkpoint", targets: ["Checkpoint"]),
        .library(name: "Reporting", targets: ["Reporting"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    ],
    targets: [
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"]), .brew(["zlib"])]
        ),
        // libcurl's headers (Debian's libcurl4-openssl-dev); the library is loaded when first
        // needed, not linked (see Sources/CCurl/include/CCurl.h).
        .target(name: "CCurl", linkerSettings: [.linkedLibrary("dl", .when(platforms: [.linux]))]),
        .systemLibrary(
            name: "CCrypt",
            pkgConfig: "libcrypt",
            providers: [.apt(["libcrypt-dev"])]
        ),
        .target(name: "CByteScan"),
        .target(name: "AccessLogParser", dependencies: ["CByteScan"], swiftSettings: hotPathSettings),
        .target(name: "Histograms", swiftSettings: hotPathSettings),
        .target(name: "Exposition", dependencies: ["Histograms", "CZlib"], swiftSettings: hotPathSettings),
        .target(
            name: "Aggregation",
            dependencies: ["AccessLogParser", "Histograms", "Exposition", "CAllocator"],
            swiftSettings: hotPathSettings
        ),
        .target(name: "Reporting", dependencies: ["AccessLogParser", "Aggregation", "Exposition", "Histograms"]),
        .target(name: "CFileBirth"),
        .target(name: "CMappedFile"),
        .target(name: "CSignalRelay"),
        .target(name: "CAllocator"),
        .target(name: "CCodePages"),
        .target(
            name: "Tailer", dependencies: ["AccessLogParser", "CByteScan", "CZlib", "CFileBirth", "CMappedFile"],
            swiftSettings: hotPathSettings),
        .target(name: "HTTPClient", dependencies: ["CCurl"]),
        .target(name: "Kubernetes", dependencies: ["HTTPClient"]),
        .target(name: "Checkpoint", dependencies: ["Tailer", "Exposition", "Histograms"]),
        .target(
            name: "Configuration",
            dependencies: [
                "AccessLogParser", "Aggregation", "Exposition", "Histograms", "Kubernetes",
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .target(
            name: "ScrapeServer",
            dependencies: [
                "Exposition",
                "CAllocator",
                "CZlib",
                "CCrypt",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "LogMetrics",
            dependencies: [
                "AccessLogParser", "Aggregation", "Checkpoint", "Configuration", "Exposition", "Histograms",
                "HTTPClient", "Kubernetes", "Reporting", "ScrapeServer", "Tailer", "CSignalRelay", "CAllocator",
                "CCodePages",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .testTarget(name: "AccessLogParserTests", dependencies: ["AccessLogParser", "CByteScan"]),
        .testTarget(name: "HistogramsTests", dependencies: ["Histograms"]),
        .testTarget(name: "ExpositionTests", dependencies: ["Exposition", "Histograms"]),
        .testTarget(
            name: "AggregationTests", dependencies: ["Aggregation", "AccessLogParser", "Exposition", "Histograms"],
            exclude: ["Fixtures"]),
        .testTarget(
            name: "ReportingTests", dependencies: ["Reporting", "Aggregation", "AccessLogParser", "Configuration"]),
        .testTarget(name: "TailerTests", dependencies: ["Tailer", "AccessLogParser"]),
        // SIGBUS scenarios that need a process of their own, run by TailerTests (built with the tests).
        .executableTarget(name: "mapped-file-probe", dependencies: ["CMappedFile"], path: "Tests/MappedFileProbe"),
        .testTarget(
            name: "ConfigurationTests", dependencies: ["Configuration", "Aggregation", "AccessLogParser", "Kubernetes"]),
        .testTarget(
            name: "ScrapeServerTests",
            dependencies: [
                "ScrapeServer", "Exposition", "Aggregation", "AccessLogParser",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "LogMetricsTests",
            dependencies: ["LogMetrics", "KubernetesTestSupport", "CCodePages", "Configuration"]),
        .testTarget(
            name: "CheckpointTests",
            dependencies: ["Checkpoint", "Aggregation", "AccessLogParser", "Exposition", "Tailer"]),
        // A Kubernetes API server on loopback that speaks list and watch, for the tests of the
        // client and of enrichment through the command.
        .target(
            name: "KubernetesTestSupport",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Tests/KubernetesTestSupport"
        ),
        .testTarget(
            name: "KubernetesTests",
            dependencies: [
                "Kubernetes", "KubernetesTestSupport", "HTTPClient",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
    ]
)
