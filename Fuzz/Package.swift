// swift-tools-version: 6.1
import PackageDescription

// libFuzzer targets for the parser. SwiftPM links executables with their own entry point, so each
// target starts libFuzzer through LLVMFuzzerRunDriver. Build with the fuzzer and address sanitizer:
//   swift build -c release --package-path Fuzz --product DecoderFuzzer \
//     -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
// (scripts/fuzz.sh does this and runs each target for a bounded time.)
let package = Package(
    name: "logmetrics-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "logmetrics", path: "..")],
    targets: [
        .target(name: "CFuzzerDriver"),
        .executableTarget(
            name: "ScannerFuzzer",
            dependencies: ["CFuzzerDriver", .product(name: "AccessLogParser", package: "logmetrics")]
        ),
        .executableTarget(
            name: "DecoderFuzzer",
            dependencies: ["CFuzzerDriver", .product(name: "AccessLogParser", package: "logmetrics")]
        ),
    ]
)
