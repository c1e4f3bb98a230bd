#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

// The blocking loop around poll().
extension Tailer {
    /// Follows until ``TailerControl/stop()``: turns as long as there is data, then sleeps until
    /// a change is notified (inotify) or the next check, rescan or retry is due. After a
    /// notification it waits out ``TailerConfiguration/minimumTurnInterval`` since the previous
    /// turn, so a file written line by line costs a few reads per second, not one per line.
    ///
    /// - Parameters:
    ///   - interval: how often to call `periodic`, if at all.
    ///   - periodic: called on this thread between turns, at most every `interval` (and after
    ///     the turn in progress when ``TailerControl/requestPeriodic()`` asks), and once more
    ///     when stopping. Between turns every byte read has been delivered, so this is
    ///     where a caller takes ``savedPositions()`` consistently with what it has counted.
    public func run(every interval: Duration? = nil, _ periodic: () -> Void = {}) {
        var nextPeriodic = interval.map { clock.now().advanced(by: $0) }
        while !control.isStopped && !isClosed {
            let turnStarted = clock.now()
            poll()
            if control.takePeriodicRequest() {
                periodic()
            } else if let due = nextPeriodic, let interval, clock.now() >= due {
                periodic()
                nextPeriodic = clock.now().advanced(by: interval)
            }
            if hasBacklog { continue }
            var deadline = nextDeadline()
            if let due = nextPeriodic { deadline = min(deadline, due) }
            if waitForChange(until: deadline) {
                _ = waitForStop(until: turnStarted.advanced(by: configuration.minimumTurnInterval))
            }
        }
        if interval != nil { periodic() }
    }

    /// The earliest time something is due without any notification.
    func nextDeadline() -> MonotonicInstant {
        var deadline = nextRescan
        if statisticsDirty { deadline = min(deadline, nextStatistics) }
        for input in inputs where !input.isReleased {
            deadline = min(deadline, input.nextCheck)
            if input.isDraining, let idle = input.generations.first?.idleSince {
                deadline = min(deadline, idle.advanced(by: configuration.rotateWait))
            }
        }
        return deadline
    }

    /// Sleeps until `deadline`, a change notification or a stop. Returns whether a notification
    /// (not the deadline or a stop) ended the wait.
    private func waitForChange(until deadline: MonotonicInstant) -> Bool {
        #if os(Linux)
            let notifications = inotify?.descriptor ?? -1
        #else
            let notifications: Int32 = -1
        #endif
        return wait(notifications: notifications, until: deadline)
    }

    /// Sleeps until `deadline` or a stop.
    private func waitForStop(until deadline: MonotonicInstant) -> Bool {
        wait(notifications: -1, until: deadline)
    }

    private func wait(notifications: Int32, until deadline: MonotonicInstant) -> Bool {
        var descriptors = [
            pollfd(fd: control.wakeDescriptor, events: Int16(POLLIN), revents: 0),
            pollfd(fd: notifications, events: Int16(POLLIN), revents: 0),
        ]
        while !control.isStopped {
            let remaining = deadline.nanoseconds - clock.now().nanoseconds
            if remaining <= 0 { return false }
            // Round up so that the deadline has passed when poll returns on its timeout.
            let milliseconds = Int32(clamping: (remaining + 999_999) / 1_000_000)
            // A negative descriptor is ignored by poll(2), which is how "no inotify" works.
            let ready = pollDescriptors(&descriptors, timeoutMilliseconds: milliseconds)
            if ready < 0 {
                if errno == EINTR { continue }
                reportGlobal(SystemError("poll", path: "(tailer wake-up)", errno: errno))
                usleep(UInt32(min(milliseconds, 1000)) * 1000)  // do not spin on a persistent failure
                return false
            }
            if ready == 0 { return false }
            if descriptors[0].revents != 0 {
                control.drainWakeups()
                return false
            }
            if descriptors[1].revents != 0 { return true }
        }
        return false
    }
}
