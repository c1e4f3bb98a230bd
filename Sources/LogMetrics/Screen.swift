import Foundation
import Reporting

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The terminal of a full-screen view: the alternate screen, no cursor, keys read one by one
/// from `/dev/tty` (standard input may be the log itself). ``leave()`` puts everything back.
final class Screen: @unchecked Sendable {
    // @unchecked Sendable: the descriptor and the saved settings are set once; the key thread
    // only reads the descriptor.
    /// The controlling terminal, for keys; -1 when there is none (Ctrl-C still quits).
    let keyboard: Int32
    private var saved: termios?
    private var active = false

    /// Nil when standard output is not a terminal.
    init?() {
        guard isatty(STDOUT_FILENO) == 1 else { return nil }
        keyboard = open("/dev/tty", O_RDONLY | O_CLOEXEC | O_NONBLOCK)
    }

    deinit {
        leave()
        if keyboard >= 0 { close(keyboard) }
    }

    func enter() {
        guard !active else { return }
        active = true
        if keyboard >= 0 {
            var settings = termios()
            if tcgetattr(keyboard, &settings) == 0 {
                saved = settings
                // Keys arrive one at a time and are not echoed; Ctrl-C still raises SIGINT.
                settings.c_lflag &= ~tcflag_t(ICANON | ECHO)
                tcsetattr(keyboard, TCSANOW, &settings)
            }
        }
        write("\u{1B}[?1049h\u{1B}[?25l\u{1B}[H\u{1B}[2J")
    }

    /// Idempotent: called on every way out.
    func leave() {
        guard active else { return }
        active = false
        write("\u{1B}[?25h\u{1B}[?1049l")
        if var saved, keyboard >= 0 { tcsetattr(keyboard, TCSANOW, &saved) }
    }

    var size: (rows: Int, columns: Int) {
        var size = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_row > 0, size.ws_col > 0 else {
            return (24, 80)
        }
        return (Int(size.ws_row), Int(size.ws_col))
    }

    /// Redraws the whole screen in one write, line by line over the old one (no flicker).
    func draw(header: String, table: Table, seconds: Double, rows: Int?, message: String?) {
        let (height, width) = size
        // Header, blank, column titles, "… more", blank, summary, status: seven lines not rows.
        let room = max(1, height - 7)
        let text = TableWriter.text(table, top: min(rows ?? room, room), rateSeconds: max(seconds, 0.001), width: width)
        var lines = [header, ""] + text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        if table.rows.isEmpty { lines.insert("(no requests in the window yet)", at: 3) }
        let status = message ?? "q quits"
        while lines.count < height - 1 { lines.append("") }
        lines = Array(lines.prefix(height - 1)) + [status]
        var out = "\u{1B}[H"
        for (k, line) in lines.enumerated() {
            out += String(line.prefix(width)) + "\u{1B}[K"
            if k < lines.count - 1 { out += "\r\n" }
        }
        write(out)
    }

    private func write(_ text: String) {
        writeAll(STDOUT_FILENO, Array(text.utf8))
    }
}

/// Reads keys from the terminal on a thread of its own; `q` stops the command.
final class KeyReader: Sendable {
    let screen: Screen
    let stop: StopSignal

    init(screen: Screen, stop: StopSignal) {
        self.screen = screen
        self.stop = stop
    }

    func start() {
        guard screen.keyboard >= 0 else { return }
        Thread.detachNewThread { [self] in run() }
    }

    private func run() {
        var byte: UInt8 = 0
        while !stop.isStopped {
            var fds = pollfd(fd: screen.keyboard, events: Int16(POLLIN), revents: 0)
            guard poll(&fds, 1, 100) > 0 else { continue }
            let n = read(screen.keyboard, &byte, 1)
            if n == 0 { return }  // the terminal went away
            guard n == 1 else { continue }
            if byte == UInt8(ascii: "q") || byte == UInt8(ascii: "Q") || byte == 0x03 { stop.trigger() }
        }
    }
}
