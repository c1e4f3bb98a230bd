import AccessLogParser
import Corpus
import MallocInterposerSwift
import Workloads

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// throughput: the headline figures, lines/s and MB/s, for the scanner alone, the decoder and
/// the full pipeline, on one core.
///
///     throughput [--lines N] [--seed S] [--format F] [--runs R] [--only STAGE] [CORPUS]
///
/// Without CORPUS it generates the corpus (default 1 000 000 lines of Istio JSON in Envoy
/// 1.40's key order) to a temporary file, then reads the file into memory; with CORPUS it reads
/// that file (and can only check that every line parses). Each stage makes one untimed warm-up
/// pass over the whole corpus, then R timed passes (default 5); the best is reported.
/// `--only scanner|decoder|pipeline|rules|kubernetes` runs one stage, for profilers (`rules`: the
/// pipeline with 50 and with 500 route rules, `rules-50` and `rules-500` one of them; `kubernetes`:
/// with labels from a pod index).
///
/// Allocations are counted by ordo-one's malloc interposer, linked into this executable: it
/// wraps malloc, calloc, realloc, posix_memalign and free, and counts every call while hooked.
/// They are counted over all timed passes and divided by the lines those passes read.

let usage = "usage: throughput [--lines N] [--seed S] [--format F] [--runs R] [--only STAGE] [CORPUS]"

func fail(_ message: String) -> Never {
    print("throughput: \(message)")
    exit(2)
}

struct Options {
    var lines = 1_000_000
    var seed: UInt64 = 1
    var format = CorpusFormat.json(.alphabetical)
    var runs = 5
    var only: String?
    var path: String?

    init(_ arguments: [String]) {
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            func number() -> Int {
                guard let text = rest.popFirst(), let value = Int(text), value > 0 else {
                    fail("\(argument) takes a positive number\n\(usage)")
                }
                return value
            }
            switch argument {
            case "--lines": lines = number()
            case "--seed": seed = UInt64(number())
            case "--runs": runs = number()
            case "--only":
                guard let stage = rest.popFirst(),
                    ["scanner", "decoder", "pipeline", "rules", "rules-50", "rules-500", "kubernetes"].contains(stage)
                else {
                    fail("--only takes scanner, decoder, pipeline, rules, rules-50, rules-500 or kubernetes")
                }
                only = stage
            case "--format":
                guard let name = rest.popFirst(), let format = CorpusFormat(name) else {
                    fail("--format takes one of \(CorpusFormat.all.map(\.description).joined(separator: ", "))")
                }
                self.format = format
            case "-h", "--help":
                print(usage)
                exit(0)
            default:
                guard path == nil, !argument.hasPrefix("-") else { fail("unexpected \(argument)\n\(usage)") }
                path = argument
            }
        }
    }
}

// MARK: Measuring

#if canImport(Glibc)
    /// Glibc imports `RUSAGE_SELF` as an enum case; getrusage takes its raw value.
    let rusageSelf = __rusage_who_t(RUSAGE_SELF.rawValue)
#else
    let rusageSelf = RUSAGE_SELF
#endif

/// CPU seconds (user + system) of this process so far.
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(rusageSelf, &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
        + Double(usage.ru_stime.tv_usec) / 1e6
}

/// Seconds on the monotonic clock.
func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

/// Peak resident set size of this process so far, in bytes (`ru_maxrss` is in KiB on Linux).
func peakResidentBytes() -> Int {
    var usage = rusage()
    getrusage(rusageSelf, &usage)
    #if canImport(Darwin)
        return Int(usage.ru_maxrss)
    #else
        return Int(usage.ru_maxrss) * 1024
    #endif
}

struct StageResult {
    var name: String
    var lines: Int
    var bytes: Int
    var bestSeconds = Double.infinity
    var bestCPUSeconds = 0.0
    /// The least CPU time of any timed pass: robust when other processes share the cores.
    var leastCPUSeconds = Double.infinity
    var warmUpAllocations = 0
    var timedAllocations = 0
    var timedLines = 0
    var peakResidentBytes = 0
}

/// Runs `pass` once untimed, then `runs` times timed; each call of `pass` reads the whole
/// corpus once.
func measure(_ name: String, lines: Int, bytes: Int, runs: Int, _ pass: () -> Void) -> StageResult {
    var result = StageResult(name: name, lines: lines, bytes: bytes)
    MallocInterposerSwift.reset()
    MallocInterposerSwift.hook()
    pass()
    MallocInterposerSwift.unhook()
    result.warmUpAllocations = MallocInterposerSwift.getStatistics().mallocCount
    MallocInterposerSwift.reset()
    for _ in 0..<runs {
        MallocInterposerSwift.hook()
        let cpu = cpuSeconds()
        let start = monotonicSeconds()
        pass()
        let wall = monotonicSeconds() - start
        let cpuUsed = cpuSeconds() - cpu
        MallocInterposerSwift.unhook()
        result.leastCPUSeconds = min(result.leastCPUSeconds, cpuUsed)
        if wall < result.bestSeconds {
            result.bestSeconds = wall
            result.bestCPUSeconds = cpuUsed
        }
    }
    result.timedAllocations = MallocInterposerSwift.getStatistics().mallocCount
    result.timedLines = lines * runs
    result.peakResidentBytes = peakResidentBytes()
    return result
}

// MARK: Main

let options = Options(Array(CommandLine.arguments.dropFirst()))
var expected: ExpectedCounts?
var path = options.path ?? ""
if options.path == nil {
    let directory = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
    path = "\(directory)/logmetrics-throughput-\(getpid()).log"
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard fd >= 0 else { fail("cannot create \(path)") }
    let start = monotonicSeconds()
    expected = CorpusGenerator(seed: options.seed).write(lines: options.lines, format: options.format) { chunk in
        var offset = 0
        while offset < chunk.count {
            let n = write(fd, chunk.baseAddress! + offset, chunk.count - offset)
            guard n > 0 || errno == EINTR else { fail("cannot write \(path)") }
            offset += max(n, 0)
        }
    }
    close(fd)
    print("generated \(options.lines) lines in \(format3(monotonicSeconds() - start)) s")
}
let baselineRSS = peakResidentBytes()
guard let buffer = CorpusBuffer.read(path: path, format: options.format, expected: expected) else {
    fail("cannot read \(path)")
}
if options.path == nil { unlink(path) }
let lines = buffer.lineCount
let bytes = buffer.bytes.count
print(
    "corpus: \(options.path ?? "generated, seed \(options.seed)"), \(options.format), \(lines) lines, "
        + "\(bytes) bytes (\(Int((Double(bytes) / Double(lines)).rounded())) bytes/line), held in memory")

// Correctness first: a fast wrong answer is no answer.
do {
    if let problem = try DecoderWorkload.verify(buffer, wanted: .all) ?? PipelineWorkload.verify(buffer) {
        fail("check failed: \(problem)")
    }
} catch {
    fail("cannot build the default metric families: \(error)")
}
print(expected == nil ? "check: every line parsed" : "check: counts match the generator exactly")

// The default families have no label patterns, so building their schema cannot fail.
let metricFields = try! PipelineWorkload.metricFields()
var results: [StageResult] = []
func selected(_ stage: String) -> Bool { options.only == nil || options.only == stage }

if case .json = options.format, selected("scanner") {
    for (name, wanted) in [("scanner, all fields", FieldSet.all), ("scanner, metric fields", metricFields)] {
        let scanner = ScannerWorkload(buffer, wanted: wanted)
        var sink = 0
        results.append(
            measure(name, lines: lines, bytes: bytes, runs: options.runs) {
                sink &+= scanner.scan(first: 0, count: lines)
            })
        if sink == 42 { print("") }  // keeps the scans from being optimised away
    }
}
if selected("decoder") {
    let decoder = DecoderWorkload(buffer, wanted: metricFields)
    results.append(
        measure("decoder (framing + parser)", lines: lines, bytes: bytes, runs: options.runs) {
            decoder.feedAll()
        })
}
if selected("pipeline") {
    let pipeline = try! PipelineWorkload(buffer)  // verified above with the same schema
    results.append(
        measure("full pipeline (decoder + shard)", lines: lines, bytes: bytes, runs: options.runs) {
            pipeline.feedAll()
        })
}
if selected("rules") || options.only?.hasPrefix("rules-") == true {
    for count in [50, 500] where options.only?.hasPrefix("rules-") != true || options.only == "rules-\(count)" {
        // The rules are valid, so building their schema cannot fail.
        let pipeline = try! PipelineWorkload(buffer, rules: RouteRules.rules(count: count))
        results.append(
            measure("full pipeline, \(count) route rules", lines: lines, bytes: bytes, runs: options.runs) {
                pipeline.feedAll()
            })
    }
}
if selected("kubernetes") {
    let pipeline = try! PipelineWorkload(buffer, enrichment: SyntheticPods())
    results.append(
        measure("full pipeline, kubernetes labels", lines: lines, bytes: bytes, runs: options.runs) {
            pipeline.feedAll()
        })
}

// MARK: Report

func format3(_ value: Double) -> String {
    let thousandths = Int((value * 1000).rounded())
    let fraction = String(thousandths % 1000)
    return "\(thousandths / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"
}

func padded(_ text: String, _ width: Int, right: Bool = true) -> String {
    let pad = String(repeating: " ", count: max(0, width - text.count))
    return right ? pad + text : text + pad
}

print("")
print(
    padded("stage", 34, right: false) + padded("best s", 8) + padded("lines/s", 12) + padded("MB/s", 8)
        + padded("CPU s", 8) + padded("lines/CPU-s", 13) + padded("allocs/line", 13) + padded("warm-up allocs", 16))
for r in results {
    let linesPerSecond = Double(r.lines) / r.bestSeconds
    let megabytesPerSecond = Double(r.bytes) / r.bestSeconds / 1e6
    let perLine = Double(r.timedAllocations) / Double(r.timedLines)
    print(
        padded(r.name, 34, right: false) + padded(format3(r.bestSeconds), 8)
            + padded(String(Int(linesPerSecond.rounded())), 12) + padded(String(Int(megabytesPerSecond.rounded())), 8)
            + padded(format3(r.bestCPUSeconds), 8)
            + padded(String(Int((Double(r.lines) / r.leastCPUSeconds).rounded())), 13)
            // A table that grows once in millions of lines is not a per-line allocation: count it.
            + padded(perLine == 0 ? "0" : perLine < 0.001 ? "~0 (\(r.timedAllocations))" : format3(perLine), 13)
            + padded(String(r.warmUpAllocations), 16))
}
print("")
print(
    "peak RSS: \(peakResidentBytes() / 1_048_576) MiB, of which the corpus held in memory "
        + "\(bytes / 1_048_576) MiB (RSS before loading it: \(baselineRSS / 1_048_576) MiB)")
print(
    "runs: \(options.runs) timed passes per stage after one warm-up pass; lines/s, MB/s and CPU s from the "
        + "fastest pass, lines/CPU-s from the pass that used the least CPU")
