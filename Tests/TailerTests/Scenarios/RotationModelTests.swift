import Testing

@testable import Tailer

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A deterministic generator (SplitMix64), so a failing seed replays exactly.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

/// Replays random sequences of writes, partial lines, renames (with late writes), copytruncates,
/// deletions, clock steps and polls against one followed path, and checks the bytes delivered
/// against a small model of what a follower can possibly see.
///
/// The model: every byte written reaches the caller once, in write order, except bytes that no
/// follower could have read: what a truncation cut beyond the last poll, and a file deleted
/// before any poll saw it. The tailer's `possiblyMissed` may not exceed those bytes.
@Suite struct RotationModelTests {
    /// One content of one file: a file gets a new incarnation when it is truncated.
    final class Incarnation {
        var size = 0
        /// Bytes from here on were cut before the tailer could read them.
        var lostFrom: Int?
        /// Size when the tailer last polled with this incarnation at the path.
        var readUpTo = 0
        var seenByTailer = false
        /// Offset of the first newline, once written.
        var firstNewline: Int?

        /// Whether the tailer's fingerprint of this content is final (a whole first line, or
        /// 256 bytes, has been read). Until then a truncation rewritten past the read position
        /// with the same first bytes cannot be told from growth; the model avoids that case,
        /// which is a documented limit.
        var fingerprintIsFinal: Bool {
            readUpTo == 0 || readUpTo >= Fingerprint.maximumLength || (firstNewline.map { $0 < readUpTo } ?? false)
        }
    }

    struct Write {
        var incarnation: Incarnation
        var offset: Int
        var bytes: [UInt8]
    }

    final class Model {
        let path: String
        var rng: SplitMix64
        var writerFD: Int32 = -1
        var incarnation = Incarnation()
        var writerAtPath = false
        var lateWritesAllowed = false
        var writes: [Write] = []
        var sequence = 0
        var rotations = 0
        var unfinishedLine: [UInt8] = []
        /// Whether the tailer has seen a file at the path yet. Before that, a file renamed away
        /// is not a generation of the input (the input had not started), so it is not read.
        var announced = false
        var renamedBeforeAnnouncement: [Incarnation] = []

        init(path: String, seed: UInt64) {
            self.path = path
            self.rng = SplitMix64(state: seed)
        }

        deinit {
            if writerFD >= 0 { close(writerFD) }
        }

        /// File modification times are set by the model, a millisecond apart, instead of left
        /// to the kernel's clock: its granularity (a few milliseconds) would make files written
        /// microseconds apart look simultaneous, which real rotations never are.
        var fileTime: Int = 1_700_000_000_000

        func stamp(_ fd: Int32) {
            fileTime += 1
            var times = [
                timespec(tv_sec: fileTime / 1000, tv_nsec: (fileTime % 1000) * 1_000_000),
                timespec(tv_sec: fileTime / 1000, tv_nsec: (fileTime % 1000) * 1_000_000),
            ]
            precondition(futimens(fd, &times) == 0)
        }

        func reopen() {
            if writerFD >= 0 { close(writerFD) }
            writerFD = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            precondition(writerFD >= 0)
            stamp(writerFD)
            incarnation = Incarnation()
            writerAtPath = true
            lateWritesAllowed = false
        }

        func write(_ bytes: [UInt8]) {
            if writerFD < 0 || (!writerAtPath && !(lateWritesAllowed && Bool.random(using: &rng))) { reopen() }
            bytes.withUnsafeBytes { precondition(Glibc.write(writerFD, $0.baseAddress, $0.count) == $0.count) }
            stamp(writerFD)
            if incarnation.firstNewline == nil, let newline = bytes.firstIndex(of: 0x0A) {
                incarnation.firstNewline = incarnation.size + newline
            }
            writes.append(Write(incarnation: incarnation, offset: incarnation.size, bytes: bytes))
            incarnation.size += bytes.count
        }

        /// A line unique in its first bytes, so that a truncated and rewritten file never
        /// starts like its previous content.
        func line() -> [UInt8] {
            sequence += 1
            let body = "\(sequence) " + String(repeating: "x", count: Int.random(in: 0...300, using: &rng))
            return Array(body.utf8) + [0x0A]
        }

        /// What the caller should have received.
        var expected: [UInt8] {
            var out: [UInt8] = []
            for write in writes {
                let keep = min(write.bytes.count, max(0, (write.incarnation.lostFrom ?? .max) - write.offset))
                out += write.bytes[0..<keep]
            }
            return out
        }

        var lostBytes: Int {
            writes.reduce(0) { $0 + $1.bytes.count } - expected.count
        }
    }

    func replay(seed: UInt64, steps: Int, inotify: Bool) throws {
        let dir = TemporaryDirectory()
        let clock = ManualClock()
        let recorder = Recorder()
        var configuration = steppedConfiguration()
        if inotify {
            configuration.changeDetection = .automatic
            configuration.pollInterval = .seconds(3600)
            configuration.maximumIdlePollInterval = .seconds(3600)
            configuration.rescanInterval = .seconds(3600)
        }
        configuration.readBudgetPerTurn = 64 * 1024
        configuration.readBufferSize = 8192
        let model = Model(path: dir.file("access.log"), seed: seed)
        let tailer = Tailer(patterns: [model.path], configuration: configuration, events: recorder, clock: clock)
        if inotify { try #require(tailer.usesInotify) }
        var log: [String] = []
        var firstBadStep: Int?
        func poll() {
            pollUntilQuiet(tailer)
            if model.writerAtPath {
                model.incarnation.readUpTo = model.incarnation.size
                model.incarnation.seenByTailer = true
                if !model.announced {
                    model.announced = true
                    for incarnation in model.renamedBeforeAnnouncement { incarnation.lostFrom = 0 }
                }
            }
            // At every moment, what was delivered is a prefix of what should be.
            let delivered = recorder.bytes.values.first ?? []
            let expected = model.expected
            if getenv("MODEL_DEBUG").map({ String(cString: $0) }) == "\(seed)" {
                print(
                    "DEBUG step \(log.count) \(log.last ?? "") delivered \(delivered.count) expected \(expected.count) events \(recorder.events.suffix(4))"
                )
            }
            if firstBadStep == nil && !isPrefix(delivered, of: expected) {
                firstBadStep = log.count
            }
        }
        let debug = getenv("MODEL_DEBUG").map { String(cString: $0) } == "\(seed)"
        for _ in 0..<steps {
            if debug {
                print(
                    "DEBUG op \(log.count) \(log.last ?? "") atPath \(model.writerAtPath) size \(model.incarnation.size) readUpTo \(model.incarnation.readUpTo) gens \(tailer.inputs.first?.generations.map { "\(baseName($0.path))@\($0.offset)" } ?? [])"
                )
            }
            switch Int.random(in: 0..<100, using: &model.rng) {
            case 0..<30:
                let count = Int.random(in: 1...5, using: &model.rng)
                log.append("write \(count)")
                for _ in 0..<count { model.write(model.line()) }
            case 30..<38:
                // A line written in two parts, the second maybe much later.
                if model.unfinishedLine.isEmpty {
                    let line = model.line()
                    let cut = Int.random(in: 1..<line.count, using: &model.rng)
                    log.append("partial \(cut)")
                    model.write(Array(line[0..<cut]))
                    model.unfinishedLine = Array(line[cut...])
                } else {
                    log.append("complete")
                    model.write(model.unfinishedLine)
                    model.unfinishedLine = []
                }
            case 38..<60:
                log.append("poll")
                poll()
            case 60..<72:
                guard model.writerAtPath else { continue }
                // Rotation by rename: the writer keeps its descriptor until it reopens.
                model.rotations += 1
                let rotated = model.path + "." + String(100_000 + model.rotations)
                log.append("rename \(rotated)")
                precondition(rename(model.path, rotated) == 0)
                if !model.announced { model.renamedBeforeAnnouncement.append(model.incarnation) }
                model.writerAtPath = false
                model.lateWritesAllowed = true
                if Bool.random(using: &model.rng) {
                    // logrotate `create`: the new, empty file appears before the writer reopens.
                    let created = open(model.path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
                    model.stamp(created)
                    close(created)
                    model.lateWritesAllowed = false
                    model.reopen()
                }
            case 72..<78:
                guard model.writerAtPath, model.writerFD >= 0, model.incarnation.fingerprintIsFinal else { continue }
                log.append("copytruncate")
                if Bool.random(using: &model.rng) {
                    append(model.path + ".copy", bytes: contents(model.path))
                }
                precondition(ftruncate(model.writerFD, 0) == 0)
                model.stamp(model.writerFD)
                let cut = model.incarnation
                if cut.size > cut.readUpTo { cut.lostFrom = cut.readUpTo }
                model.incarnation = Incarnation()
                model.incarnation.seenByTailer = cut.seenByTailer
                unlink(model.path + ".copy")
            // The copy is gone again before the tailer looks: bytes beyond the offset are
            // then only known from sizes seen.
            case 78..<84:
                guard model.writerAtPath else { continue }
                log.append("delete")
                if !model.incarnation.seenByTailer { model.incarnation.lostFrom = 0 }
                precondition(unlink(model.path) == 0)
                model.writerAtPath = false
                model.lateWritesAllowed = false
            case 84..<90:
                log.append("tick")
                // Past the rotation wait: idle renamed files are let go. No late write may
                // follow (the writer reopens first), as in life: late writes come at once.
                clock.advance(by: .seconds(6))
                model.lateWritesAllowed = false
            default:
                log.append("poll")
                poll()
            }
        }
        if getenv("MODEL_DEBUG").map({ String(cString: $0) }) == "\(seed)" {
            print(
                "DEBUG final gens \(tailer.inputs.first?.generations.map { baseName($0.path) } ?? []) events \(recorder.events.suffix(6))"
            )
        }
        // In the end the writer writes at the path again (a rotated file is found when the
        // next file appears at the path, as in life).
        model.lateWritesAllowed = false
        model.write(model.unfinishedLine + model.line())
        poll()
        clock.advance(by: .seconds(6))
        poll()
        let delivered = recorder.bytes.values.first ?? []
        let expected = model.expected
        let firstDifference =
            zip(delivered, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            ?? min(delivered.count, expected.count)
        let same = delivered == expected
        #expect(
            same,
            "seed \(seed): delivered \(delivered.count) expected \(expected.count), first difference at \(firstDifference) (delivered \(window(delivered, firstDifference)) expected \(window(expected, firstDifference))); steps up to the first wrong poll: \(log.prefix(firstBadStep ?? log.count).suffix(30))"
        )
        let missed = tailer.totals.possiblyMissedBytes
        #expect(missed <= UInt64(model.lostBytes), "seed \(seed): possiblyMissed \(missed) > lost \(model.lostBytes)")
        #expect(recorder.bytes.count <= 1)
    }

    /// memcmp, because the generic comparison is slow in debug builds and runs at every poll.
    private func isPrefix(_ prefix: [UInt8], of whole: [UInt8]) -> Bool {
        guard prefix.count <= whole.count else { return false }
        guard !prefix.isEmpty else { return true }
        return prefix.withUnsafeBytes { a in
            whole.withUnsafeBytes { b in memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0 }
        }
    }

    private func window(_ bytes: [UInt8], _ at: Int) -> String {
        let from = max(0, at - 20)
        let to = min(bytes.count, at + 20)
        return String(decoding: bytes[from..<to], as: UTF8.self).debugDescription
    }

    /// 40 and 15 histories by default; `LOGMETRICS_MODEL_SEEDS=N` replays N of each (a soak).
    static let soakSeeds = getenv("LOGMETRICS_MODEL_SEEDS").flatMap { Int(String(cString: $0)) }
    static let seeds: ClosedRange<Int> = 1...(soakSeeds ?? 40)
    static let inotifySeeds: ClosedRange<Int> = 1...(soakSeeds ?? 15)

    @Test(arguments: seeds)
    func randomHistoriesPolling(seed: Int) throws {
        try replay(seed: UInt64(seed), steps: 250, inotify: false)
    }

    @Test(arguments: inotifySeeds)
    func randomHistoriesWithInotify(seed: Int) throws {
        try replay(seed: UInt64(seed) &* 7919, steps: 250, inotify: true)
    }
}
