import Foundation
import Reporting
import Synchronization

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
    /// enter(), leave() and draw() come from the main task and from signal handlers (Ctrl-Z).
    private let lock = NSLock()

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
        lock.lock()
        defer { lock.unlock() }
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
        lock.lock()
        defer { lock.unlock() }
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
        var lines =
            [TableWriter.displayable(header), ""]
            + text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        if table.rows.isEmpty { lines.insert("(no requests in the window yet)", at: 3) }
        let status = TableWriter.displayable(message ?? "q quits")
        while lines.count < height - 1 { lines.append("") }
        lines = Array(lines.prefix(height - 1)) + [status]
        var out = "\u{1B}[H"
        for (k, line) in lines.enumerated() {
            out += String(line.prefix(width)) + "\u{1B}[K"
            if k < lines.count - 1 { out += "\r\n" }
        }
        lock.lock()
        defer { lock.unlock() }
        // Not over the shell's screen after a Ctrl-Z.
        guard active else { return }
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
            // The terminal hung up or failed: no more keys (Ctrl-C and signals still stop us).
            if fds.revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0 { return }
            let n = read(screen.keyboard, &byte, 1)
            if n == 0 { return }
            if n < 0 {
                // EIO comes when the process is in the background; anything but a retry ends it.
                if errno == EAGAIN || errno == EINTR { continue }
                return
            }
            if byte == UInt8(ascii: "q") || byte == UInt8(ascii: "Q") || byte == 0x03 { stop.trigger() }
        }
    }
}

/// Ctrl-Z while the screen is in use: give the terminal back, then stop as the shell expects;
/// on `fg` (SIGCONT) take the screen again and redraw.
final class Suspension: @unchecked Sendable {
    // @unchecked Sendable: `stopWatcher` is replaced by suspend() and resume() only, which run
    // one after the other (the process is stopped between them).
    let screen: Screen
    private let suspended = Mutex(false)
    private var stopWatcher: SignalWatcher?
    private var continueWatcher: SignalWatcher?

    init(screen: Screen) {
        self.screen = screen
        continueWatcher = SignalWatcher(signals: [SIGCONT]) { [weak self] in self?.resume() }
        stopWatcher = SignalWatcher(signals: [SIGTSTP]) { [weak self] in self?.suspend() }
    }

    var isSuspended: Bool { suspended.withLock { $0 } }

    private func suspend() {
        suspended.withLock { $0 = true }
        screen.leave()
        stopWatcher?.cancel()
        stopWatcher = nil
        // The default action, now that the terminal is as the shell left it.
        signal(SIGTSTP, SIG_DFL)
        kill(getpid(), SIGTSTP)
    }

    private func resume() {
        guard isSuspended else { return }
        screen.enter()
        stopWatcher = SignalWatcher(signals: [SIGTSTP]) { [weak self] in self?.suspend() }
        suspended.withLock { $0 = false }
    }

    func cancel() {
        continueWatcher?.cancel()
        stopWatcher?.cancel()
    }
}
