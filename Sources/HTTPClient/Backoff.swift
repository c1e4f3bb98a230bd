/// Waits between failed requests: exponential from an initial delay up to a maximum, each wait
/// drawn at random from its upper half, so that the watchers of many nodes that lost the API
/// server together do not come back in step.
public struct Backoff: Sendable {
    public let initial: Duration
    public let maximum: Duration
    public private(set) var failures = 0

    public init(initial: Duration, maximum: Duration) {
        self.initial = initial
        self.maximum = max(initial, maximum)
    }

    /// The wait before the next attempt, counting one more failure.
    public mutating func next(using generator: inout some RandomNumberGenerator) -> Duration {
        var delay = initial
        for _ in 0..<failures where delay < maximum {
            delay *= 2
        }
        delay = min(delay, maximum)
        // Bounded so that the loop above stays short however long the outage.
        failures = min(failures + 1, 64)
        return delay * Double.random(in: 0.5...1.0, using: &generator)
    }

    public mutating func next() -> Duration {
        var generator = SystemRandomNumberGenerator()
        return next(using: &generator)
    }

    /// After a success: the next failure waits the initial delay again.
    public mutating func reset() {
        failures = 0
    }
}
