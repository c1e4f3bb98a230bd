import Exposition
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// The HTTP endpoint Prometheus scrapes.
///
/// Routes:
/// - `GET`/`HEAD` ``Configuration/metricsPath`` (default `/metrics`): one snapshot from the
///   provider, in the format the `Accept` header prefers (text 0.0.4, OpenMetrics 1.0.0 or
///   protobuf; see ``ExpositionFormat/negotiate(accept:)``), gzip-compressed when
///   `Accept-Encoding` allows it. `HEAD` answers with the same headers and no body.
/// - `/healthz`: 200 `ok` while the process serves requests.
/// - `/readyz`: 200 when `isReady` says so, 503 otherwise.
/// - Other paths get 404; other methods on these paths get 405 with `Allow: GET, HEAD`.
///
/// The snapshot provider, rendering and compression run on a thread pool, so a large scrape does
/// not hold up other connections' event loop. The provider is called once per scrape and must
/// be safe to call from any thread; `isReady` is called on an event loop and must not block.
///
/// Every response carries the server's own metrics, appended to the snapshot:
/// `<namespace>_scrape_duration_seconds` (histogram by `format`), `<namespace>_scrape_size_bytes`
/// (gauge by `format` and `encoding`: the last body size sent) and
/// `<namespace>_scrape_connections_rejected_total`. A provider that already has a family of one
/// of those names keeps it and gets none added.
public final class ScrapeServer: Sendable {
    public let configuration: Configuration
    private let group: any EventLoopGroup
    private let shared: ScrapeHandler.Shared
    private let connections: ConnectionRegistry
    private let selfMetrics: ScrapeSelfMetrics
    private let serverChannel = Mutex<ServerState>(.idle)

    private enum ServerState {
        case idle
        case running(any Channel)
        case stopped
    }

    /// - Parameters:
    ///   - configuration: Address and limits.
    ///   - eventLoopGroup: The loops that accept and serve connections.
    ///   - threadPool: Where snapshots are taken, rendered and compressed.
    ///   - snapshot: Returns the metrics to serve; called once per scrape, on the thread pool.
    ///   - isReady: Whether `/readyz` answers 200; called on an event loop, so it must be cheap.
    public convenience init(
        configuration: Configuration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        threadPool: NIOThreadPool = .singleton,
        snapshot: @escaping @Sendable () -> MetricSnapshot,
        isReady: @escaping @Sendable () -> Bool = { true }
    ) {
        self.init(
            configuration: configuration, eventLoopGroup: eventLoopGroup, threadPool: threadPool,
            snapshotFor: { _ in snapshot() }, isReady: isReady)
    }

    /// As the other initializer, with a provider told the format the scrape negotiated, so that it
    /// can leave out what that format cannot carry (exemplars in the text format, say).
    public init(
        configuration: Configuration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        threadPool: NIOThreadPool = .singleton,
        snapshotFor snapshot: @escaping @Sendable (ExpositionFormat) -> MetricSnapshot,
        isReady: @escaping @Sendable () -> Bool = { true },
        pages: [String: Page] = [:]
    ) {
        self.configuration = configuration
        self.group = eventLoopGroup
        let selfMetrics = ScrapeSelfMetrics(namespace: configuration.namespace)
        self.selfMetrics = selfMetrics
        self.connections = ConnectionRegistry(limit: configuration.maxConnections)
        self.shared = ScrapeHandler.Shared(
            configuration: configuration,
            renderer: ScrapeRenderer(snapshot: snapshot, selfMetrics: selfMetrics, gzipLevel: configuration.gzipLevel),
            isReady: isReady, threadPool: threadPool, pages: pages, connections: connections)
    }

    /// Makes a page served on GET (and HEAD) of its path: its media type and its body.
    public typealias Page = @Sendable () -> (contentType: String, body: [UInt8])

    /// Binds and starts accepting connections.
    ///
    /// - Returns: The bound address; with port 0, it holds the port the system picked.
    /// - Throws: ``ScrapeServerError/alreadyStarted`` on a second call, or the bind error.
    public func start() async throws -> SocketAddress {
        let canStart = serverChannel.withLock { state in
            if case .idle = state { return true }
            return false
        }
        guard canStart else { throw ScrapeServerError.alreadyStarted }
        let shared = self.shared
        let connections = self.connections
        let selfMetrics = self.selfMetrics
        let limits = {
            var limits = NIOHTTPDecoderLimitConfiguration()
            limits.maxHeaderFieldSize = self.configuration.maxRequestHeaderBytes
            limits.maxHeaderListSize = self.configuration.maxRequestHeaderBytes
            return limits
        }()
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                switch connections.admit(channel) {
                case .refused:
                    selfMetrics.recordRejectedConnection()
                    // A failed initializer makes the bootstrap close the connection unregistered.
                    return channel.eventLoop.makeFailedFuture(ConnectionLimitReached())
                case .admittedEvicting(let evicted):
                    selfMetrics.recordEvictedConnection()
                    evicted.close(promise: nil)
                case .admitted:
                    break
                }
                return channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let tls = shared.configuration.tls {
                        try pipeline.addHandler(NIOSSLServerHandler(context: tls))
                    }
                    try pipeline.configureHTTPServerPipeline(
                        withPipeliningAssistance: true, withErrorHandling: false,
                        withEncoderConfiguration: HTTPResponseEncoder.Configuration(),
                        withDecoderLimitConfiguration: limits)
                    try pipeline.addHandler(ProtocolErrorResponder())
                    try pipeline.addHandler(ScrapeHandler(shared: shared))
                }
            }
            .bind(host: configuration.host, port: configuration.port)
            .get()
        let stored = serverChannel.withLock { state in
            guard case .idle = state else { return false }
            state = .running(channel)
            return true
        }
        guard stored else {
            // Shut down while binding.
            try? await channel.close()
            throw ScrapeServerError.alreadyStarted
        }
        guard let address = channel.localAddress else { throw ScrapeServerError.noLocalAddress }
        return address
    }

    /// Stops accepting, lets responses in flight finish, closes idle connections and waits until
    /// every connection has closed (at most ``Configuration/writeTimeout`` for a stuck one).
    public func shutdown() async throws {
        let channel: (any Channel)? = serverChannel.withLock { state in
            defer { state = .stopped }
            if case .running(let channel) = state { return channel }
            return nil
        }
        guard let channel else { return }
        try? await channel.close()
        let open = connections.close()
        let grace = TimeAmount(configuration.writeTimeout)
        for connection in open {
            // NIO's pipelining handler closes an idle connection at once and a busy one after
            // its response; the scheduled close catches a client that never lets that happen.
            connection.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
            connection.eventLoop.scheduleTask(in: grace) { connection.close(promise: nil) }
        }
        for connection in open {
            try? await connection.closeFuture.get()
        }
    }

    /// The number of connections open now.
    public var connectionCount: Int { connections.count }
}
