import Foundation
import Testing

@testable import Tailer

/// The tailer with inotify: changes are noticed from events alone (every interval is set far
/// beyond the test), still stepped by hand.
@Suite struct TailerInotifyTests {
    let dir = TemporaryDirectory()
    let recorder = Recorder()

    func tailer(_ patterns: [String]) -> Tailer {
        var configuration = TailerConfiguration()
        configuration.startPosition = .head
        configuration.pollInterval = .seconds(3600)
        configuration.maximumIdlePollInterval = .seconds(3600)
        configuration.rescanInterval = .seconds(3600)
        return Tailer(patterns: patterns, configuration: configuration, events: recorder)
    }

    @Test func writesAreNoticedThroughEvents() throws {
        let log = dir.file("access.log")
        append(log, "1\n")
        let tailer = tailer([log])
        try #require(tailer.usesInotify)
        pollUntilQuiet(tailer)
        append(log, "2\n")
        // Nothing is due by time: only the IN_MODIFY event brings the read.
        pollUntilQuiet(tailer)
        #expect(recorder.text == "1\n2\n")
    }

    @Test func newDirectoriesAndFilesUnderAGlobAreNoticedThroughEvents() throws {
        dir.makeDirectory("pods")
        let tailer = tailer([dir.file("pods/*_*/proxy/*.log")])
        try #require(tailer.usesInotify)
        pollUntilQuiet(tailer)
        let container = dir.makeDirectory("pods/ns_pod-a_uid1/proxy")
        pollUntilQuiet(tailer)
        append(container + "/0.log", "first\n")
        pollUntilQuiet(tailer)
        append(container + "/1.log", "after a restart\n")
        pollUntilQuiet(tailer)
        #expect(recorder.text(recorder.input(named: "0.log")!) == "first\n")
        #expect(recorder.text(recorder.input(named: "1.log")!) == "after a restart\n")
    }

    /// The directory itself removed and made again, with a file written before the watch on
    /// the new directory can be in place: its parent's watch stands in meanwhile.
    @Test(arguments: [false, true]) func aDirectoryRemovedAndMadeAgainIsNoticedThroughEvents(literal: Bool) throws {
        let logs = dir.makeDirectory("logs")
        // A glob finds the new files by their new names; a literal path has its one name.
        func name(_ round: Int) -> String { literal ? "app.log" : "app-\(round).log" }
        append(logs + "/" + name(1), "1\n")
        let tailer = tailer([logs + (literal ? "/app.log" : "/*.log")])
        try #require(tailer.usesInotify)
        pollUntilQuiet(tailer)
        for round in 2...3 {
            try FileManager.default.removeItem(atPath: logs)
            // Until the removal is seen and the rescan it brings is done.
            for _ in 0..<3 { _ = tailer.poll() }
            _ = dir.makeDirectory("logs")
            append(logs + "/" + name(round), "\(round)\n")
            pollUntilQuiet(tailer)
        }
        let names = literal ? ["app.log"] : (1...3).map(name)
        let read = names.flatMap(recorder.inputs(named:)).map { recorder.text($0) }
        #expect(read.joined() == "1\n2\n3\n")
    }

    #if os(Linux)
        /// A directory watched under two names (a symlink and its target) shares one watch; when
        /// one name is dropped, events go on under the other.
        @Test func aSharedWatchGoesOnUnderTheNameThatIsLeft() throws {
            let real = dir.makeDirectory("real")
            let link = dir.file("link")
            try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: real)
            let watcher = try InotifyWatcher()
            try watcher.watch(link)
            try watcher.watch(real)
            watcher.unwatch(link)
            append(real + "/a.log", "x\n")
            var directories: [String] = []
            try watcher.drain { event in
                if case .entry(let directory, _, _) = event { directories.append(directory) }
            }
            #expect(!directories.isEmpty && directories.allSatisfy { $0 == real }, "\(directories)")
        }
    #endif

    @Test func rotationIsNoticedThroughEvents() throws {
        let log = dir.file("0.log")
        append(log, "1\n")
        let tailer = tailer([log])
        pollUntilQuiet(tailer)
        append(log, "2\n")
        rename(log, dir.file("0.log.20240101-000000"))
        append(log, "3\n")
        pollUntilQuiet(tailer)
        #expect(recorder.text == "1\n2\n3\n")
    }

    @Test func reachingTheWatchLimitFallsBackToPollingAndKeepsFollowing() throws {
        let log = dir.file("access.log")
        append(log, "1\n")
        var configuration = TailerConfiguration()
        configuration.startPosition = .head
        configuration.pollInterval = .zero
        let tailer = Tailer(patterns: [log], configuration: configuration, events: recorder)
        try #require(tailer.usesInotify)
        pollUntilQuiet(tailer)
        // What inotify_add_watch failing with ENOSPC leads to.
        tailer.fallBackToPolling(now: SystemMonotonicClock().now())
        #expect(!tailer.usesInotify)
        append(log, "2\n")
        pollUntilQuiet(tailer)
        #expect(recorder.text == "1\n2\n")
        #expect(tailer.totals.usesInotify == false)
    }

    @Test func runCallsItsPeriodicTaskBetweenTurnsAndOnceMoreWhenStopping() throws {
        let log = dir.file("access.log")
        append(log, "1\n")
        let tailer = tailer([log])
        let control = tailer.control
        var calls = 0
        var positions: [SavedPosition] = []
        Thread.detachNewThread {
            usleep(300_000)
            control.stop()
        }
        tailer.run(every: .milliseconds(50)) {
            calls += 1
            positions = tailer.savedPositions()
        }
        #expect(calls >= 3)
        #expect(positions.first?.offset == 2)
    }

    @Test func runReturnsPromptlyWhenStoppedFromAnotherThread() throws {
        let tailer = tailer([dir.file("*.log")])
        let control = tailer.control
        let started = Date()
        Thread.detachNewThread {
            usleep(100_000)
            control.stop()
        }
        tailer.run()
        #expect(Date().timeIntervalSince(started) < 2)
    }
}
