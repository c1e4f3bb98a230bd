/// Why ``ScrapeServer/start()`` failed.
public enum ScrapeServerError: Error, Sendable, Hashable {
    /// `start()` was called on a server that was already started or shut down.
    case alreadyStarted
    /// The bound channel reported no local address.
    case noLocalAddress
}
