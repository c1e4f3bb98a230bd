import Testing

@testable import Tailer

#if canImport(Glibc)
    import Glibc
#endif

/// A node's `/var/log/pods` as kubelet lays it out: pods come and go, containers restart,
/// `/var/log/containers` holds symlinks. Followed with inotify, stepped by hand.
@Suite struct KubernetesLayoutScenarioTests {
    let dir = TemporaryDirectory()
    let recorder = Recorder()

    func tailer(_ patterns: [String]) -> Tailer {
        var configuration = TailerConfiguration()
        configuration.startPosition = .head
        configuration.rescanInterval = .seconds(3600)
        configuration.pollInterval = .seconds(3600)
        configuration.maximumIdlePollInterval = .seconds(3600)
        return Tailer(patterns: patterns, configuration: configuration, events: recorder)
    }

    @discardableResult
    func pod(_ namespace: String, _ name: String, container: String = "istio-proxy") -> String {
        dir.makeDirectory("pods/\(namespace)_\(name)_\(name.utf8.count)-uid/\(container)")
    }

    @Test func newPodsRestartsAndDeletionsAreFollowed() throws {
        let gateway = pod("istio-system", "istio-ingressgateway-7d4b9f8c6-x2kzq")
        pod("default", "app-without-proxy-5d8f9c7b6d-abcde", container: "app")
        append(gateway + "/0.log", "gateway 0\n")
        let tailer = tailer([dir.file("pods/*_*_*/istio-proxy/*.log")])
        try #require(tailer.usesInotify)
        pollUntilQuiet(tailer)
        #expect(recorder.bytes.count == 1)

        // A new pod, written to at once.
        let reviews = pod("bookinfo", "reviews-v1-545db77b95-2pxmb")
        append(reviews + "/0.log", "reviews 0\n")
        pollUntilQuiet(tailer)
        // Its proxy restarts: 1.log, a new input read from its head.
        append(reviews + "/1.log", "reviews 1\n")
        pollUntilQuiet(tailer)
        let restarted = try #require(recorder.input(path: reviews + "/1.log"))
        #expect(recorder.text(restarted) == "reviews 1\n")
        #expect(recorder.labels[restarted]?["workload"] == "reviews-v1")
        #expect(recorder.labels[restarted]?["namespace"] == "bookinfo")

        // The pod is deleted with its directory: its inputs are drained, closed and released,
        // and so are the watches on its directories.
        let watchedBefore = tailer.watchedDirectoryCount
        #expect(system("rm -rf '\(dir.file("pods/bookinfo_reviews-v1-545db77b95-2pxmb_27-uid"))'") == 0)
        pollUntilQuiet(tailer)
        pollUntilQuiet(tailer)
        // The kernel reports the removed directories' watches gone (IN_IGNORED) when it gets to
        // it; on a loaded machine that can come after the polls above.
        for _ in 0..<200 where tailer.watchedDirectoryCount > watchedBefore - 2 {
            usleep(10_000)
            pollUntilQuiet(tailer)
        }
        let closed = recorder.events.filter { if case .closed = $0 { return true } else { return false } }
        #expect(closed.count == 2)
        #expect(tailer.status.count == 1)
        #expect(tailer.watchedDirectoryCount == watchedBefore - 2)
        #expect(recorder.text(try #require(recorder.input(path: gateway + "/0.log"))) == "gateway 0\n")
    }

    @Test func kubeletRotationIsDrainedAndCompressedFilesAreNotReadAgain() throws {
        let container = pod("default", "web-0")
        let log = container + "/0.log"
        append(log, "a\n")
        append(container + "/0.log.20231231-235959.gz", "not read: compressed, older\n")
        let tailer = tailer([dir.file("pods/*_*_*/*/*")])
        pollUntilQuiet(tailer)
        append(log, "b\n")
        rename(log, log + ".20240101-000000")
        append(log, "c\n")
        pollUntilQuiet(tailer)
        // kubelet compresses the rotated file at its next pass: nothing is read twice.
        #expect(system("gzip '\(log).20240101-000000'") == 0)
        append(log, "d\n")
        pollUntilQuiet(tailer)
        #expect(recorder.bytes.count == 1)
        #expect(recorder.text == "a\nb\nc\nd\n")
    }

    @Test func containersSymlinksAndPodPathsAreFollowedOnce() throws {
        let container = pod("bookinfo", "ratings-v1-6c9f7b5d8-k2x9p", container: "istio-proxy")
        append(container + "/0.log", "x\n")
        let links = dir.makeDirectory("containers")
        let id = String(repeating: "9f", count: 32)
        symlink(container + "/0.log", links + "/ratings-v1-6c9f7b5d8-k2x9p_bookinfo_istio-proxy-\(id).log")
        let tailer = tailer([links + "/*.log", dir.file("pods/*_*_*/istio-proxy/*.log")])
        pollUntilQuiet(tailer)
        append(container + "/0.log", "y\n")
        pollUntilQuiet(tailer)
        #expect(recorder.bytes.count == 1)
        #expect(recorder.text == "x\ny\n")
    }
}

extension Tailer {
    /// Directories watched with inotify now (tests only).
    var watchedDirectoryCount: Int {
        #if os(Linux)
            inotify?.watchedDirectories.count ?? 0
        #else
            0
        #endif
    }
}
