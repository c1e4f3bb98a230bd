import Tailer
import Testing

@testable import LogMetrics

@Suite struct PathAssignmentTests {
    static func paths(_ names: String...) -> [DiscoveredPath] {
        names.map { DiscoveredPath(path: $0, isLiteral: false) }
    }

    @Test func newPathsGoToTheLeastLoadedWorker() {
        let assignment = PathAssignment(workers: 2)
        let all = Self.paths("/a", "/b", "/c", "/d")
        let first = assignment.share(of: all, for: 0)
        let second = assignment.share(of: all, for: 1)
        #expect(first.count == 2 && second.count == 2)
        #expect(Set(first.map(\.path)).isDisjoint(with: second.map(\.path)))
    }

    /// A listing taken at the instant of a rename does not show the path; its owner still
    /// follows it, so nobody else may get it until the owner lets it go.
    @Test func aPathMissingFromOneListingKeepsItsOwner() {
        let assignment = PathAssignment(workers: 2)
        #expect(assignment.share(of: Self.paths("/a"), for: 0).map(\.path) == ["/a"])
        #expect(assignment.share(of: [], for: 1).isEmpty)
        #expect(assignment.share(of: Self.paths("/a"), for: 1).isEmpty)
        #expect(assignment.share(of: Self.paths("/a"), for: 0).map(\.path) == ["/a"])
        assignment.release("/a", by: 1)  // not the owner: no effect
        #expect(assignment.share(of: Self.paths("/a"), for: 1).isEmpty)
        assignment.release("/a", by: 0)
        #expect(assignment.share(of: Self.paths("/a", "/b"), for: 1).count == 1)
    }
}
