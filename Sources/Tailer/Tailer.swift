/// Follows many files from one thread, like `tail -F`, handing their bytes to ``TailerEvents``.
///
/// Paths come from a ``PathProvider`` (literal paths and globs, expanded again on an interval and
/// when a watched directory changes). Each path is an *input* with a stable ``InputID``; the
/// files that hold its name over time are read one after another, in order.
///
/// ## Changes
/// With inotify (Linux) the directories are watched, not the files; without it, or when its
/// limits are reached, every file is checked on an interval that backs off while it is idle.
/// Either way each input is checked on every rescan interval as a safety net.
///
/// ## Rotation by rename (kubelet, logrotate `create`)
/// When the path names a new file, the old one (still open) is read to its end first, including
/// what the writer adds before it reopens. It is let go once the new file has data (the writer
/// has switched: everything it wrote to the old file is there by then) or once it has been idle
/// for ``TailerConfiguration/rotateWait``. Then ``TailerEvents/endOfFile(_:)`` and
/// ``TailerEvents/rotated(_:path:identity:)``, and the new file is read from 0. If the name was
/// rotated more than once between two checks, the files in between are found next to it (names
/// extending the path's name, uncompressed, modified no earlier than the old file) and read in
/// order of modification time.
///
/// ## Truncation (copytruncate)
/// A file smaller than the read position, or whose first bytes no longer match its fingerprint
/// (truncated and already written past the read position), was truncated. If the copy that
/// copytruncate made is next to it (a sibling starting with the same bytes), what the copy holds
/// past the read position is read from it first, so nothing the copy kept is lost. Then
/// ``TailerEvents/truncated(_:possiblyMissed:)`` and reading restarts at 0.
///
/// `possiblyMissed` counts the bytes *known* to be lost: seen in the file (its largest size)
/// past both the read position and the end of the copy. It is a lower bound, and the gap has a
/// cause outside any reader: bytes written after the last size check and before the truncation
/// are recorded nowhere. With logrotate they are the bytes written between its copy and its
/// truncate, which it loses itself (they are in neither file); without a copy (a plain
/// `truncate`), everything past the read position at the truncation, of which only what a check
/// saw is counted. Not detected at all: a file truncated and rewritten past the read position
/// before the next check whose new first bytes equal the old ones, which needs an unfinished first
/// line shorter than 1 KiB (the fingerprint is then only as long as that line).
///
/// ## Deletion
/// A deleted file is read to its end, then closed (``TailerEvents/endOfFile(_:)``); an input
/// from a pattern is then released (``TailerEvents/closed(_:)``), a literal one waits for the
/// path to come back and reads the new file from its head.
///
/// ## Bad input
/// A path that is a directory, a device or a symlink loop, or a file that cannot be opened, is
/// reported once and retried with backoff (at once, with inotify, when its permissions change).
/// A FIFO is read as a stream. NUL runs at line starts (sparse files, the zeros a non-appending
/// writer leaves after a truncation) are skipped and counted, holes with one `SEEK_DATA`.
///
/// ## Memory
/// One read buffer of ``TailerConfiguration/readBufferSize`` per tailer; per input a few hundred
/// bytes of bookkeeping and one descriptor per open file.
///
/// ## Threads
/// A tailer belongs to one thread: create it, then call ``poll()`` or ``run(every:_:)`` and
/// everything else on that thread; events are called there too. From other threads use only ``control``
/// (to stop ``run(every:_:)``) and ``statistics``.
public final class Tailer {
    public let configuration: TailerConfiguration
    /// Stops ``run(every:_:)`` from another thread.
    public let control = TailerControl()
    /// Self metrics for other threads.
    public let statistics = TailerStatistics()

    let pathProvider: any PathProvider
    let events: any TailerEvents
    let clock: any TailerClock
    /// The one read buffer.
    let buffer: UnsafeMutableRawBufferPointer

    var inputs: [FollowedInput] = []
    var inputsByPath: [String: FollowedInput] = [:]
    var inputsByCanonicalPath: [String: FollowedInput] = [:]
    var inputsByDirectory: [String: [FollowedInput]] = [:]
    /// Discovered paths that name a file another input already follows (a symlink to it).
    var aliases: [String: String] = [:]
    /// Which input has each open file.
    var owners: [FileKey: InputID] = [:]
    var canonicalDirectories: [String: String] = [:]
    #if os(Linux)
        var inotify: InotifyWatcher?
    #endif
    var rescanRequested = true
    var fullCheckRequested = false
    var nextRescan: MonotonicInstant
    var nextStatistics: MonotonicInstant
    var statisticsDirty = true
    var firstScanDone = false
    var resumePositions: [String: SavedPosition]?
    var reportedErrors: Set<SystemError> = []
    var nextInputNumber: UInt64 = 1
    var readCursor = 0
    /// Counters of released inputs (live inputs are summed at publication).
    var releasedCounters = InputCounters()
    var errorCount: UInt64 = 0
    var isClosed = false

    /// - Parameters:
    ///   - pathProvider: what to follow; see ``GlobPathProvider``.
    ///   - events: receives bytes and events; held strongly until ``close()``.
    ///   - clock: time for intervals; tests pass a manual clock and call ``poll()``.
    public init(
        pathProvider: some PathProvider, configuration: TailerConfiguration = TailerConfiguration(),
        events: some TailerEvents, clock: some TailerClock = SystemMonotonicClock()
    ) {
        self.pathProvider = pathProvider
        self.configuration = configuration
        self.events = events
        self.clock = clock
        self.buffer = .allocate(byteCount: max(4096, configuration.readBufferSize), alignment: 16)
        let now = clock.now()
        nextRescan = now
        nextStatistics = now
        #if os(Linux)
            if configuration.changeDetection == .automatic {
                do {
                    inotify = try InotifyWatcher()
                } catch {
                    reportGlobal(
                        SystemError(
                            error.operation, path: error.path, errno: error.errno,
                            reason: "\(error.description); checking files by polling instead"))
                }
            }
        #endif
    }

    /// Follows literal paths and `glob(3)` patterns (see ``GlobPathProvider``).
    public convenience init(
        patterns: [String], configuration: TailerConfiguration = TailerConfiguration(), events: some TailerEvents,
        clock: some TailerClock = SystemMonotonicClock()
    ) {
        self.init(
            pathProvider: GlobPathProvider(patterns: patterns), configuration: configuration, events: events,
            clock: clock)
    }

    deinit {
        close()
        buffer.deallocate()
    }

    /// Whether changes are noticed through inotify (false: polling).
    public var usesInotify: Bool {
        #if os(Linux)
            inotify != nil
        #else
            false
        #endif
    }

    /// One turn: handle pending change notifications, rescan if due, check the inputs that need
    /// it, and read each input with new data up to its budget. Returns the bytes consumed
    /// (delivered or skipped). Never blocks.
    @discardableResult
    public func poll() -> Int64 {
        guard !isClosed else { return 0 }
        let now = clock.now()
        processNotifications()
        if rescanRequested || now >= nextRescan { rescan(now: now) }
        let checkEverything = fullCheckRequested
        fullCheckRequested = false
        for input in inputs where !input.isReleased {
            if checkEverything || input.needsCheck || now >= input.nextCheck { check(input, now: now) }
        }
        var consumed: Int64 = 0
        let order = inputs
        if !order.isEmpty {
            // Start one further each turn, so no input is always first to spend its budget.
            readCursor = (readCursor + 1) % order.count
            for step in 0..<order.count {
                let input = order[(readCursor + step) % order.count]
                if !input.isReleased && input.wantsRead { consumed += read(input, now: now) }
            }
        }
        releaseRequested()
        if consumed > 0 { statisticsDirty = true }
        if statisticsDirty && now >= nextStatistics { publishStatistics(now: now) }
        return consumed
    }

    /// Whether some input stopped at its read budget and has more to read right away.
    public var hasBacklog: Bool { inputs.contains { $0.hasBacklog && !$0.isReleased } }

    /// Closes every file and the inotify descriptor. No events are sent: an unfinished last
    /// line stays unfinished (its saved position is before it, so it is read again on resume).
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        publishStatistics(now: clock.now())
        for input in inputs {
            input.generations.removeAll()
            input.isReleased = true
        }
        inputs.removeAll()
        owners.removeAll()
        #if os(Linux)
            inotify = nil
        #endif
    }

    /// Every input now, on the tailer's thread.
    public var status: [InputStatus] {
        inputs.filter { !$0.isReleased }.map(Self.status(of:))
    }

    /// The status of one input, or nil if it is unknown or released.
    public func status(of input: InputID) -> InputStatus? {
        inputs.first { $0.id == input && !$0.isReleased }.map(Self.status(of:))
    }

    static func status(of input: FollowedInput) -> InputStatus {
        let current = input.generations.first
        let queued = input.generations.dropFirst().reduce(Int64(0)) { $0 + $1.largestSize }
        return InputStatus(
            id: input.id, path: input.path, labels: input.labels, identity: current?.identity ?? input.lastIdentity,
            isOpen: current != nil, offset: current?.offset ?? 0, size: current?.largestSize ?? 0,
            lagBytes: (current?.lag ?? 0) + queued, bytesRead: input.counters.bytesRead,
            linesRead: input.counters.linesRead, skippedBytes: input.counters.skippedBytes,
            rotations: input.counters.rotations, truncations: input.counters.truncations,
            possiblyMissedBytes: input.counters.possiblyMissedBytes)
    }

    /// Totals now, on the tailer's thread.
    public var totals: TailerTotals {
        var totals = TailerTotals()
        var sum = releasedCounters
        for input in inputs where !input.isReleased {
            totals.inputs += 1
            if !input.generations.isEmpty { totals.filesFollowed += 1 }
            sum.add(input.counters)
            let current = input.generations.first
            totals.lagBytes +=
                (current?.lag ?? 0) + input.generations.dropFirst().reduce(Int64(0)) { $0 + $1.largestSize }
        }
        totals.bytesRead = sum.bytesRead
        totals.linesRead = sum.linesRead
        totals.skippedBytes = sum.skippedBytes
        totals.rotations = sum.rotations
        totals.truncations = sum.truncations
        totals.possiblyMissedBytes = sum.possiblyMissedBytes
        totals.errors = errorCount
        totals.usesInotify = usesInotify
        return totals
    }

    func publishStatistics(now: MonotonicInstant) {
        var snapshot = TailerSnapshot()
        snapshot.totals = totals
        snapshot.inputs = status
        statistics.publish(snapshot)
        statisticsDirty = false
        nextStatistics = now.advanced(by: configuration.statisticsInterval)
    }

    // MARK: Errors

    /// Reports `error` for `input` unless it is the error already reported for it.
    func report(_ error: SystemError, for input: FollowedInput) {
        guard input.lastError != error else { return }
        input.lastError = error
        errorCount &+= 1
        statisticsDirty = true
        events.failed(input.id, error: error)
    }

    /// Reports an error not tied to an input, once.
    func reportGlobal(_ error: SystemError) {
        guard reportedErrors.insert(error).inserted else { return }
        errorCount &+= 1
        events.failed(nil, error: error)
    }
}

/// A tailer is confined to one thread (see ``Tailer``); share its ``Tailer/control`` and
/// ``Tailer/statistics`` instead.
@available(*, unavailable)
extension Tailer: Sendable {}

extension InputCounters {
    mutating func add(_ other: InputCounters) {
        bytesRead &+= other.bytesRead
        linesRead &+= other.linesRead
        skippedBytes &+= other.skippedBytes
        rotations &+= other.rotations
        truncations &+= other.truncations
        possiblyMissedBytes &+= other.possiblyMissedBytes
    }
}
