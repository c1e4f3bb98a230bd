import Foundation
import Synchronization
import Testing

@testable import Tailer

/// The issue's acceptance scenarios: a writer at over 20,000 realistic lines a second, rotating
/// every 2,000-3,000 lines, followed by the tailer with inotify on its own blocking loop.
/// Serialized: each needs most of a core for its writer.
@Suite(.serialized) struct AcceptanceScenarioTests {
    static let linesPerSecond = 25_000.0
    static let rotations = 55

    /// Enough lines for `rotations` rotations at 2,000-3,000 lines each.
    static var totalLines: Int { rotations * 2500 + 2000 }

    func configuration(turnInterval: Duration = .milliseconds(100)) -> TailerConfiguration {
        var configuration = TailerConfiguration()
        configuration.startPosition = .head
        configuration.minimumTurnInterval = turnInterval
        return configuration
    }

    @Test func renameRotationDeliversEveryLineExactlyOnce() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("access.log")
        let writer = RateWriter(path: path, total: Self.totalLines, linesPerSecond: Self.linesPerSecond)
        let kept = Mutex<[String]>([])
        _ = writer.start { index, _ in
            // logrotate `create`-style: rename, keep ten rotated files, delete older ones.
            let rotated = path + "." + String(100_000 + index)
            precondition(rename(path, rotated) == 0)
            let old = kept.withLock { names -> String? in
                names.append(rotated)
                return names.count > 10 ? names.removeFirst() : nil
            }
            if let old { unlink(old) }
            // The writer goes on writing to the renamed file for a moment before reopening.
            return (lateLines: index % 4 == 0 ? 0 : 7 * (index % 5), reopen: true)
        }
        let ledger = LineLedger(capacity: Self.totalLines, progress: writer.progress, expectEveryLine: true)
        let followed = Tailer(patterns: [path], configuration: configuration(), events: ledger)
        ledger.control = followed.control
        startWatchdog(progress: writer.progress, control: followed.control, graceSeconds: 15)
        followed.run()
        let written = writer.progress.written.load(ordering: .acquiring)
        let seconds = writer.progress.secondsTaken.withLock { $0 }
        #expect(Double(written) / seconds >= 20_000, "writer managed only \(Double(written) / seconds) lines/s")
        #expect(writer.progress.rotations.load(ordering: .acquiring) >= 50)
        #expect(ledger.delivered == written)
        #expect(ledger.duplicates == 0)
        #expect(ledger.corrupt == 0)
        #expect(ledger.unfinishedAtEndOfFile == 0)
        #expect(ledger.rotations >= 50)
        #expect(followed.totals.linesRead == UInt64(written))
        #expect(followed.totals.possiblyMissedBytes == 0)
    }

    @Test func kubeletRotationWithCompressionDeliversEveryLineExactlyOnce() throws {
        let dir = TemporaryDirectory()
        let container = dir.makeDirectory("pods/istio-system_istio-ingressgateway-7d4b9f8c6-x2kzq_5f2e-77/istio-proxy")
        let path = container + "/0.log"
        let writer = RateWriter(path: path, total: Self.totalLines, linesPerSecond: Self.linesPerSecond)
        let maxFiles = 5
        _ = writer.start { index, _ in
            // kubelet's steps (container_log_manager.go), 100 times faster than its 10 s loop:
            // drop the oldest rotated files beyond MaxFiles-2, compress every uncompressed
            // rotated file (X -> X.tmp -> X.gz, then remove X), rename the current file, reopen.
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: container)) ?? [])
                .filter { $0.hasPrefix("0.log.") && !$0.hasSuffix(".tmp") }.sorted()
            for stale in names.dropLast(maxFiles - 2) { unlink(container + "/" + stale) }
            for name in names.suffix(maxFiles - 2) where !name.hasSuffix(".gz") {
                let source = container + "/" + name
                precondition(
                    system(
                        "gzip -c '\(source)' > '\(source).tmp' && mv '\(source).tmp' '\(source).gz' && rm '\(source)'")
                        == 0)
            }
            precondition(rename(path, path + "." + kubeletTimestamp(index)) == 0)
            return (lateLines: index % 3 == 0 ? 5 : 0, reopen: true)
        }
        // kubelet rotates at most every 10 s; compressed 100 times, the tailer turns 10 times as
        // often as by default so that its reaction stays as small next to a rotation.
        let pattern = dir.file("pods/*_*_*/istio-proxy/*.log")
        let ledger = LineLedger(capacity: Self.totalLines, progress: writer.progress, expectEveryLine: true)
        let tailer = Tailer(
            patterns: [pattern], configuration: configuration(turnInterval: .milliseconds(10)), events: ledger)
        ledger.control = tailer.control
        startWatchdog(progress: writer.progress, control: tailer.control, graceSeconds: 15)
        tailer.run()
        let written = writer.progress.written.load(ordering: .acquiring)
        let seconds = writer.progress.secondsTaken.withLock { $0 }
        #expect(Double(written) / seconds >= 20_000)
        #expect(writer.progress.rotations.load(ordering: .acquiring) >= 50)
        #expect(ledger.delivered == written)
        #expect(ledger.duplicates == 0 && ledger.corrupt == 0 && ledger.unfinishedAtEndOfFile == 0)
        #expect(ledger.labels["namespace"] == "istio-system")
        #expect(ledger.labels["workload"] == "istio-ingressgateway")
        #expect(ledger.labels["container"] == "istio-proxy")
        // What is left on disk is readable for backfill: compressed files through zlib.
        let compressed = try FileManager.default.contentsOfDirectory(atPath: container).filter { $0.hasSuffix(".gz") }
        #expect(compressed.count == maxFiles - 2)
        let reader = LogFileReader()
        for name in compressed {
            var lines = 0
            let summary = try reader.read(path: container + "/" + name) { lines += $0.count(where: { $0 == 0x0A }) }
            #expect(summary.wasCompressed && summary.gzipError == nil && lines >= 2000)
        }
    }

    @Test func copytruncateReadsTheCopyAndCountsOnlyWhatNoFileHolds() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("access.log")
        let writer = RateWriter(path: path, total: Self.totalLines, linesPerSecond: Self.linesPerSecond)
        let copies = Mutex<[String]>([])
        _ = writer.start { index, _ in
            // logrotate runs hours apart, these every tenth of a second: a tailer kept off the
            // CPU that long (the tests share two cores) would meet two truncations as one and
            // could not know the first copy's successor. One copytruncate at a time, then: the
            // next waits until the last was seen, 2 s at most.
            let deadline = Date().addingTimeInterval(2)
            while writer.progress.truncationsSeen.load(ordering: .acquiring) < index - 1 && Date() < deadline {
                usleep(1_000)
            }
            // logrotate copytruncate, run by another process while the writer keeps writing:
            // copy what is there, then truncate. The writer appends (O_APPEND), so it goes on at 0.
            let copy = path + "." + String(100_000 + index)
            Thread.detachNewThread { copyThenTruncate(path, to: copy) }
            copies.withLock { $0.append(copy) }
            return (lateLines: 0, reopen: false)
        }
        var configuration = configuration()
        configuration.minimumTurnInterval = .milliseconds(10)
        let ledger = LineLedger(capacity: Self.totalLines, progress: writer.progress, expectEveryLine: false)
        let tailer = Tailer(patterns: [path], configuration: configuration, events: ledger)
        startWatchdog(progress: writer.progress, control: tailer.control, graceSeconds: 2)
        tailer.run()
        let written = writer.progress.written.load(ordering: .acquiring)
        #expect(ledger.duplicates == 0)
        #expect(ledger.corrupt == 0)
        #expect(ledger.truncations >= 45)
        // Lines on disk in the end: in a copy or in the live file. The rest were written between
        // a copy and its truncation: lost by copytruncate itself, for every reader.
        var onDisk = [Bool](repeating: false, count: Self.totalLines)
        for file in copies.withLock({ $0 }) + [path] {
            contents(file).withUnsafeBytes { bytes in
                var start = 0
                while start < bytes.count, let found = memchr(bytes.baseAddress! + start, 0x0A, bytes.count - start) {
                    let end = bytes.baseAddress!.distance(to: UnsafeRawPointer(found)) + 1
                    if let sequence = EnvoyLine.sequence(of: UnsafeRawBufferPointer(rebasing: bytes[start..<end])) {
                        onDisk[sequence] = true
                    }
                    start = end
                }
            }
        }
        let lostByCopytruncate = (0..<written).filter { !onDisk[$0] && !ledger.wasDelivered($0) }.count
        let missedOnDisk = (0..<written).filter { onDisk[$0] && !ledger.wasDelivered($0) }.count
        let lineBytes = UInt64(EnvoyLine.length)
        // Every line is delivered or was lost by copytruncate itself (written after its copy,
        // before its truncate): what the copy holds past the read position is read from it.
        #expect(ledger.delivered + lostByCopytruncate == written)
        #expect(missedOnDisk == 0)
        // possiblyMissed counts only bytes seen in the file and in no copy: part of what
        // copytruncate lost (one line of slack per truncation: a line cut by the copy).
        let slack = UInt64(ledger.truncations) * lineBytes
        #expect(ledger.possiblyMissed <= UInt64(lostByCopytruncate) * lineBytes + slack)
        print(
            "copytruncate: written \(written), delivered \(ledger.delivered), lost by copytruncate \(lostByCopytruncate)"
                + " (\(String(format: "%.3f", Double(lostByCopytruncate) * 100 / Double(written)))%),"
                + " possiblyMissed \(ledger.possiblyMissed) bytes, truncations \(ledger.truncations)")
    }
}

/// What logrotate's copytruncate does: copy the file as it is to its end, then truncate it.
/// Lines written between the last read of the copy and the truncation are in neither file.
func copyThenTruncate(_ path: String, to copy: String) {
    let source = open(path, O_RDWR | O_CLOEXEC)
    let target = open(copy, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    precondition(source >= 0 && target >= 0)
    var buffer = [UInt8](repeating: 0, count: 1 << 20)
    while true {
        let n = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
        precondition(n >= 0)
        if n == 0 { break }
        precondition(buffer.withUnsafeBytes { write(target, $0.baseAddress, n) } == n)
    }
    precondition(ftruncate(source, 0) == 0)
    close(source)
    close(target)
}
