import Exposition
import NIOSSL

extension ScrapeServer {
    /// Where the server listens and the limits that keep a misbehaving client from costing more
    /// than a bounded share of memory and connections.
    public struct Configuration: Sendable {
        /// The address to bind, e.g. `0.0.0.0`, `::` or `127.0.0.1`.
        public var host: String
        /// The port to bind; 0 picks a free one (see ``ScrapeServer/start()``'s result).
        public var port: Int
        /// Connections served at once; a connection beyond this is closed as soon as it is
        /// accepted, and counted in `<namespace>_scrape_connections_rejected_total`.
        public var maxConnections: Int
        /// How long a connection may wait for a client, either for the next request on a kept-alive
        /// connection or for the rest of one that has started. Bytes trickling in do not extend
        /// it: a request must be complete within this time.
        public var idleTimeout: Duration
        /// How long writing one response may take before the connection is closed (a client that
        /// stops reading must not hold a rendered scrape in memory forever).
        public var writeTimeout: Duration
        /// The most bytes of request line and header fields accepted; more gets 431.
        public var maxRequestHeaderBytes: Int
        /// The most bytes of request body accepted (scrapes have none); more gets 413.
        public var maxRequestBodyBytes: Int
        /// zlib level for gzip responses, 1 (fastest) to 9 (smallest).
        public var gzipLevel: Int32
        /// The prefix of the server's own metrics: `<namespace>_scrape_duration_seconds`,
        /// `<namespace>_scrape_size_bytes`, `<namespace>_scrape_connections_rejected_total`.
        public var namespace: String
        /// The path that serves metrics.
        public var metricsPath: String
        /// When set, connections speak TLS with this context (and plain HTTP is refused).
        public var tls: NIOSSLContext?
        /// When set, every request needs a user and password it allows (401 otherwise).
        public var authenticator: BasicAuthenticator?

        public init(
            host: String = "0.0.0.0", port: Int, maxConnections: Int = 256, idleTimeout: Duration = .seconds(60),
            writeTimeout: Duration = .seconds(60), maxRequestHeaderBytes: Int = 16 * 1024,
            maxRequestBodyBytes: Int = 4 * 1024, gzipLevel: Int32 = GzipEncoder.defaultLevel,
            namespace: String = "logmetrics", metricsPath: String = "/metrics"
        ) {
            self.host = host
            self.port = port
            self.maxConnections = maxConnections
            self.idleTimeout = idleTimeout
            self.writeTimeout = writeTimeout
            self.maxRequestHeaderBytes = maxRequestHeaderBytes
            self.maxRequestBodyBytes = maxRequestBodyBytes
            self.gzipLevel = gzipLevel
            self.namespace = namespace
            self.metricsPath = metricsPath
        }
    }
}
