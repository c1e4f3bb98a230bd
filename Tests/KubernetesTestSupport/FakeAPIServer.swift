import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A Kubernetes API server for pods and services on 127.0.0.1, speaking list and watch on the
/// wire as the real one does:
///
/// - `GET /api/v1/pods` (or `/api/v1/namespaces/<ns>/pods`): a `PodList` with
///   `metadata.resourceVersion`, paged by `limit` with `metadata.continue` tokens.
/// - `...?watch=1&resourceVersion=N`: `200` with a chunked body of newline-terminated
///   `{"type":...,"object":...}` events, replaying every change after `N` and then each new one
///   as the test makes it; BOOKMARK events only when `allowWatchBookmarks=true` was asked.
/// - A version older than the last ``compact()`` gets what the real server sends: `200`, then
///   an ERROR event whose object is a `Status` with code 410, then the end of the response.
///
/// The test drives changes (``apply(_:_:)``), bookmarks, clean ends and abrupt drops of the
/// watch streams, injected HTTP errors, and a mode where requests are never answered. Every
/// request is recorded for assertions.
final class FakeAPIServer: Sendable {
    struct Request: Sendable {
        var path: String
        var query: [String: String]
        var authorization: String?
        var time: ContinuousClock.Instant

        var isWatch: Bool { query["watch"] == "1" || query["watch"] == "true" }
    }

    enum EventType: String, Sendable {
        case added = "ADDED"
        case modified = "MODIFIED"
        case deleted = "DELETED"
    }

    private struct Stored {
        var namespace: String
        var json: String
    }

    private struct Change {
        var version: Int
        var namespace: String
        var line: String
    }

    private struct Watcher {
        var channel: any Channel
        var resource: String
        var namespace: String?
        var bookmarks: Bool
    }

    private struct Failure {
        var resource: String
        var watch: Bool
        var status: Int
    }

    private struct State {
        var version = 1000
        var objects: [String: [String: Stored]] = ["pods": [:], "services": [:]]
        var history: [String: [Change]] = ["pods": [], "services": []]
        /// Watches from a version below this get a 410 ERROR event.
        var compactedVersion = 0
        var watchers: [ObjectIdentifier: Watcher] = [:]
        var connections: [ObjectIdentifier: any Channel] = [:]
        var requests: [Request] = []
        var failures: [Failure] = []
        var hangs = false
        var expireContinueTokens = false
        /// Continue token -> the rest of a paged list and its version.
        var pages: [String: (items: [String], version: Int)] = [:]
    }

    private let state = Mutex(State())
    private let serverChannel = Mutex<(any Channel)?>(nil)
    private let boundPort = Atomic<Int>(0)

    var url: String { "http://127.0.0.1:\(boundPort.load(ordering: .acquiring))" }

    static func start() async throws -> FakeAPIServer {
        let server = FakeAPIServer()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(FakeAPIHandler(server: server))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        server.serverChannel.withLock { $0 = channel }
        server.boundPort.store(channel.localAddress?.port ?? 0, ordering: .releasing)
        return server
    }

    func shutdown() async throws {
        let connections = state.withLock { state in
            defer {
                state.connections = [:]
                state.watchers = [:]
            }
            return Array(state.connections.values)
        }
        for connection in connections { try? await connection.close() }
        try await serverChannel.withLock { $0 }?.close()
    }

    // MARK: What the test sees and sets

    var requests: [Request] { state.withLock { $0.requests } }

    func requests(_ resource: String, watch: Bool) -> [Request] {
        requests.filter { $0.path.hasSuffix("/" + resource) && $0.isWatch == watch }
    }

    var version: Int { state.withLock { $0.version } }

    var openWatches: Int { state.withLock { $0.watchers.count } }

    /// While true, requests are read and then never answered.
    func setHangs(_ hangs: Bool) {
        state.withLock { $0.hangs = hangs }
    }

    /// The next list (or watch) of `resource` gets `status` with a Status body.
    func failNext(_ resource: String, watch: Bool, status: Int) {
        state.withLock { $0.failures.append(Failure(resource: resource, watch: watch, status: status)) }
    }

    func setExpireContinueTokens(_ expire: Bool) {
        state.withLock { $0.expireContinueTokens = expire }
    }

    // MARK: Changes

    /// Records a change of `object` at a new version and sends it to the open watches.
    func apply(_ type: EventType, _ object: FakeObject) {
        state.withLock { state in
            state.version += 1
            let json = object.json(resourceVersion: state.version)
            let resource = object.resource
            if type == .deleted {
                state.objects[resource]?[object.key] = nil
            } else {
                state.objects[resource]?[object.key] = Stored(namespace: object.namespace, json: json)
            }
            let line = "{\"type\":\"\(type.rawValue)\",\"object\":\(json)}\n"
            state.history[resource]?.append(Change(version: state.version, namespace: object.namespace, line: line))
            for watcher in state.watchers.values
            where watcher.resource == resource && (watcher.namespace == nil || watcher.namespace == object.namespace) {
                Self.write(line, to: watcher.channel)
            }
        }
    }

    /// Moves the version on without a change to pods or services (other resources changed).
    func advanceVersion(by count: Int) {
        state.withLock { $0.version += count }
    }

    /// Sends a BOOKMARK at the current version to the watches that asked for bookmarks.
    func bookmark() {
        state.withLock { state in
            for watcher in state.watchers.values where watcher.bookmarks {
                let kind = watcher.resource == "pods" ? "Pod" : "Service"
                let line =
                    "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"\(kind)\",\"apiVersion\":\"v1\","
                    + "\"metadata\":{\"resourceVersion\":\"\(state.version)\"}}}\n"
                Self.write(line, to: watcher.channel)
            }
        }
    }

    /// Forgets history up to a new version, as etcd compaction does: watches from before it
    /// get `410 Gone`.
    func compact() {
        state.withLock { state in
            state.version += 1
            state.compactedVersion = state.version
        }
    }

    /// Ends every watch response properly, as the server does when `timeoutSeconds` runs out.
    func endWatches() {
        let watchers = state.withLock { state in
            defer { state.watchers = [:] }
            return Array(state.watchers.values)
        }
        for watcher in watchers { watcher.channel.writeAndFlush(HTTPServerResponsePart.end(nil), promise: nil) }
    }

    /// Closes every watch connection in the middle of its chunked body.
    func dropWatches() {
        let watchers = state.withLock { state in
            defer { state.watchers = [:] }
            return Array(state.watchers.values)
        }
        for watcher in watchers { watcher.channel.close(promise: nil) }
    }

    /// Sends an ERROR event with a Status of `code` on every watch, then ends them.
    func sendErrorEvent(code: Int) {
        let watchers = state.withLock { state in
            defer { state.watchers = [:] }
            return Array(state.watchers.values)
        }
        for watcher in watchers {
            Self.write("{\"type\":\"ERROR\",\"object\":\(Self.status(code: code))}\n", to: watcher.channel)
            watcher.channel.writeAndFlush(HTTPServerResponsePart.end(nil), promise: nil)
        }
    }

    // MARK: Serving

    fileprivate func connected(_ channel: any Channel) {
        state.withLock { $0.connections[ObjectIdentifier(channel)] = channel }
    }

    fileprivate func disconnected(_ channel: any Channel) {
        state.withLock { state in
            state.connections[ObjectIdentifier(channel)] = nil
            state.watchers[ObjectIdentifier(channel)] = nil
        }
    }

    fileprivate func handle(_ head: HTTPRequestHead, on channel: any Channel) {
        let components = URLComponents(string: "http://fake" + head.uri)
        var query: [String: String] = [:]
        for item in components?.queryItems ?? [] { query[item.name] = item.value ?? "" }
        let path = components?.path ?? head.uri
        let request = Request(
            path: path, query: query, authorization: head.headers.first(name: "authorization"), time: .now)
        // Writes happen after the lock is released: a write can close the channel, and closing
        // calls back into `disconnected`, which takes the lock. This runs on the channel's event
        // loop, so the writes still go out before any event another thread queues meanwhile.
        var replies: [HTTPServerResponsePart] = []
        defer {
            for reply in replies { channel.write(reply, promise: nil) }
            channel.flush()
        }
        state.withLock { state in
            state.requests.append(request)
            if state.hangs { return }
            let parts = path.split(separator: "/").map(String.init)
            // api/v1/<resource> or api/v1/namespaces/<ns>/<resource>
            guard parts.count >= 3, parts[0] == "api", parts[1] == "v1", let resource = parts.last,
                state.objects[resource] != nil
            else {
                replies = Self.response(status: .notFound, body: Self.status(code: 404))
                return
            }
            let namespace = parts.count == 5 && parts[2] == "namespaces" ? parts[3] : nil
            if let index = state.failures.firstIndex(where: { $0.resource == resource && $0.watch == request.isWatch })
            {
                let failure = state.failures.remove(at: index)
                replies = Self.response(
                    status: HTTPResponseStatus(statusCode: failure.status), body: Self.status(code: failure.status))
                return
            }
            if request.isWatch {
                replies = watch(resource, namespace: namespace, query: query, on: channel, state: &state)
            } else {
                replies = list(resource, namespace: namespace, query: query, state: &state)
            }
        }
    }

    private func list(
        _ resource: String, namespace: String?, query: [String: String], state: inout State
    ) -> [HTTPServerResponsePart] {
        var items: [String]
        var version: Int
        if let token = query["continue"], !token.isEmpty {
            guard !state.expireContinueTokens, let page = state.pages.removeValue(forKey: token) else {
                return Self.response(status: .gone, body: Self.status(code: 410))
            }
            (items, version) = page
        } else {
            items = (state.objects[resource] ?? [:]).sorted { $0.key < $1.key }
                .filter { namespace == nil || $0.value.namespace == namespace }.map(\.value.json)
            version = state.version
        }
        var continueToken = ""
        if let limit = query["limit"].flatMap(Int.init), limit > 0, items.count > limit {
            continueToken = "page-\(UUID().uuidString)"
            state.pages[continueToken] = (Array(items[limit...]), version)
            items = Array(items[..<limit])
        }
        let kind = resource == "pods" ? "PodList" : "ServiceList"
        let body =
            "{\"kind\":\"\(kind)\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"\(version)\""
            + (continueToken.isEmpty ? "" : ",\"continue\":\"\(continueToken)\"") + "},\"items\":["
            + items.joined(separator: ",") + "]}"
        return Self.response(status: .ok, body: body)
    }

    private func watch(
        _ resource: String, namespace: String?, query: [String: String], on channel: any Channel,
        state: inout State
    ) -> [HTTPServerResponsePart] {
        var head = HTTPResponseHead(version: .http1_1, status: .ok)
        head.headers.add(name: "Content-Type", value: "application/json")
        head.headers.add(name: "Transfer-Encoding", value: "chunked")
        var parts: [HTTPServerResponsePart] = [.head(head)]
        let from = Int(query["resourceVersion"] ?? "") ?? state.version
        if from < state.compactedVersion {
            parts.append(Self.chunk("{\"type\":\"ERROR\",\"object\":\(Self.status(code: 410))}\n"))
            parts.append(.end(nil))
            return parts
        }
        for change in state.history[resource] ?? []
        where change.version > from && (namespace == nil || change.namespace == namespace) {
            parts.append(Self.chunk(change.line))
        }
        state.watchers[ObjectIdentifier(channel)] = Watcher(
            channel: channel, resource: resource, namespace: namespace,
            bookmarks: query["allowWatchBookmarks"] == "true")
        return parts
    }

    // MARK: Wire format

    static func status(code: Int) -> String {
        let reason: String
        switch code {
        case 410: reason = "Expired"
        case 404: reason = "NotFound"
        case 401: reason = "Unauthorized"
        case 403: reason = "Forbidden"
        default: reason = "InternalError"
        }
        let message = code == 410 ? "too old resource version: 1 (1000)" : "fake \(reason)"
        return "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
            + "\"message\":\"\(message)\",\"reason\":\"\(reason)\",\"code\":\(code)}"
    }

    private static func chunk(_ text: String) -> HTTPServerResponsePart {
        .body(.byteBuffer(ByteBuffer(string: text)))
    }

    private static func write(_ line: String, to channel: any Channel) {
        channel.writeAndFlush(chunk(line), promise: nil)
    }

    private static func response(status: HTTPResponseStatus, body: String) -> [HTTPServerResponsePart] {
        var head = HTTPResponseHead(version: .http1_1, status: status)
        head.headers.add(name: "Content-Type", value: "application/json")
        head.headers.add(name: "Content-Length", value: String(body.utf8.count))
        return [.head(head), chunk(body), .end(nil)]
    }
}

/// Hands each complete request to the server; keeps track of the connection.
private final class FakeAPIHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart

    let server: FakeAPIServer
    private var head: HTTPRequestHead?

    init(server: FakeAPIServer) {
        self.server = server
    }

    func channelActive(context: ChannelHandlerContext) {
        server.connected(context.channel)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        server.disconnected(context.channel)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body: break
        case .end:
            if let head { server.handle(head, on: context.channel) }
            head = nil
        }
    }
}
