import Foundation
import Synchronization
import Testing

@testable import LogMetrics

/// SIGUSR1 and SIGUSR2 belong to these tests: nothing else in the test process sends them.
@Suite(.serialized) struct SignalWatcherTests {
    /// A signal sent the moment the watcher exists is handled; with a handler registered later
    /// on another thread the first ones met SIG_IGN and were dropped.
    @Test func aSignalRightAfterTheWatcherIsMadeIsHandled() {
        for _ in 0..<50 {
            let arrived = DispatchSemaphore(value: 0)
            let watcher = SignalWatcher(signals: [SIGUSR1]) { arrived.signal() }
            kill(getpid(), SIGUSR1)
            #expect(arrived.wait(timeout: .now() + 5) == .success)
            watcher.cancel()
        }
    }

    /// Each signal is one call, in order, even when they come faster than the handler runs.
    @Test func everySignalIsOneCallInOrder() {
        let seen = Mutex<[Int32]>([])
        let done = DispatchSemaphore(value: 0)
        let watcher = SignalWatcher(signals: [SIGUSR1, SIGUSR2]) {}
        defer { watcher.cancel() }
        let first = SignalWatcher(signals: [SIGUSR1]) {
            usleep(20_000)
            seen.withLock { $0.append(SIGUSR1) }
        }
        let second = SignalWatcher(signals: [SIGUSR2]) {
            seen.withLock { $0.append(SIGUSR2) }
            done.signal()
        }
        defer {
            first.cancel()
            second.cancel()
        }
        // Waited for one by one: the kernel keeps one pending signal of a kind, not a count.
        for number in [SIGUSR1, SIGUSR1, SIGUSR2] {
            let before = seen.withLock { $0.count }
            kill(getpid(), number)
            let deadline = Date().addingTimeInterval(5)
            while seen.withLock({ $0.count }) == before && Date() < deadline { usleep(1_000) }
        }
        #expect(done.wait(timeout: .now() + 5) == .success)
        #expect(seen.withLock { $0 } == [SIGUSR1, SIGUSR1, SIGUSR2])
    }

    /// After cancel the handler is not called, and the signal stays caught rather than taking
    /// its default action (which for SIGUSR2 would end the test process).
    @Test func aCancelledWatcherIsNotCalledAndTheSignalStaysCaught() {
        let calls = Mutex(0)
        let other = DispatchSemaphore(value: 0)
        let cancelled = SignalWatcher(signals: [SIGUSR2]) { calls.withLock { $0 += 1 } }
        cancelled.cancel()
        // A second watcher tells when the relay has passed the signal on.
        let witness = SignalWatcher(signals: [SIGUSR2]) { other.signal() }
        defer { witness.cancel() }
        kill(getpid(), SIGUSR2)
        #expect(other.wait(timeout: .now() + 5) == .success)
        #expect(calls.withLock { $0 } == 0)
    }
}
