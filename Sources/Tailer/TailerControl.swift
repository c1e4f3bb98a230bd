import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Stops a ``Tailer`` running ``Tailer/run(every:_:)`` on another thread.
///
/// ``stop()`` sets a flag and writes a byte to a pipe that the run loop waits on, so a sleeping
/// tailer wakes at once instead of at its next timeout.
public final class TailerControl: Sendable {
    private let stopped = Atomic<Bool>(false)
    private let periodicRequested = Atomic<Bool>(false)
    /// Read end, waited on by the run loop; write end, written by ``stop()``. -1 if the pipe
    /// could not be created (then the run loop notices the flag at its next timeout).
    let wakeDescriptor: Int32
    private let signalDescriptor: Int32

    init() {
        var ends: [Int32] = [-1, -1]
        if pipe(&ends) == 0 {
            // Non-blocking on both ends: stop() must never block, and draining must not either.
            for fd in ends {
                let flags = fcntl(fd, F_GETFL)
                if flags >= 0 { _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK) }
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            }
        }
        wakeDescriptor = ends[0]
        signalDescriptor = ends[1]
    }

    deinit {
        if wakeDescriptor >= 0 { closeDescriptor(wakeDescriptor) }
        if signalDescriptor >= 0 { closeDescriptor(signalDescriptor) }
    }

    /// Asks the tailer to return from ``Tailer/run(every:_:)``; safe from any thread, any number of times.
    public func stop() {
        stopped.store(true, ordering: .releasing)
        // EAGAIN means the pipe is full of wake-ups already; nothing else can go wrong that a
        // retry would fix, and the flag is set regardless.
        wake()
    }

    public var isStopped: Bool { stopped.load(ordering: .acquiring) }

    /// Asks ``Tailer/run(every:_:)`` to call its periodic closure after the turn it is in (or at
    /// once, waking it, if it is waiting), due or not: how another thread gets the tailer to a
    /// point where everything read has been delivered. Safe from any thread.
    public func requestPeriodic() {
        periodicRequested.store(true, ordering: .releasing)
        wake()
    }

    /// Takes a pending ``requestPeriodic()``.
    func takePeriodicRequest() -> Bool {
        periodicRequested.exchange(false, ordering: .acquiringAndReleasing)
    }

    private func wake() {
        guard signalDescriptor >= 0 else { return }
        var byte: UInt8 = 1
        _ = write(signalDescriptor, &byte, 1)
    }

    /// Empties the pipe after a wake-up.
    func drainWakeups() {
        guard wakeDescriptor >= 0 else { return }
        var scratch: (UInt64, UInt64) = (0, 0)
        while withUnsafeMutableBytes(of: &scratch, { readRetrying(wakeDescriptor, $0.baseAddress!, $0.count) }) > 0 {}
    }
}
