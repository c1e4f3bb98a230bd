import Corpus

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// make-corpus: writes a seeded access-log corpus, or checks a `logmetrics report` output
/// against the counts the same seed produces.
///
///     make-corpus [--lines N] [--seed S] [--format F] [--route-variants V] OUTPUT
///     make-corpus verify [--lines N] [--seed S] [--route-variants V] METRICS
///     make-corpus expect [--lines N] [--seed S] [--route-variants V] OUTPUT
///
/// `expect` writes the exact counts as tab-separated lines, for checking tools other than
/// logmetrics (`Benchmarks/compare/`): `lines N`, `duration_ms_sum S`, `slow_requests K`, then
/// `requests ROUTE CODE FLAGS COUNT` per group, the flags in Envoy's table order.
///
/// OUTPUT `-` is standard output. Formats: json (Envoy 1.40's alphabetical key order, the
/// default), json-declared (Istio's declared order), cri, cri-declared, text. Statistics go to
/// standard error.

let usage = """
    usage: make-corpus [--lines N] [--seed S] [--format F] [--route-variants V] OUTPUT
           make-corpus verify [--lines N] [--seed S] [--route-variants V] METRICS
           make-corpus expect [--lines N] [--seed S] [--route-variants V] OUTPUT
    formats: \(CorpusFormat.all.map(\.description).joined(separator: ", "))
    """

/// Writes to standard error with `write(2)`: C's `stderr` is a global Swift 6 cannot share.
func printError(_ message: String) {
    let bytes = Array((message + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress!, $0.count) }
}

func fail(_ message: String) -> Never {
    printError("make-corpus: \(message)")
    exit(2)
}

func required<T>(_ value: T?, _ message: @autoclosure () -> String) -> T {
    guard let value else { fail(message()) }
    return value
}

struct Options {
    var verify = false
    var expect = false
    var lines = 1_000_000
    var seed: UInt64 = 1
    var format = CorpusFormat.json(.alphabetical)
    var routeVariants = 1
    var path: String?

    init(_ arguments: [String]) {
        var rest = arguments[...]
        if rest.first == "verify" {
            verify = true
            rest = rest.dropFirst()
        } else if rest.first == "expect" {
            expect = true
            rest = rest.dropFirst()
        }
        while let argument = rest.popFirst() {
            func value() -> String {
                guard let next = rest.popFirst() else { fail("\(argument) needs a value\n\(usage)") }
                return next
            }
            switch argument {
            case "--lines": lines = required(Int(value()), "--lines takes a number")
            case "--seed": seed = required(UInt64(value()), "--seed takes a number")
            case "--route-variants": routeVariants = required(Int(value()), "--route-variants takes a number")
            case "--format":
                let name = value()
                format = required(CorpusFormat(name), "unknown format \(name)\n\(usage)")
            case "-h", "--help":
                print(usage)
                exit(0)
            default:
                guard path == nil, argument == "-" || !argument.hasPrefix("-") else {
                    fail("unexpected \(argument)\n\(usage)")
                }
                path = argument
            }
        }
        guard lines > 0, routeVariants > 0 else { fail("--lines and --route-variants must be positive") }
    }
}

func seconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

let options = Options(Array(CommandLine.arguments.dropFirst()))
guard let path = options.path else { fail(usage) }
let generator = CorpusGenerator(seed: options.seed, routeVariants: options.routeVariants)

if options.verify {
    // The counts do not depend on the format, so nothing is written: the corpus is generated
    // again and only counted.
    let expected = generator.write(lines: options.lines, format: .json(.alphabetical)) { _ in }
    var report = ReportCheck(expected: expected)
    guard let text = readFile(path) else { fail("cannot read \(path)") }
    let problems = report.check(exposition: text)
    print(report.summary)
    if problems.isEmpty {
        print("OK: every count matches the corpus exactly")
        exit(0)
    }
    for problem in problems.prefix(20) { print("MISMATCH: \(problem)") }
    if problems.count > 20 { print("... and \(problems.count - 20) more") }
    exit(1)
}

if options.expect {
    let expected = generator.write(lines: options.lines, format: .json(.alphabetical)) { _ in }
    var text = "lines\t\(expected.lines)\nduration_ms_sum\t\(expected.durationMillis)\n"
    text += "slow_requests\t\(expected.slowRequests)\n"
    for (key, count) in expected.requests.sorted(by: { $0.key < $1.key }) {
        text += "requests\t\(key.route)\t\(key.responseCode)\t\(key.canonicalFlags)\t\(count)\n"
    }
    let bytes = Array(text.utf8)
    let out = path == "-" ? STDOUT_FILENO : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    if out < 0 { fail("cannot create \(path): \(String(cString: strerror(errno)))") }
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { write(out, $0.baseAddress! + offset, bytes.count - offset) }
        if n < 0 {
            if errno == EINTR { continue }
            fail("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        offset += n
    }
    exit(0)
}

let fd = path == "-" ? STDOUT_FILENO : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
if fd < 0 { fail("cannot create \(path): \(String(cString: strerror(errno)))") }
let start = seconds()
let expected = generator.write(lines: options.lines, format: options.format) { chunk in
    var offset = 0
    while offset < chunk.count {
        let n = write(fd, chunk.baseAddress! + offset, chunk.count - offset)
        if n < 0 {
            if errno == EINTR { continue }
            fail("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        offset += n
    }
}
if fd != STDOUT_FILENO { close(fd) }
printError(describe(expected, format: options.format, seconds: seconds() - start))
