import Testing

@testable import Tailer

@Suite struct GlobPathProviderTests {
    let dir = TemporaryDirectory()

    @Test func literalPathsAreKeptEvenWhenMissing() {
        let discovery = GlobPathProvider(patterns: [dir.file("missing.log")]).discover()
        #expect(discovery.paths == [DiscoveredPath(path: dir.file("missing.log"), isLiteral: true)])
        #expect(discovery.directories == [dir.path])
    }

    @Test func patternsMatchFilesAndNameTheDirectoriesToWatch() {
        let first = dir.makeDirectory("pods/istio-system_gw-1_u1/istio-proxy")
        let second = dir.makeDirectory("pods/default_web-0_u2/istio-proxy")
        dir.makeDirectory("pods/default_web-0_u2/app")
        append(first + "/0.log", "")
        append(first + "/0.log.20240101-120000", "")
        append(first + "/0.log.20231231-120000.gz", "")
        append(second + "/0.log", "")
        append(second + "/1.log", "")
        let discovery = GlobPathProvider(patterns: [dir.file("pods/*_*/istio-proxy/*.log*")]).discover()
        #expect(discovery.paths.map(\.path) == [second + "/0.log", second + "/1.log", first + "/0.log"])
        #expect(discovery.paths.allSatisfy { !$0.isLiteral })
        #expect(
            Set(discovery.directories) == [
                dir.file("pods"), dir.file("pods/default_web-0_u2"), dir.file("pods/istio-system_gw-1_u1"), first,
                second,
            ])
        #expect(discovery.errors.isEmpty)
    }

    @Test func noMatchIsNotAnError() {
        let discovery = GlobPathProvider(patterns: [dir.file("nothing/*.log")]).discover()
        #expect(discovery.paths.isEmpty && discovery.errors.isEmpty)
        #expect(discovery.directories == [dir.file("nothing")])
    }
}
