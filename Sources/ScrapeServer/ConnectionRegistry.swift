import NIOCore
import Synchronization

/// The open connections: enforces the connection limit and lets shutdown reach every one.
///
/// At the limit, a new connection takes the place of the oldest one that is waiting on its
/// client (idle between requests, or still sending one) rather than being refused: otherwise a
/// few hundred idle or trickling connections, from a leak or on purpose, would shut every
/// scraper out until they time out. Only when every connection is busy writing a response is
/// the new one refused.
final class ConnectionRegistry: Sendable {
    private struct Entry {
        var channel: any Channel
        var order: UInt64
        var busy = false
    }

    private struct State {
        var channels: [ObjectIdentifier: Entry] = [:]
        var next: UInt64 = 0
        var accepting = true
    }

    enum Admission {
        case admitted
        /// Admitted in place of this connection, which the caller closes.
        case admittedEvicting(any Channel)
        case refused
    }

    private let state = Mutex(State())
    private let limit: Int

    init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// Registers `channel` if there is room (made by evicting the oldest connection that is not
    /// busy, when needed) and the server is not shutting down; the channel leaves the registry
    /// when it closes.
    func admit(_ channel: any Channel) -> Admission {
        let admission = state.withLock { state -> Admission in
            guard state.accepting else { return .refused }
            var evicted: (any Channel)?
            if state.channels.count >= limit {
                guard
                    let victim = state.channels.filter({ !$0.value.busy }).min(by: { $0.value.order < $1.value.order })
                else { return .refused }
                evicted = victim.value.channel
                state.channels.removeValue(forKey: victim.key)
            }
            state.channels[ObjectIdentifier(channel)] = Entry(channel: channel, order: state.next)
            state.next += 1
            return evicted.map { .admittedEvicting($0) } ?? .admitted
        }
        if case .refused = admission { return admission }
        channel.closeFuture.whenComplete { _ in
            self.state.withLock { _ = $0.channels.removeValue(forKey: ObjectIdentifier(channel)) }
        }
        return admission
    }

    /// A connection is busy from a complete request to the end of its response.
    func setBusy(_ channel: any Channel, _ busy: Bool) {
        state.withLock { state in
            state.channels[ObjectIdentifier(channel)]?.busy = busy
        }
    }

    var count: Int { state.withLock { $0.channels.count } }

    /// Refuses further connections and returns the open ones.
    func close() -> [any Channel] {
        state.withLock { state in
            state.accepting = false
            return state.channels.values.map(\.channel)
        }
    }
}

/// A connection was refused because ``ScrapeServer/Configuration/maxConnections`` were open.
struct ConnectionLimitReached: Error {}
