#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A point on a monotonic clock, in nanoseconds from an arbitrary origin.
public struct MonotonicInstant: Comparable, Hashable, Sendable {
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) {
        self.nanoseconds = nanoseconds
    }

    public static func < (lhs: MonotonicInstant, rhs: MonotonicInstant) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    public func advanced(by duration: Duration) -> MonotonicInstant {
        MonotonicInstant(nanoseconds: nanoseconds &+ duration.nanoseconds)
    }

    public func duration(since earlier: MonotonicInstant) -> Duration {
        .nanoseconds(nanoseconds &- earlier.nanoseconds)
    }
}

/// Where the tailer gets the time for its intervals (polls, rescans, retries, rotation waits).
///
/// Injected so that tests can step time instead of sleeping.
public protocol TailerClock: Sendable {
    func now() -> MonotonicInstant
}

/// `CLOCK_MONOTONIC`: unaffected by changes to the wall clock.
public struct SystemMonotonicClock: TailerClock {
    public init() {}

    public func now() -> MonotonicInstant {
        var time = timespec()
        // clock_gettime(CLOCK_MONOTONIC) cannot fail for a valid pointer and a supported clock.
        _ = clock_gettime(CLOCK_MONOTONIC, &time)
        return MonotonicInstant(nanoseconds: Int64(time.tv_sec) &* 1_000_000_000 &+ Int64(time.tv_nsec))
    }
}

extension Duration {
    /// Whole nanoseconds, saturating rather than trapping for absurdly long durations.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return scaled &+ attoseconds / 1_000_000_000  // cannot overflow: attoseconds / 1e9 < 1e9
    }
}
