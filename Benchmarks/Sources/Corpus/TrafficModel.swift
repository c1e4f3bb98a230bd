/// What the corpus's traffic looks like: an online shop behind an Istio ingress gateway.
///
/// About forty routes over a dozen services, with Zipf-like popularity; about 30% of requests
/// carry an identifier in their path (numbers, UUIDs, SKUs); each route has its own error mix
/// (timeouts on search, rate limits on login, connection failures on payments...), so that the
/// counts per route, code and flags are far from uniform, as in a real log.
enum TrafficModel {
    /// One piece of a path template.
    enum PathPiece: Sendable {
        case literal(String)
        /// A decimal identifier, log-uniform up to two million.
        case number
        case uuid
        /// `SKU-004217`.
        case sku
        case page
        case term
        case slug
        case asset
        case imageSize
        case provider

        /// Whether the piece is an identifier that a path template would turn into `{id}`.
        var isIdentifier: Bool {
            switch self {
            case .number, .uuid, .sku: true
            default: false
            }
        }
    }

    enum Kind: Sendable {
        case read, create, delete, search, login, payments, checkout, health, assets, redirect, admin, unrouted
    }

    struct Route: Sendable {
        var name: String?
        var service: String
        var port: Int
        /// Method indices into ``methods`` with integer weights.
        var methods: [(method: Int, weight: Int)]
        var path: [PathPiece]
        var kind: Kind
        var latencyMedianMillis: Double
        var latencySigma: Double
        var responseBytesMedian: Double
        var requestBytesMedian: Double
        var timeoutMillis: Int

        /// Whether the path (before any query) holds an identifier.
        var pathHasIdentifier: Bool {
            for piece in path {
                if case .literal(let text) = piece, text.contains("?") { return false }
                if piece.isIdentifier { return true }
            }
            return false
        }
    }

    static let methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]
    /// Indices into ``methods``.
    static let get = 0
    static let post = 1
    static let put = 2
    static let patch = 3
    static let delete = 4
    static let head = 5

    private static func route(
        _ name: String?, _ service: String, port: Int = 8080, methods: [(Int, Int)] = [(get, 1)],
        path: [PathPiece], kind: Kind = .read, latency: Double, sigma: Double = 0.6, response: Double,
        request: Double = 0, timeout: Int = 15_000
    ) -> Route {
        Route(
            name: name, service: service, port: port, methods: methods.map { (method: $0.0, weight: $0.1) },
            path: path, kind: kind, latencyMedianMillis: latency, latencySigma: sigma, responseBytesMedian: response,
            requestBytesMedian: request, timeoutMillis: timeout)
    }

    /// The routes in order of popularity: the route at rank r gets a weight proportional to
    /// 1/r (Zipf with exponent 1).
    static let routes: [Route] = [
        route(
            "static_assets", "static", port: 80, path: [.literal("/static/"), .asset], kind: .assets, latency: 2,
            response: 40_000),
        route(
            "catalog_list", "catalog", path: [.literal("/api/v1/products?page="), .page, .literal("&limit=50")],
            latency: 25, response: 12_000),
        route("product_get", "catalog", path: [.literal("/api/v1/products/"), .sku], latency: 12, response: 2_500),
        route("users_item", "users", path: [.literal("/api/v1/users/"), .number], latency: 8, response: 700),
        route(
            "search", "search", port: 9200, path: [.literal("/api/v1/search?q="), .term], kind: .search, latency: 80,
            sigma: 0.9,
            response: 9_000, timeout: 3_000),
        route(
            "healthz", "gateway", port: 80, methods: [(get, 95), (head, 5)], path: [.literal("/healthz")],
            kind: .health,
            latency: 1,
            sigma: 0.3, response: 3),
        route(
            "images", "static", port: 80,
            path: [.literal("/images/"), .sku, .literal("/"), .imageSize, .literal(".jpg")],
            kind: .assets, latency: 4, response: 60_000),
        route("cart_get", "cart", path: [.literal("/api/v1/cart")], latency: 10, response: 1_800),
        route(
            "recommendations", "recommendations", path: [.literal("/api/v1/recommendations?user="), .number],
            latency: 60, sigma: 0.8, response: 5_000, timeout: 2_000),
        route(
            "users_orders", "orders", path: [.literal("/api/v1/users/"), .number, .literal("/orders")], latency: 35,
            sigma: 0.7, response: 4_000),
        route(
            "search_suggest", "search", port: 9200, path: [.literal("/api/v1/search/suggest?q="), .term], latency: 15,
            response: 800, timeout: 1_000),
        route("users_me", "users", path: [.literal("/api/v1/users/me")], latency: 6, sigma: 0.5, response: 900),
        route(
            "readyz", "gateway", port: 80, path: [.literal("/readyz")], kind: .health, latency: 1, sigma: 0.3,
            response: 3),
        route(
            "product_reviews", "reviews", path: [.literal("/api/v1/products/"), .sku, .literal("/reviews")],
            latency: 40, sigma: 0.7, response: 6_000),
        route(
            "graphql", "gateway", port: 80, methods: [(post, 1)], path: [.literal("/graphql")], kind: .create,
            latency: 45, sigma: 0.9,
            response: 3_500, request: 900),
        route(
            "cart_add", "cart", methods: [(post, 1)], path: [.literal("/api/v1/cart/items")], kind: .create,
            latency: 18,
            response: 1_800, request: 200),
        route("inventory_check", "inventory", path: [.literal("/api/v1/inventory/"), .sku], latency: 7, response: 120),
        route(
            "category_products", "catalog", path: [.literal("/api/v1/categories/"), .slug, .literal("/products")],
            latency: 30, response: 10_000),
        route(
            "auth_refresh", "auth", port: 8443, methods: [(post, 1)], path: [.literal("/api/v1/auth/token")],
            kind: .create, latency: 20,
            response: 600, request: 300),
        route("order_get", "orders", path: [.literal("/api/v1/orders/"), .uuid], latency: 15, response: 2_200),
        route(
            "notifications_list", "notifications", path: [.literal("/api/v1/notifications")], latency: 14,
            response: 2_000),
        route("categories", "catalog", path: [.literal("/api/v1/categories")], latency: 5, sigma: 0.4, response: 3_000),
        route("flags", "gateway", port: 80, path: [.literal("/api/v1/flags")], latency: 3, sigma: 0.4, response: 600),
        route(
            "order_status", "orders", path: [.literal("/api/v1/orders/"), .uuid, .literal("/status")], latency: 9,
            sigma: 0.5, response: 150),
        route(
            "auth_login", "auth", port: 8443, methods: [(post, 1)], path: [.literal("/api/v1/auth/login")],
            kind: .login, latency: 90,
            sigma: 0.5, response: 600, request: 120),
        route(
            "checkout", "orders", methods: [(post, 1)], path: [.literal("/api/v1/checkout")], kind: .checkout,
            latency: 300,
            sigma: 0.8, response: 1_200, request: 1_500, timeout: 30_000),
        route(
            "shipping_track", "shipping", path: [.literal("/api/v1/shipments/"), .uuid, .literal("/tracking")],
            latency: 90, sigma: 0.8, response: 1_500),
        route(
            "cart_remove", "cart", methods: [(delete, 1)], path: [.literal("/api/v1/cart/items/"), .number],
            kind: .delete,
            latency: 12,
            response: 0),
        route(
            "payments_charge", "payments", port: 9090, methods: [(post, 1)], path: [.literal("/api/v1/payments")],
            kind: .payments,
            latency: 250, sigma: 0.7, response: 400, request: 700, timeout: 10_000),
        route(
            "users_update", "users", methods: [(put, 8), (patch, 2)], path: [.literal("/api/v1/users/"), .number],
            kind: .create,
            latency: 20, sigma: 0.5, response: 700, request: 600),
        route(
            "favicon", "static", port: 80, path: [.literal("/favicon.ico")], kind: .assets, latency: 1, sigma: 0.3,
            response: 4_286),
        route(
            "shipping_quote", "shipping", methods: [(post, 1)], path: [.literal("/api/v1/shipping/quote")],
            kind: .create,
            latency: 120, response: 500, request: 400),
        route(
            "webhooks", "payments", port: 9090, methods: [(post, 1)], path: [.literal("/api/v1/webhooks/"), .provider],
            kind: .create,
            latency: 30, sigma: 0.5, response: 20, request: 2_500),
        route(
            "reviews_post", "reviews", methods: [(post, 1)],
            path: [.literal("/api/v1/products/"), .sku, .literal("/reviews")],
            kind: .create, latency: 60, response: 300, request: 800),
        route(
            "legacy_redirect", "gateway", port: 80, path: [.literal("/old/"), .number], kind: .redirect, latency: 1,
            sigma: 0.3,
            response: 0),
        route(
            "admin_users", "users", path: [.literal("/admin/users?page="), .page], kind: .admin, latency: 40,
            sigma: 0.5,
            response: 8_000),
        route(
            "upload", "static", port: 80, methods: [(post, 1)], path: [.literal("/api/v1/uploads")], kind: .create,
            latency: 700,
            response: 200, request: 250_000, timeout: 60_000),
        route(
            "report_export", "reports", path: [.literal("/api/v1/reports/"), .number, .literal("/export")],
            latency: 2_500, sigma: 0.7, response: 900_000, timeout: 60_000),
        // Requests no route matched: route_name is null, Envoy answers 404 NR itself. Their
        // paths come from a fixed list without identifiers, so the route label logmetrics
        // derives from the path is the same whether or not it templates identifiers.
        route(
            nil, "gateway", port: 80, methods: [(get, 9), (post, 1)], path: [], kind: .unrouted, latency: 0, sigma: 0,
            response: 0),
        route(
            "orders_cancel", "orders", methods: [(post, 1)],
            path: [.literal("/api/v1/orders/"), .uuid, .literal("/cancel")],
            kind: .create, latency: 40, response: 300, request: 50),
    ]

    static let unroutedPaths = [
        "/wp-login.php", "/.env", "/phpmyadmin/", "/cgi-bin/luci", "/actuator/health", "/server-status",
        "/.git/config", "/api/v0/status", "/robots.txt",
    ]

    // MARK: Outcomes

    /// How a request ended: the response code and flags logmetrics counts, and what Envoy logs
    /// with them.
    struct Outcome: Sendable {
        var code: Int
        var flags: String
        var details: String
        var failureReason: String?
        /// Body bytes of Envoy's own reply, when Envoy answered instead of the upstream.
        var localReplyBytes: Int?
        /// Whether an upstream host was picked (upstream_host and addresses are set).
        var hasUpstream: Bool
    }

    static let connectionRefused =
        "upstream_reset_before_response_started{remote_connection_failure|delayed_connect_error:_Connection_refused}"

    /// Every outcome the corpus uses; routes refer to them by index.
    static let outcomes: [Outcome] = [
        Outcome(code: 200, flags: "-", details: "via_upstream", hasUpstream: true),
        Outcome(code: 201, flags: "-", details: "via_upstream", hasUpstream: true),
        Outcome(code: 204, flags: "-", details: "via_upstream", hasUpstream: true),
        Outcome(code: 301, flags: "-", details: "via_upstream", hasUpstream: true),
        Outcome(code: 404, flags: "-", details: "via_upstream", hasUpstream: true),
        Outcome(code: 404, flags: "NR", details: "route_not_found", localReplyBytes: 0, hasUpstream: false),
        Outcome(code: 429, flags: "RL", details: "local_rate_limited", localReplyBytes: 18, hasUpstream: false),
        Outcome(code: 500, flags: "-", details: "via_upstream", hasUpstream: true),
        Outcome(code: 503, flags: "-", details: "via_upstream", hasUpstream: true),
        Outcome(
            code: 503, flags: "UF", details: connectionRefused,
            failureReason: "delayed_connect_error:_Connection_refused", localReplyBytes: 91, hasUpstream: true),
        Outcome(
            code: 503, flags: "URX,UF", details: connectionRefused,
            failureReason: "delayed_connect_error:_Connection_refused", localReplyBytes: 91, hasUpstream: true),
        Outcome(code: 503, flags: "UH", details: "no_healthy_upstream", localReplyBytes: 19, hasUpstream: false),
        Outcome(
            code: 503, flags: "UC", details: "upstream_reset_before_response_started{connection_termination}",
            localReplyBytes: 95, hasUpstream: true),
        Outcome(code: 504, flags: "UT", details: "response_timeout", localReplyBytes: 24, hasUpstream: true),
        Outcome(code: 0, flags: "DC", details: "downstream_remote_disconnect", localReplyBytes: 0, hasUpstream: true),
    ]

    /// Indices into ``outcomes``, named for the tables that refer to them.
    enum O {
        static let ok200 = 0
        static let created201 = 1
        static let noContent204 = 2
        static let moved301 = 3
        static let notFound404 = 4
        static let noRoute404 = 5
        static let rateLimited429 = 6
        static let error500 = 7
        static let unavailable503 = 8
        static let connectFailure503 = 9
        static let retriedConnectFailure503 = 10
        static let noHealthyUpstream503 = 11
        static let connectionTermination503 = 12
        static let timeout504 = 13
        static let downstreamDisconnect0 = 14
    }

    /// Outcome weights per million requests of a route; the success outcome takes the rest.
    static func outcomeWeights(_ route: Route) -> [Int] {
        var w = Array(repeating: 0, count: outcomes.count)
        switch route.kind {
        case .unrouted:
            w[O.noRoute404] = 1_000_000
            return w
        case .redirect:
            w[O.moved301] = 1_000_000
            return w
        case .health:
            w[O.unavailable503] = 1_000
            w[O.ok200] = 1_000_000 - 1_000
            return w
        default:
            break
        }
        w[O.error500] = 3_000
        w[O.connectFailure503] = 1_000
        w[O.retriedConnectFailure503] = 500
        w[O.noHealthyUpstream503] = 500
        w[O.connectionTermination503] = 500
        w[O.timeout504] = 1_000
        w[O.downstreamDisconnect0] = 2_000
        w[O.notFound404] = route.pathHasIdentifier || route.kind == .assets ? 40_000 : 4_000
        switch route.kind {
        case .search:
            w[O.rateLimited429] = 10_000
            w[O.timeout504] = 10_000
        case .login:
            w[O.rateLimited429] = 30_000
            w[O.notFound404] = 0
        case .payments:
            w[O.connectFailure503] = 10_000
            w[O.retriedConnectFailure503] = 5_000
        case .checkout:
            w[O.error500] = 15_000
            w[O.timeout504] = 5_000
        case .admin:
            w[O.rateLimited429] = 5_000
        default:
            break
        }
        if route.name == "recommendations" { w[O.timeout504] = 10_000 }
        let success =
            switch route.kind {
            case .delete: O.noContent204
            case .create where route.name != "graphql": O.created201
            default: O.ok200
            }
        w[success] = 1_000_000 - w.reduce(0, +)
        return w
    }

    // MARK: Request fields

    static let userAgents: [(String, Int)] = [
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 "
                + "Safari/537.36", 12
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 "
                + "Safari/605.1.15", 4
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                + "Mobile/15E148", 7
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile "
                + "Safari/537.36", 4
        ),
        ("ShopApp/5.12.1 (iOS 17.4; iPhone15,2) CFNetwork/1494.0.7 Darwin/23.4.0", 12),
        ("okhttp/4.12.0", 20), ("Go-http-client/2.0", 10), ("python-requests/2.31.0", 6), ("curl/8.5.0", 5),
        ("grpc-go/1.63.2", 5), ("kube-probe/1.30", 4),
        ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", 2),
    ]

    static let authorities: [(String, Int)] = [
        ("shop.example.com", 60), ("api.shop.example.com", 35), ("m.shop.example.com", 5),
    ]

    static let searchTerms = [
        "shoes", "red+dress", "laptop", "usb-c+cable", "coffee", "tent", "lego", "blue%20jeans", "phone+case", "desk",
    ]
    static let slugs = ["shoes", "electronics", "garden", "toys", "books", "kitchen", "outdoor", "beauty"]
    static let assets = [
        "app.3f9c2e1.js", "vendor.88a1b0c.js", "main.4d2c9aa.css", "logo.svg", "fonts/inter-var.woff2",
        "sprite.a91b.png", "runtime.0c1d.js",
    ]
    static let imageSizes = ["thumb", "small", "medium", "large"]
    static let providers = ["stripe", "github", "sendgrid"]

    /// The gateway pod's own address: downstream_local_address and upstream_local_address.
    static let gatewayAddress: UInt32 = 0x0AF4_0011  // 10.244.0.17
}
