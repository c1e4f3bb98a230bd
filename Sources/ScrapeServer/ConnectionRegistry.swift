import NIOCore
import Synchronization

/// The open connections: enforces the connection limit and lets shutdown reach every one.
final class ConnectionRegistry: Sendable {
    private struct State {
        var channels: [ObjectIdentifier: any Channel] = [:]
        var accepting = true
    }

    private let state = Mutex(State())
    private let limit: Int

    init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// Registers `channel` if there is room and the server is not shutting down; the channel
    /// leaves the registry when it closes.
    func admit(_ channel: any Channel) -> Bool {
        let admitted = state.withLock { state in
            guard state.accepting, state.channels.count < limit else { return false }
            state.channels[ObjectIdentifier(channel)] = channel
            return true
        }
        if admitted {
            channel.closeFuture.whenComplete { _ in
                self.state.withLock { _ = $0.channels.removeValue(forKey: ObjectIdentifier(channel)) }
            }
        }
        return admitted
    }

    var count: Int { state.withLock { $0.channels.count } }

    /// Refuses further connections and returns the open ones.
    func close() -> [any Channel] {
        state.withLock { state in
            state.accepting = false
            return Array(state.channels.values)
        }
    }
}

/// A connection was refused because ``ScrapeServer/Configuration/maxConnections`` were open.
struct ConnectionLimitReached: Error {}
