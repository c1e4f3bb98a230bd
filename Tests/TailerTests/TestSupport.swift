import Synchronization
import Testing

@testable import Tailer

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A temporary directory removed at the end of a test.
final class TemporaryDirectory {
    let path: String

    init() {
        var template = Array("/tmp/logmetrics-test-XXXXXX".utf8CString)
        path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        // Traversable by others, for the tests that read with reduced privileges.
        chmod(path, 0o755)
    }

    deinit {
        _ = system("chmod -R u+rwx '\(path)' 2>/dev/null; rm -rf '\(path)'")
    }

    func file(_ name: String) -> String { path + "/" + name }

    /// Creates `relative` (and its parents) as directories; returns the full path.
    @discardableResult
    func makeDirectory(_ relative: String) -> String {
        let full = file(relative)
        precondition(system("mkdir -p '\(full)'") == 0)
        return full
    }
}

func append(_ path: String, _ text: String) {
    append(path, bytes: Array(text.utf8))
}

func append(_ path: String, bytes: [UInt8]) {
    let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
    precondition(fd >= 0, "open \(path): \(errno)")
    bytes.withUnsafeBytes { precondition(write(fd, $0.baseAddress, $0.count) == $0.count) }
    close(fd)
}

func contents(_ path: String) -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    precondition(fd >= 0)
    defer { close(fd) }
    var info = stat()
    precondition(fstat(fd, &info) == 0)
    var out = [UInt8](repeating: 0, count: Int(info.st_size))
    let n = out.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
    return Array(out[0..<max(0, n)])
}

/// Time that moves only when a test says so.
final class ManualClock: TailerClock {
    private let nanoseconds = Atomic<Int64>(1_000_000_000)

    func now() -> MonotonicInstant { MonotonicInstant(nanoseconds: nanoseconds.load(ordering: .relaxed)) }

    func advance(by duration: Duration) {
        nanoseconds.add(duration.nanoseconds, ordering: .relaxed)
    }
}

/// A tailer configuration for stepping by hand: polling, every file checked and every glob
/// expanded on every poll.
func steppedConfiguration(start: TailerConfiguration.StartPosition = .head) -> TailerConfiguration {
    var configuration = TailerConfiguration()
    configuration.changeDetection = .polling
    configuration.startPosition = start
    configuration.pollInterval = .zero
    configuration.rescanInterval = .zero
    configuration.statisticsInterval = .zero
    configuration.rotateWait = .seconds(5)
    configuration.retryBackoff = .seconds(1) ... .seconds(8)
    return configuration
}

/// Polls until a poll reads nothing and no input has a backlog.
@discardableResult
func pollUntilQuiet(_ tailer: Tailer, limit: Int = 1000) -> Int64 {
    var total: Int64 = 0
    for _ in 0..<limit {
        let n = tailer.poll()
        total += n
        if n == 0 && !tailer.hasBacklog { break }
    }
    return total
}

/// Records everything a tailer reports.
final class Recorder: TailerEvents {
    enum Event: Equatable, CustomStringConvertible {
        case opened(InputID, String)
        case rotated(InputID, String)
        case truncated(InputID, UInt64)
        case endOfFile(InputID)
        case closed(InputID)
        case failed(InputID?, Int32)

        var description: String {
            switch self {
            case .opened(let id, let path): "opened(\(id.rawValue), \(baseName(path)))"
            case .rotated(let id, let path): "rotated(\(id.rawValue), \(baseName(path)))"
            case .truncated(let id, let missed): "truncated(\(id.rawValue), \(missed))"
            case .endOfFile(let id): "endOfFile(\(id.rawValue))"
            case .closed(let id): "closed(\(id.rawValue))"
            case .failed(let id, let code): "failed(\(id.map { String($0.rawValue) } ?? "-"), \(code))"
            }
        }
    }

    var bytes: [InputID: [UInt8]] = [:]
    var events: [Event] = []
    var errors: [SystemError] = []
    var labels: [InputID: [String: String]] = [:]
    var paths: [InputID: String] = [:]
    var largestChunk = 0

    func read(_ chunk: UnsafeBufferPointer<UInt8>, from input: InputID) {
        bytes[input, default: []].append(contentsOf: chunk)
        largestChunk = max(largestChunk, chunk.count)
    }

    func opened(_ input: InputID, path: String, identity: FileIdentity, labels: [String: String]) {
        events.append(.opened(input, path))
        self.labels[input] = labels
        paths[input] = path
    }

    func rotated(_ input: InputID, path: String, identity: FileIdentity) { events.append(.rotated(input, path)) }
    func truncated(_ input: InputID, possiblyMissed: UInt64) { events.append(.truncated(input, possiblyMissed)) }
    func endOfFile(_ input: InputID) { events.append(.endOfFile(input)) }
    func closed(_ input: InputID) { events.append(.closed(input)) }

    func failed(_ input: InputID?, error: SystemError) {
        events.append(.failed(input, error.errno))
        errors.append(error)
    }

    /// Everything delivered for one input, as text.
    func text(_ input: InputID) -> String { String(decoding: bytes[input] ?? [], as: UTF8.self) }

    /// Everything delivered, when there is one input.
    var text: String {
        precondition(bytes.count <= 1, "more than one input: \(bytes.keys)")
        return String(decoding: bytes.values.first ?? [], as: UTF8.self)
    }

    /// The input that opened `path`.
    func input(path: String) -> InputID? {
        paths.first { $0.value == path }?.key
    }

    /// The input that opened a path whose name is `name` (one of them, if several did).
    func input(named name: String) -> InputID? {
        paths.first { baseName($0.value) == name }?.key
    }

    /// Every input that had a file named `name`, oldest first (a path that comes back after its
    /// input was released is a new input).
    func inputs(named name: String) -> [InputID] {
        paths.filter { baseName($0.value) == name }.map(\.key).sorted { $0.rawValue < $1.rawValue }
    }
}

/// Resident memory of this process in bytes (Linux), from /proc/self/statm.
func residentBytes() -> Int {
    let text = String(decoding: contents("/proc/self/statm"), as: UTF8.self)
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}
