import Aggregation

/// Route rules for the generated shop traffic, as a user would write them for it.
public enum RouteRules {
    /// The corpus's own routes as rules, in the order a user would list them (specific first).
    static let corpusRoutes: [RouteRule] = [
        .init(name: "static_assets", path: .prefix("/static/")),
        .init(name: "catalog_list", methods: ["GET"], path: .exact("/api/v1/products")),
        .init(name: "product_reviews", path: .template("/api/v1/products/{sku}/reviews")),
        .init(name: "product_get", methods: ["GET"], path: .template("/api/v1/products/{sku}")),
        .init(name: "users_me", path: .exact("/api/v1/users/me")),
        .init(name: "users_orders", path: .template("/api/v1/users/{id}/orders")),
        .init(name: "users_item", methods: ["GET"], path: .template("/api/v1/users/{id}")),
        .init(name: "users_update", methods: ["PUT", "PATCH"], path: .template("/api/v1/users/{id}")),
        .init(name: "search_suggest", path: .exact("/api/v1/search/suggest")),
        .init(name: "search", path: .exact("/api/v1/search")),
        .init(name: "healthz", path: .exact("/healthz")),
        .init(name: "readyz", path: .exact("/readyz")),
        .init(name: "images", path: .template("/images/{sku}/{size...}")),
        .init(name: "cart_items", path: .template("/api/v1/cart/items/{id}")),
        .init(name: "cart_add", methods: ["POST"], path: .exact("/api/v1/cart/items")),
        .init(name: "cart_get", path: .exact("/api/v1/cart")),
        .init(name: "recommendations", path: .exact("/api/v1/recommendations")),
        .init(name: "graphql", methods: ["POST"], path: .exact("/graphql")),
        .init(name: "inventory_check", path: .template("/api/v1/inventory/{sku}")),
        .init(name: "category_products", path: .template("/api/v1/categories/{slug}/products")),
        .init(name: "categories", path: .exact("/api/v1/categories")),
        .init(name: "auth_refresh", path: .exact("/api/v1/auth/token")),
        .init(name: "auth_login", path: .exact("/api/v1/auth/login")),
        .init(name: "order_status", path: .template("/api/v1/orders/{id}/status")),
        .init(name: "order_cancel", path: .template("/api/v1/orders/{id}/cancel")),
        .init(name: "order_get", path: .template("/api/v1/orders/{id}")),
        .init(name: "notifications", path: .exact("/api/v1/notifications")),
        .init(name: "flags", path: .exact("/api/v1/flags")),
        .init(name: "checkout", methods: ["POST"], path: .exact("/api/v1/checkout")),
        .init(name: "shipping_track", path: .template("/api/v1/shipments/{id}/tracking")),
        .init(name: "payments", path: .exact("/api/v1/payments")),
        .init(name: "favicon", path: .exact("/favicon.ico")),
        .init(name: "shipping_quote", path: .exact("/api/v1/shipping/quote")),
        .init(name: "webhooks", methods: ["POST"], path: .template("/api/v1/webhooks/{provider}")),
        .init(name: "legacy", path: .prefix("/old/")),
        .init(name: "admin", path: .prefix("/admin/")),
        .init(name: "uploads", path: .exact("/api/v1/uploads")),
        .init(name: "report_export", path: .template("/api/v1/reports/{id}/export")),
    ]

    /// `count` rules: the corpus's routes, and rules for other services that never match (as in
    /// a configuration shared by several gateways), with a few authority globs, prefixes and
    /// regular expressions among them.
    public static func rules(count: Int) -> [RouteRule] {
        var rules = Array(corpusRoutes.prefix(count))
        var k = 0
        while rules.count < count {
            let service = "svc\(k / 4)"
            switch k % 8 {
            case 0: rules.append(.init(name: "\(service)_items", path: .template("/api/v2/\(service)/{id}/items")))
            case 1:
                rules.append(
                    .init(name: "\(service)_get", methods: ["GET"], path: .template("/api/v2/\(service)/{id}")))
            case 2: rules.append(.init(name: "\(service)_list", path: .exact("/api/v2/\(service)")))
            case 3:
                rules.append(
                    .init(
                        name: "\(service)_tenant", path: .template("/t/{tenant}/\(service)/{id}"),
                        authority: "*.internal"))
            case 4: rules.append(.init(name: "\(service)_files", path: .template("/files/\(service)/{path...}")))
            case 5: rules.append(.init(name: "\(service)_legacy", path: .prefix("/legacy/\(service)/")))
            case 6 where k % 32 == 6:
                rules.append(.init(name: "\(service)_re", path: .regex("^/rx/\(service)/[0-9]+$")))
            default: rules.append(.init(name: "\(service)_v3", path: .template("/api/v3/\(service)/{id}")))
            }
            k += 1
        }
        return rules
    }
}
