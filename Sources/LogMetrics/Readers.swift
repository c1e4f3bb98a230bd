import AccessLogParser
import Aggregation
import Foundation
import Synchronization
import Tailer

/// One input read on its own thread into its own shard.
class Reader: @unchecked Sendable {
    // @unchecked Sendable: everything mutable is used by the reader's thread only; other threads
    // only start and join it.
    let current: Current
    /// The shard of the current pipeline this reader counts into.
    let shardIndex: Int
    let stop: StopSignal
    private let finished = Mutex(false)
    private var thread: Thread?

    init(current: Current, shardIndex: Int, stop: StopSignal) {
        self.current = current
        self.shardIndex = shardIndex
        self.stop = stop
    }

    func start() {
        let thread = Thread { [self] in
            run()
            finished.withLock { $0 = true }
        }
        thread.stackSize = 1 << 20
        self.thread = thread
        thread.start()
    }

    /// Waits for the thread to finish what it is reading (it checks the stop signal often).
    func join() {
        while !finished.withLock({ $0 }) { usleep(10_000) }
    }

    func run() {}
}

final class StandardInputReader: Reader, @unchecked Sendable {
    let exitOnEOF: Bool

    init(current: Current, shardIndex: Int, stop: StopSignal, exitOnEOF: Bool) {
        self.exitOnEOF = exitOnEOF
        super.init(current: current, shardIndex: shardIndex, stop: stop)
    }

    override func run() {
        let ingest = Ingest(current: current, shardIndex: shardIndex)
        let reader = ChunkReader()
        var ended = false
        do {
            // Waits in poll, not in read, so that a stop (SIGTERM) is seen while the writer
            // (`kubectl logs -f`) keeps the pipe open and silent.
            while !stop.isStopped {
                var fds = pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)
                let ready = poll(&fds, 1, 100)
                if ready < 0, errno == EINTR { continue }
                guard ready != 0 else { continue }
                if try reader.readOnce(STDIN_FILENO, path: "standard input", { ingest.feed($0) }) == 0 {
                    ended = true
                    break
                }
            }
        } catch {
            ended = true
            log("logmetrics: \(error)")
        }
        ingest.finish()
        guard ended else { return }
        if exitOnEOF {
            stop.trigger()
        } else {
            log("logmetrics: standard input ended; still serving the metrics it gave")
        }
    }
}
