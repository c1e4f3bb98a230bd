import Testing

@testable import Tailer

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Collects what a follower reads.
final class Collected {
    var text = ""
    var rotations = 0
    var truncations = 0
    var errors: [SystemError] = []

    var events: PollingFollower.Events {
        PollingFollower.Events(
            chunk: { self.text += String(decoding: $0, as: UTF8.self) },
            rotated: { self.rotations += 1 },
            truncated: { _ in self.truncations += 1 },
            error: { self.errors.append($0) })
    }
}

@Suite struct PollingFollowerTests {
    @Test func readsGrowthFromTheHead() {
        let dir = TemporaryDirectory()
        let log = dir.file("access.log")
        append(log, "a\nb\n")
        let follower = PollingFollower(path: log)
        let seen = Collected()
        follower.poll(start: .head, events: seen.events)
        append(log, "c\n")
        follower.poll(start: .head, events: seen.events)
        #expect(seen.text == "a\nb\nc\n")
        #expect(follower.offset == 6)
    }

    @Test func startsAtTheEndWhenAskedTo() {
        let dir = TemporaryDirectory()
        let log = dir.file("access.log")
        append(log, "old\n")
        let follower = PollingFollower(path: log)
        let seen = Collected()
        follower.poll(start: .tail, events: seen.events)
        append(log, "new\n")
        follower.poll(start: .tail, events: seen.events)
        #expect(seen.text == "new\n")
    }

    @Test func rotationByRenameDrainsTheOldFileThenReadsTheNewOne() {
        let dir = TemporaryDirectory()
        let log = dir.file("0.log")
        append(log, "1\n")
        let follower = PollingFollower(path: log)
        let seen = Collected()
        follower.poll(start: .head, events: seen.events)
        append(log, "2\n")
        rename(log, dir.file("0.log.20261120-100000"))
        append(dir.file("0.log.20261120-100000"), "3\n")
        append(log, "4\n")
        follower.poll(start: .head, events: seen.events)
        #expect(seen.text == "1\n2\n3\n4\n")
        #expect(seen.rotations == 1)
    }

    @Test func truncationRestartsAtZero() {
        let dir = TemporaryDirectory()
        let log = dir.file("access.log")
        append(log, "first line\nsecond line\n")
        let follower = PollingFollower(path: log)
        let seen = Collected()
        follower.poll(start: .head, events: seen.events)
        truncate(log, 0)
        append(log, "x\n")
        follower.poll(start: .head, events: seen.events)
        #expect(seen.text == "first line\nsecond line\nx\n")
        #expect(seen.truncations == 1)
    }

    @Test func aMissingFileIsWaitedFor() {
        let dir = TemporaryDirectory()
        let log = dir.file("later.log")
        let follower = PollingFollower(path: log)
        let seen = Collected()
        follower.poll(start: .tail, events: seen.events)
        #expect(seen.errors.isEmpty)
        append(log, "hello\n")
        follower.poll(start: .tail, events: seen.events)
        // A file that appears after start is read from its head.
        #expect(seen.text == "hello\n")
    }

    @Test func aDirectoryIsReportedNotRead() {
        let dir = TemporaryDirectory()
        let follower = PollingFollower(path: dir.path)
        let seen = Collected()
        follower.poll(start: .head, events: seen.events)
        follower.poll(start: .head, events: seen.events)
        #expect(seen.errors.count == 1)
        #expect(seen.text.isEmpty)
    }

    @Test func aPathWithGlobCharactersIsTakenLiterally() {
        let dir = TemporaryDirectory()
        let log = dir.file("odd[1]*.log")
        append(log, "x\n")
        let follower = PollingFollower(path: log)
        let seen = Collected()
        follower.poll(start: .head, events: seen.events)
        #expect(seen.text == "x\n")
    }
}
