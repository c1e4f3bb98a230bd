import Dispatch
import Foundation
import HTTPClient
import Synchronization

/// Keeps the index in step with one resource: lists it, then watches from the list's
/// `resourceVersion`, the way client-go's reflector does.
///
/// - The first list asks for `resourceVersion=0` (any recent state, served from the API
///   server's watch cache, so that many nodes starting together do not all read etcd), in pages
///   of ``KubernetesConfiguration/Timing/pageSize``.
/// - Watches ask for bookmarks (`allowWatchBookmarks=true`) and a server-side timeout drawn in
///   `[watchTimeout, 2 × watchTimeout]`; every event and bookmark moves the version the next
///   watch starts from. A watch that the server ends normally is started again at once.
/// - `410 Gone` (an HTTP status, or an ERROR event whose Status has code 410) means the version
///   is too old: the next list is a consistent read (no `resourceVersion`) that replaces the
///   index, so that whatever changed in between, deletions included, is seen.
/// - Any other failure (connection refused or dropped mid-stream, timeouts, 5xx, 401/403) waits
///   with exponential backoff and jitter, then watches again from the last version seen.
///
/// Thread safety: the loop runs on its own thread, which alone touches the loop's state;
/// ``start()``, ``cancel()``, ``join()`` and ``statistics`` may be called from any thread.
final class ResourceWatcher<Resource: WatchedResource>: @unchecked Sendable {
    // @unchecked Sendable: `resourceVersion`, `listFrom`, `backoff` and `lastReported` are used
    // by the loop's thread only; everything shared is in a Mutex, an Atomic or the transfer's
    // thread-safe cancel.

    struct Handlers: Sendable {
        var replace: @Sendable ([Resource]) -> Void
        var upsert: @Sendable (Resource) -> Void
        var remove: @Sendable (Resource) -> Void
        /// Called after each complete list.
        var listed: @Sendable () -> Void
        var log: @Sendable (String) -> Void
    }

    private let connection: APIConnection
    private let path: String
    private let selector: KubernetesConfiguration.Selector
    private let handlers: Handlers
    private let transfer = CurlTransfer()
    private let stats = Mutex(KubernetesStatistics.Resource())
    private let done = DispatchSemaphore(value: 0)
    private let started = Atomic<Bool>(false)
    private let decoder = JSONDecoder()

    private var resourceVersion: String?
    /// The `resourceVersion` of the next list: `0` at first, empty (a consistent read) after a
    /// `410 Gone`.
    private var listFrom = "0"
    private var backoff: Backoff
    /// What the last log line was about, so that a failure repeating on every retry is logged
    /// once (the detailed text, such as libcurl's elapsed milliseconds, may differ each time).
    private var lastReported: String?

    init(
        connection: APIConnection, namespace: String?, selector: KubernetesConfiguration.Selector,
        handlers: Handlers
    ) {
        self.connection = connection
        self.path = APIConnection.collectionPath(resource: Resource.resource, namespace: namespace)
        self.selector = selector
        self.handlers = handlers
        self.backoff = Backoff(
            initial: connection.timing.initialBackoff, maximum: connection.timing.maximumBackoff)
    }

    var statistics: KubernetesStatistics.Resource { stats.withLock { $0 } }

    func start() {
        guard !started.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let thread = Thread { [self] in
            run()
            done.signal()
        }
        thread.name = "logmetrics-kubernetes-\(Resource.resource)"
        thread.start()
    }

    /// Stops the loop: a request in progress ends at once.
    func cancel() {
        transfer.cancel()
    }

    /// Waits for the loop's thread to end (after ``cancel()``).
    func join() {
        guard started.load(ordering: .acquiring) else { return }
        done.wait()
        done.signal()
    }

    // MARK: The loop

    private func run() {
        while !transfer.isCancelled {
            if let version = resourceVersion {
                switch watch(from: version) {
                case .ended(let events, let elapsed):
                    // A server that closes every watch at once would otherwise be asked again
                    // in a tight loop.
                    if events == 0 && elapsed < .seconds(1) {
                        if !transfer.pause(for: backoff.next()) { return }
                    } else {
                        backoff.reset()
                    }
                case .expired:
                    stats.withLock { $0.expiries += 1 }
                    report(
                        "\(Resource.resource): watch version \(version) expired (410 Gone); listing again",
                        about: "expired")
                    resourceVersion = nil
                    listFrom = ""
                case .failed(let failure):
                    fail("watch failed", failure)
                    if !transfer.pause(for: backoff.next()) { return }
                case .cancelled:
                    return
                }
            } else {
                switch list() {
                case .listed(let items, let version):
                    handlers.replace(items)
                    resourceVersion = version
                    stats.withLock { stats in
                        stats.lists += 1
                        stats.isSynced = true
                        stats.resourceVersion = version
                    }
                    handlers.listed()
                    if lastReported != nil {
                        handlers.log("kubernetes: \(Resource.resource): listed \(items.count) again")
                        lastReported = nil
                    }
                    backoff.reset()
                case .expired:
                    stats.withLock { $0.expiries += 1 }
                    // The version asked for, or a later page's continue token, is too old:
                    // list again from scratch as a consistent read, at once the first time.
                    let again = listFrom.isEmpty
                    listFrom = ""
                    if again && !transfer.pause(for: backoff.next()) { return }
                case .failed(let failure):
                    fail("list failed", failure)
                    if !transfer.pause(for: backoff.next()) { return }
                case .cancelled:
                    return
                }
            }
        }
    }

    /// Why a request failed: the text to log, and what kind of failure it is.
    private struct Failure {
        var message: String
        var kind: String

        init(_ message: String, kind: String? = nil) {
            self.message = message
            self.kind = kind ?? message
        }
    }

    private func fail(_ what: String, _ failure: Failure) {
        let message = "\(what): \(failure.message)"
        stats.withLock { stats in
            stats.failures += 1
            stats.lastError = message
        }
        report("\(Resource.resource): \(message); retrying with backoff", about: "\(what) \(failure.kind)")
    }

    /// Logs `message` unless the previous line was about the same thing.
    private func report(_ message: String, about subject: String) {
        guard subject != lastReported else { return }
        lastReported = subject
        handlers.log("kubernetes: \(message)")
    }

    private var selectorQuery: [(String, String)] {
        var query: [(String, String)] = []
        if let labels = selector.labels, !labels.isEmpty { query.append(("labelSelector", labels)) }
        if let fields = selector.fields, !fields.isEmpty { query.append(("fieldSelector", fields)) }
        return query
    }

    // MARK: List

    private enum ListResult {
        case listed([Resource], version: String)
        case expired
        case failed(Failure)
        case cancelled
    }

    private func list() -> ListResult {
        let timing = connection.timing
        var items: [Resource] = []
        var version: String?
        var continueToken: String?
        repeat {
            var query = selectorQuery
            query.append(("limit", String(timing.pageSize)))
            if let continueToken {
                // A continued list reads at the first page's version, named by the token.
                query.append(("continue", continueToken))
            } else if !listFrom.isEmpty {
                query.append(("resourceVersion", listFrom))
            }
            var body: [UInt8] = []
            let outcome = transfer.perform(connection.request(path: path, query: query, timeout: timing.listTimeout)) {
                _, bytes in
                guard body.count + bytes.count <= timing.maximumResponseBytes else { return false }
                body.append(contentsOf: bytes)
                return true
            }
            switch outcome {
            case .cancelled:
                return .cancelled
            case .failed(_, let message, let code):
                return .failed(Failure(message, kind: "curl \(code)"))
            case .stoppedByReceiver:
                return .failed(
                    Failure("a list page is larger than \(timing.maximumResponseBytes) bytes; lower the page size"))
            case .completed(let status):
                if status == 410 { return .expired }
                guard status == 200 else {
                    return .failed(Failure(describe(status: status, body: body), kind: "HTTP \(status)"))
                }
                do {
                    let page = try decoder.decode(ObjectList<Resource>.self, from: Data(body))
                    items += page.items
                    version = page.metadata.resourceVersion
                    continueToken = page.metadata.continueToken.flatMap { $0.isEmpty ? nil : $0 }
                } catch {
                    return .failed(Failure("the list response could not be read: \(error)"))
                }
            }
        } while continueToken != nil
        guard let version, !version.isEmpty else { return .failed(Failure("the list response has no resourceVersion")) }
        return .listed(items, version: version)
    }

    // MARK: Watch

    private enum WatchResult {
        case ended(events: Int, elapsed: Duration)
        case expired
        case failed(Failure)
        case cancelled
    }

    private enum EventAction {
        case proceed
        case stop(WatchResult)
    }

    private func watch(from version: String) -> WatchResult {
        let timing = connection.timing
        let base = max(1, timing.watchTimeout.components.seconds)
        let timeoutSeconds = Int64.random(in: base...(2 * base))
        var query = selectorQuery
        query += [
            ("watch", "1"), ("resourceVersion", version), ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", String(timeoutSeconds)),
        ]
        // The server ends the stream after timeoutSeconds; the client's own bound only catches
        // a connection that died without a word.
        let request = connection.request(path: path, query: query, timeout: .seconds(timeoutSeconds + 30))
        stats.withLock { $0.watches += 1 }
        let startedAt = ContinuousClock.now
        var framer = JSONObjectFramer(maxObjectBytes: timing.maximumEventBytes)
        var errorBody: [UInt8] = []
        var stopReason: WatchResult?
        var events = 0
        let outcome = transfer.perform(request) { status, bytes in
            guard status == 200 else {
                if errorBody.count < 65536 { errorBody.append(contentsOf: bytes.prefix(65536 - errorBody.count)) }
                return true
            }
            do {
                return try framer.append(bytes) { object in
                    switch handle(event: object) {
                    case .proceed:
                        events += 1
                        return true
                    case .stop(let reason):
                        stopReason = reason
                        return false
                    }
                }
            } catch {
                stopReason = .failed(Failure("\(error)"))
                return false
            }
        }
        switch outcome {
        case .cancelled:
            return .cancelled
        case .stoppedByReceiver:
            return stopReason ?? .failed(Failure("the watch was stopped"))
        case .failed(let status, let message, let code):
            return .failed(
                Failure(status == 200 ? "the watch stream broke: \(message)" : message, kind: "curl \(code)"))
        case .completed(let status):
            if status == 410 { return .expired }
            guard status == 200 else {
                return .failed(Failure(describe(status: status, body: errorBody), kind: "HTTP \(status)"))
            }
            if framer.hasPartialObject { return .failed(Failure("the watch stream ended inside an event")) }
            return .ended(events: events, elapsed: startedAt.duration(to: .now))
        }
    }

    private func handle(event bytes: [UInt8]) -> EventAction {
        let data = Data(bytes)
        do {
            let type = try decoder.decode(WatchEventHeader.self, from: data).type
            switch type {
            case "ADDED", "MODIFIED", "DELETED":
                let object = try decoder.decode(WatchEvent<Resource>.self, from: data).object
                if type == "DELETED" { handlers.remove(object) } else { handlers.upsert(object) }
                advance(to: object.metadata.resourceVersion) { $0.events += 1 }
            case "BOOKMARK":
                let object = try decoder.decode(WatchEvent<MetadataOnly>.self, from: data).object
                advance(to: object.metadata.resourceVersion) { $0.bookmarks += 1 }
            case "ERROR":
                let status = try decoder.decode(WatchEvent<StatusObject>.self, from: data).object
                if status.code == 410 { return .stop(.expired) }
                let detail = status.message ?? status.reason ?? "no message"
                return .stop(
                    .failed(
                        Failure(
                            "the server ended the watch: \(detail) (code \(status.code ?? 0))",
                            kind: "ERROR \(status.code ?? 0)")))
            default:
                break
            }
        } catch {
            return .stop(.failed(Failure("a watch event could not be read: \(error)")))
        }
        return .proceed
    }

    private func advance(to version: String?, _ count: (inout KubernetesStatistics.Resource) -> Void) {
        if let version, !version.isEmpty { resourceVersion = version }
        let current = resourceVersion
        stats.withLock { stats in
            count(&stats)
            stats.resourceVersion = current
        }
        if lastReported != nil {
            handlers.log("kubernetes: \(Resource.resource): watching again")
            lastReported = nil
        }
    }

    /// A failed response, with the server's `Status` message when it sent one.
    private func describe(status: Int, body: [UInt8]) -> String {
        if status == 401 { connection.token?.invalidate() }
        var text = "HTTP \(status)"
        if let message = try? decoder.decode(StatusObject.self, from: Data(body)).message {
            text += ": \(message)"
        }
        if status == 403 {
            text +=
                " (the service account needs get, list and watch on \(Resource.resource): see the enrichment overlay)"
        }
        return text
    }
}
