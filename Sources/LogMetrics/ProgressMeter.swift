import Aggregation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The terminal's width, when standard output is one.
enum Terminal {
    static var columns: Int? {
        guard isatty(STDOUT_FILENO) == 1 else { return nil }
        var size = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return nil }
        return Int(size.ws_col)
    }
}

/// One line on standard error, rewritten a few times a second: bytes read, lines per second and,
/// when the inputs are plain files, the share done and the time left.
final class ProgressMeter {
    /// Inputs smaller than this are read before a person would look at a bar.
    static let automaticThreshold: Int64 = 64 << 20

    private let total: Int64?
    private var bytes: Int64 = 0
    /// Lines of the files finished before the current one.
    private var linesBefore: UInt64 = 0
    private var lines: UInt64 = 0
    private let started = monotonicSeconds()
    private var drawn = 0.0
    private var visible = false

    /// Nil when no meter should be shown: `enabled` false, or (when not given) standard error is
    /// not a terminal or the input is small.
    init?(paths: [String], enabled: Bool?) {
        var size: Int64 = 0
        var known = true
        for path in paths {
            var info = stat()
            guard path != "-", !path.hasSuffix(".gz"), stat(path, &info) == 0 else {
                known = false
                if path != "-", stat(path, &info) == 0 { size += Int64(info.st_size) * 8 }  // gzip's usual ratio
                continue
            }
            size += Int64(info.st_size)
        }
        if let enabled {
            guard enabled else { return nil }
        } else {
            guard isatty(STDERR_FILENO) == 1, !paths.contains("-"), size >= Self.automaticThreshold else {
                return nil
            }
        }
        total = known ? size : nil
    }

    func advance(bytes count: Int, lines fileLines: UInt64) {
        bytes += Int64(count)
        lines = linesBefore + fileLines
        let now = monotonicSeconds()
        guard now - drawn >= 0.2 else { return }
        drawn = now
        draw(elapsed: now - started)
    }

    func finishFile(lines fileLines: UInt64) {
        linesBefore += fileLines
        lines = linesBefore
    }

    /// Erases the line, so that a message or the output starts on a clean one.
    func clear() {
        guard visible else { return }
        printErrorRaw("\r\u{1B}[K")
        visible = false
    }

    private func draw(elapsed: Double) {
        var text = "\r\u{1B}[K" + Self.size(bytes)
        if let total, total > 0 {
            let done = min(1, Double(bytes) / Double(total))
            text += " / " + Self.size(total) + " " + Self.bar(done) + " \(Int(done * 100))%"
            if done > 0.01, elapsed > 0 {
                text += "  ETA \(Int((elapsed / done - elapsed).rounded()))s"
            }
        }
        if elapsed > 0 {
            text += "  \(Self.count(Double(lines) / elapsed)) lines/s  \(Self.size(Int64(Double(bytes) / elapsed)))/s"
        }
        printErrorRaw(text)
        visible = true
    }

    static func bar(_ done: Double) -> String {
        let width = 20
        let filled = Int((done * Double(width)).rounded(.down))
        return "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "]"
    }

    static func size(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : "\(Int(value * 10) / 10).\(Int(value * 10) % 10) \(units[unit])"
    }

    static func count(_ value: Double) -> String {
        if value >= 1e6 { return "\(Int(value / 1e5) / 10).\(Int(value / 1e5) % 10)M" }
        if value >= 1e3 { return "\(Int(value / 1e3))k" }
        return "\(Int(value))"
    }
}

private func printErrorRaw(_ text: String) {
    writeAll(STDERR_FILENO, Array(text.utf8))
}
