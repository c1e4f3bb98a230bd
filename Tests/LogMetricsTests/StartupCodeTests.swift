import CCodePages
import Configuration
import Foundation
import Testing

@testable import LogMetrics

@Suite struct StartupCodeTests {
    /// The resident kilobytes /proc/self/status gives for `key`.
    private func statusKilobytes(_ key: String) throws -> Int {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix(key + ":") })
        return try #require(Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]))
    }

    #if os(Linux)
        @Test func releasingCodePagesLowersFileBackedMemoryAndEverythingStillRuns() throws {
            let before = try statusKilobytes("RssFile")
            let released = lm_release_code_pages()
            let after = try statusKilobytes("RssFile")
            #expect(released > 0)
            #expect(after < before)
            // Code, relocated data and protocol witnesses from all over the binary and the Swift
            // runtime, used again after their pages were dropped: had a relocated page been
            // dropped, this would crash or read the file's bytes from before relocation.
            let configuration = try ConfigurationLoader.load(
                yaml: "routes:\n  - name: item\n    match: { path: \"/users/{id}\" }\n")
            let compiled = try ConfigurationCompiler.compile(configuration)
            #expect(configuration.routes.count == 1 && !compiled.schema.families.isEmpty)
            let sorted = (0..<1000).map { String($0 * 7919 % 1000) }.sorted()
            #expect(sorted.first == "0" && sorted.count == 1000)
            // Released again at once, the same segments are advised again; what they map is
            // whatever the code above brought back.
            #expect(lm_release_code_pages() == released)
        }
    #endif

    @Test func aReleaseIsDueAtOnceAndOnceMoreLater() {
        let startupCode = StartupCode()
        // Nothing scheduled: nothing due.
        startupCode.releaseIfDue(now: 100)
        startupCode.schedule(now: 100)
        #expect(startupCode.pendingReleases == [100, 100 + StartupCode.followUp])
        startupCode.releaseIfDue(now: 100)
        #expect(startupCode.pendingReleases == [100 + StartupCode.followUp])
        startupCode.releaseIfDue(now: 105)
        #expect(startupCode.pendingReleases == [100 + StartupCode.followUp])
        startupCode.releaseIfDue(now: 111)
        #expect(startupCode.pendingReleases.isEmpty)
        // A reload schedules both again.
        startupCode.schedule(now: 200)
        #expect(startupCode.pendingReleases.count == 2)
    }
}
