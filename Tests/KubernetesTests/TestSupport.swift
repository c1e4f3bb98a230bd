import Foundation
import Kubernetes
import Synchronization
import Testing

@testable import KubernetesTestSupport

/// Short waits, so that failures and their retries happen within a test's time.
func testConfiguration(
    url: String, podLabels: [String] = ["account", "application", "scope"], serviceLabels: [String] = []
) -> KubernetesConfiguration {
    var configuration = KubernetesConfiguration(api: .url(url), podLabels: podLabels, serviceLabels: serviceLabels)
    configuration.timing.connectTimeout = .seconds(2)
    configuration.timing.listTimeout = .seconds(5)
    configuration.timing.initialBackoff = .milliseconds(40)
    configuration.timing.maximumBackoff = .milliseconds(200)
    return configuration
}

/// Runs `body` with a fake API server and a started ``KubernetesMetadata`` pointed at it (after
/// `prepare` has filled the server), then stops both.
func withMetadata(
    podLabels: [String] = ["account", "application", "scope"], serviceLabels: [String] = [],
    configure: (inout KubernetesConfiguration) -> Void = { _ in },
    prepare: (FakeAPIServer) -> Void = { _ in },
    waitForList: Bool = true,
    _ body: (FakeAPIServer, KubernetesMetadata) async throws -> Void
) async throws {
    let server = try await FakeAPIServer.start()
    var configuration = testConfiguration(url: server.url, podLabels: podLabels, serviceLabels: serviceLabels)
    configure(&configuration)
    prepare(server)
    let messages = LogLines()
    let metadata = try KubernetesMetadata(configuration: configuration, log: { messages.append($0) })
    metadata.start()
    do {
        if waitForList {
            let listed = await metadata.waitForInitialList(timeout: .seconds(5))
            try #require(listed, "no initial list; log: \(messages.lines)")
        }
        try await body(server, metadata)
    } catch {
        metadata.stop()
        try await server.shutdown()
        throw error
    }
    metadata.stop()
    try await server.shutdown()
}

/// Polls `condition` until it holds or `timeout` passes; the network is in the loop, so a test
/// waits for what it expects instead of sleeping a fixed time.
func eventually(
    timeout: Duration = .seconds(5), _ what: @autoclosure () -> String = "condition",
    sourceLocation: SourceLocation = #_sourceLocation, _ condition: () -> Bool
) async {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while !condition() {
        if ContinuousClock.now >= deadline {
            Issue.record("timed out waiting for \(what())", sourceLocation: sourceLocation)
            return
        }
        try? await Task.sleep(for: .milliseconds(5))
    }
}

/// Collects the metadata's log lines.
final class LogLines: Sendable {
    private let storage = Mutex<[String]>([])

    func append(_ line: String) {
        storage.withLock { $0.append(line) }
    }

    var lines: [String] { storage.withLock { $0 } }
}
