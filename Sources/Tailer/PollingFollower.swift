/// Follows one file by name, like `tail -F`, checking for growth, rotation and truncation each
/// time it is polled.
///
/// A single-path front end over ``Tailer`` in polling mode, for callers that poll one file on
/// their own schedule. New code following several files should use ``Tailer`` directly (one
/// thread, inotify).
///
/// - Rotation by rename (kubelet, logrotate `create`): the old file is read to its end, then the
///   new file at the same path is read from its start.
/// - Truncation (`copytruncate`): when the file gets shorter than what was read, reading restarts
///   at 0 and `truncated` is told how many bytes are known to have been missed.
/// - A file that is missing (not yet created, or deleted) is waited for; a deleted file still open
///   is drained first.
public final class PollingFollower {
    public let path: String
    private let chunkSize: Int
    private var tailer: Tailer?
    private let relay = Relay()

    /// Bytes read from the open file so far (its offset).
    public var offset: Int64 { tailer?.status.first?.offset ?? 0 }

    public init(path: String, chunkSize: Int = ChunkReader.defaultChunkSize) {
        self.path = path
        self.chunkSize = chunkSize
    }

    public enum Start {
        case head
        case tail
    }

    public struct Events {
        public var chunk: (UnsafeBufferPointer<UInt8>) -> Void
        /// A new file took the path's place; the previous one has been read to its end.
        public var rotated: () -> Void
        /// The file was truncated; the argument is how many bytes are known to have been in the
        /// file past what was read (see ``Tailer`` for why it is a lower bound).
        public var truncated: (_ possiblyMissed: Int64) -> Void
        public var error: (SystemError) -> Void

        public init(
            chunk: @escaping (UnsafeBufferPointer<UInt8>) -> Void, rotated: @escaping () -> Void = {},
            truncated: @escaping (Int64) -> Void = { _ in }, error: @escaping (SystemError) -> Void = { _ in }
        ) {
            self.chunk = chunk
            self.rotated = rotated
            self.truncated = truncated
            self.error = error
        }
    }

    /// Reads what is new, handling rotation and truncation. Call repeatedly; it returns once it
    /// has reached the end of what is there now. Returns the number of bytes read. `start`
    /// applies to the file found at the first poll only.
    @discardableResult
    public func poll(start: Start, events: Events) -> Int64 {
        let tailer = self.tailer ?? makeTailer(start: start)
        relay.events = events
        defer { relay.events = nil }
        var total: Int64 = 0
        repeat {
            total += tailer.poll()
        } while tailer.hasBacklog
        return total
    }

    private func makeTailer(start: Start) -> Tailer {
        var configuration = TailerConfiguration()
        configuration.changeDetection = .polling
        configuration.pollInterval = .zero
        configuration.rescanInterval = .zero
        configuration.startPosition = start == .head ? .head : .tail
        configuration.readBufferSize = chunkSize
        configuration.readBudgetPerTurn = Int.max / 2
        let tailer = Tailer(pathProvider: SinglePath(path: path), configuration: configuration, events: relay)
        self.tailer = tailer
        return tailer
    }

    /// The one literal path (no glob expansion, even if it contains `*`).
    private struct SinglePath: PathProvider {
        var path: String

        func discover() -> PathDiscovery {
            PathDiscovery(paths: [DiscoveredPath(path: path, isLiteral: true)], directories: [directoryName(path)])
        }
    }

    /// Passes tailer events to the closures of the poll in progress.
    private final class Relay: TailerEvents {
        var events: Events?

        func read(_ bytes: UnsafeBufferPointer<UInt8>, from input: InputID) { events?.chunk(bytes) }
        func rotated(_ input: InputID, path: String, identity: FileIdentity) { events?.rotated() }
        func truncated(_ input: InputID, possiblyMissed: UInt64) {
            events?.truncated(Int64(clamping: possiblyMissed))
        }
        func failed(_ input: InputID?, error: SystemError) { events?.error(error) }
    }
}
