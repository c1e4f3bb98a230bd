import CSignalRelay
import Foundation
import Synchronization

/// Calls `handler` when one of `signals` arrives, instead of the default action. The signal is
/// caught for every thread by the time the initializer returns, so one sent after that (a
/// SIGHUP right after the readiness line, say) always reaches the handler. Handlers run one at
/// a time, in the order their signals came, on a thread of their own.
final class SignalWatcher: Sendable {
    private let identifier: UInt64

    init(signals: [Int32], handler: @escaping @Sendable () -> Void) {
        identifier = SignalRelay.shared.add(signals: signals, handler: handler)
    }

    /// The handler is called no more. The signals stay caught (and without a watcher, dropped):
    /// a second SIGTERM during shutdown must not kill the process halfway.
    func cancel() { SignalRelay.shared.remove(identifier) }
}

/// Reads the signal numbers the C handler writes to its pipe and calls the watchers of each.
final class SignalRelay: Sendable {
    static let shared = SignalRelay()

    private struct Watcher {
        let signals: [Int32]
        let handler: @Sendable () -> Void
    }

    /// In the order they were added, which is the order they are called in.
    private let watchers = Mutex<(next: UInt64, list: [(identifier: UInt64, watcher: Watcher)])>((0, []))
    private let descriptor: Int32

    private init() {
        descriptor = lm_signal_relay_descriptor()
        if descriptor < 0 {
            log(
                "logmetrics: signals cannot be caught (\(String(cString: strerror(errno)))); they keep their default action"
            )
            return
        }
        let thread = Thread { [self] in run() }
        thread.name = "logmetrics-signals"
        thread.start()
    }

    func add(signals: [Int32], handler: @escaping @Sendable () -> Void) -> UInt64 {
        let identifier = watchers.withLock { state in
            state.next += 1
            state.list.append((state.next, Watcher(signals: signals, handler: handler)))
            return state.next
        }
        // The watcher is in place before the signal is caught, so none arrives to nobody.
        guard descriptor >= 0 else { return identifier }
        for number in signals {
            let error = lm_signal_relay_catch(number)
            if error != 0 {
                log("logmetrics: signal \(number) cannot be caught (\(String(cString: strerror(error))))")
            }
        }
        return identifier
    }

    func remove(_ identifier: UInt64) {
        watchers.withLock { $0.list.removeAll { $0.identifier == identifier } }
    }

    private func run() {
        var bytes = [UInt8](repeating: 0, count: 64)
        while true {
            let count = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { return }
            for byte in bytes[0..<count] {
                let number = Int32(byte)
                // Called outside the lock: a handler may add or remove watchers.
                let handlers = watchers.withLock { state in
                    state.list.compactMap { $0.watcher.signals.contains(number) ? $0.watcher.handler : nil }
                }
                for handler in handlers { handler() }
            }
        }
    }
}
