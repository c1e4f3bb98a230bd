import Testing

@testable import Aggregation

@Suite struct RouteMatcherTests {
    func match(
        _ matcher: RouteMatcher, _ path: String?, method: String? = "GET", authority: String? = "shop.example.com",
        routeName: String? = nil
    ) -> String? {
        func bytes<R>(_ s: String?, _ body: (UnsafeBufferPointer<UInt8>?) -> R) -> R {
            guard let s else { return body(nil) }
            return Array(s.utf8).withUnsafeBufferPointer { body($0) }
        }
        let index = bytes(method) { m in
            bytes(path) { p in
                bytes(authority) { a in
                    bytes(routeName) { r in matcher.match(method: m, path: p, authority: a, routeName: r) }
                }
            }
        }
        return index.map { matcher.rules[$0].name }
    }

    let issueExample = try! RouteMatcher(rules: [
        RouteRule(name: "users-item", methods: ["GET", "PUT", "DELETE"], path: .template("/users/{id}")),
        RouteRule(name: "user-orders", path: .template("/users/{id}/orders")),
        RouteRule(name: "static", path: .prefix("/static/")),
        RouteRule(name: "v2-api", path: .regex("^/v2/"), authority: "*.shop.example.com"),
    ])

    @Test func theConfigurationExampleOfTheDocs() {
        #expect(match(issueExample, "/users/42") == "users-item")
        #expect(match(issueExample, "/users/42", method: "PUT") == "users-item")
        #expect(match(issueExample, "/users/42", method: "POST") == nil)
        #expect(match(issueExample, "/users/42/orders", method: "POST") == "user-orders")
        #expect(match(issueExample, "/users/42/") == "users-item", "a trailing slash is the same path")
        #expect(match(issueExample, "/users//orders") == nil, "{id} needs a non-empty segment")
        #expect(match(issueExample, "/static/app.js") == "static")
        #expect(match(issueExample, "/v2/things", authority: "api.shop.example.com") == "v2-api")
        #expect(match(issueExample, "/v2/things", authority: "API.Shop.Example.com:8443") == "v2-api")
        #expect(match(issueExample, "/v2/things", authority: "shop.example.org") == nil)
        #expect(match(issueExample, "/v2/things", authority: nil) == nil)
        #expect(match(issueExample, "/other") == nil)
        #expect(match(issueExample, nil) == nil)
    }

    @Test func firstMatchingRuleWinsWhateverItsKind() throws {
        let matcher = try RouteMatcher(rules: [
            RouteRule(name: "regex-first", path: .regex("^/a/b$")),
            RouteRule(name: "template", path: .template("/a/{x}")),
            RouteRule(name: "exact", path: .exact("/a/b")),
            RouteRule(name: "prefix", path: .prefix("/a")),
            RouteRule(name: "catch-all"),
        ])
        #expect(match(matcher, "/a/b") == "regex-first")
        #expect(match(matcher, "/a/c") == "template")
        #expect(match(matcher, "/a") == "prefix")
        #expect(match(matcher, "/zzz") == "catch-all")
    }

    @Test func literalSegmentsAndParametersBothCount() throws {
        let matcher = try RouteMatcher(rules: [
            RouteRule(name: "param", path: .template("/users/{id}")),
            RouteRule(name: "me", path: .template("/users/me")),
            RouteRule(name: "files", path: .template("/files/{path...}")),
            RouteRule(name: "root", path: .template("/")),
        ])
        #expect(match(matcher, "/users/me") == "param", "rule order, not specificity, decides")
        #expect(match(matcher, "/files") == "files")
        #expect(match(matcher, "/files/a/b/c.txt") == "files")
        #expect(match(matcher, "/") == "root")
    }

    @Test func routeNameAndMethodConstraints() throws {
        let matcher = try RouteMatcher(rules: [
            RouteRule(name: "gw-reads", methods: ["get", "HEAD"], routeName: "httproute/shop/reads/rule/0")
        ])
        #expect(match(matcher, "/x", method: "HEAD", routeName: "httproute/shop/reads/rule/0") == "gw-reads")
        #expect(match(matcher, "/x", method: "GET", routeName: "other") == nil)
    }

    /// Regular expression results are remembered per path; the method and authority are still
    /// checked every time, and a later regular expression still gets its turn.
    @Test func rememberedRegexResultsStillHonourEveryCondition() throws {
        let matcher = try RouteMatcher(rules: [
            RouteRule(name: "v2-writes", methods: ["POST"], path: .regex("^/v2/")),
            RouteRule(name: "v2-items", path: .regex("^/v2/items/[0-9]+$")),
            RouteRule(name: "other", path: .regex("^/other")),
        ])
        for _ in 0..<3 {
            #expect(match(matcher, "/v2/items/7", method: "POST") == "v2-writes")
            #expect(match(matcher, "/v2/items/7", method: "GET") == "v2-items")
            #expect(match(matcher, "/v2/list", method: "GET") == nil)
            #expect(match(matcher, "/nothing") == nil)
            #expect(match(matcher, "/other/x") == "other")
        }
    }

    @Test func invalidRulesAreRejectedWithTheirNumber() {
        #expect(throws: RouteRuleError.invalidTemplate(rule: 0, template: "users/{id}", reason: "must start with /")) {
            try RouteMatcher(rules: [RouteRule(name: "a", path: .template("users/{id}"))])
        }
        #expect(throws: RouteRuleError.self) {
            try RouteMatcher(rules: [RouteRule(name: "a", path: .template("/a{b}"))])
        }
        #expect(throws: RouteRuleError.self) {
            try RouteMatcher(rules: [RouteRule(name: "a", path: .template("/{x...}/b"))])
        }
        #expect(throws: RouteRuleError.self) {
            try RouteMatcher(rules: [RouteRule(name: "a", path: .regex("(unclosed"))])
        }
        #expect(throws: RouteRuleError.emptyName(rule: 1)) {
            try RouteMatcher(rules: [RouteRule(name: "a"), RouteRule(name: "")])
        }
    }

    @Test func fiveHundredRulesStillFindTheFirstMatch() throws {
        var rules: [RouteRule] = []
        for k in 0..<500 {
            rules.append(RouteRule(name: "r\(k)", path: .template("/svc\(k % 50)/v\(k / 50)/{id}/items")))
        }
        rules.append(RouteRule(name: "fallback", path: .prefix("/")))
        let matcher = try RouteMatcher(rules: rules)
        #expect(match(matcher, "/svc7/v3/123/items") == "r157")
        #expect(match(matcher, "/svc7/v3/123/other") == "fallback")
    }

    @Test func globs() {
        func glob(_ pattern: String, _ text: String) -> Bool {
            Array(text.utf8).withUnsafeBufferPointer { RouteMatcher.globMatches(Array(pattern.utf8), $0) }
        }
        #expect(glob("*.example.com", "a.example.com"))
        #expect(glob("*.example.com", "a.b.example.com"))
        #expect(!glob("*.example.com", "example.com"))
        #expect(glob("api-?.example.com", "api-1.example.com"))
        #expect(glob("*", ""))
        #expect(!glob("a*b", "acd"))
    }
}

@Suite struct PathTemplateTests {
    func template(_ path: String, depth: Int = 8) -> String {
        var out: [UInt8] = []
        Array(path.utf8).withUnsafeBufferPointer { PathTemplate(maxDepth: depth).write($0, into: &out) }
        return String(decoding: out, as: UTF8.self)
    }

    @Test func identifiersBecomePlaceholders() {
        #expect(template("/users/42/orders") == "/users/{id}/orders")
        #expect(template("/orders/6f1c2a9e-3b7d-4e15-9a0c-2d8e5f7b1c34") == "/orders/{id}")
        #expect(template("/blobs/deadbeefcafef00d1234") == "/blobs/{id}")
        #expect(template("/t/AbC123xyz789QRS456tuv") == "/t/{id}")
        #expect(template("/v1/models/gpt-4o/infer") == "/v1/models/gpt-4o/infer")
        #expect(template("/inventory/sku-00123") == "/inventory/sku-00123")
        #expect(template("/api/v2/users") == "/api/v2/users")
        #expect(template("/cafe") == "/cafe", "short hex-looking words stay")
    }

    @Test func queryIsDroppedAndDepthIsCapped() {
        #expect(template("/search?q=1&page=2") == "/search")
        #expect(template("/a/b/c/d/e", depth: 3) == "/a/b/c/{rest...}")
        #expect(template("/") == "/")
        #expect(template("") == "")
    }
}

extension RouteMatcherTests {
    /// Answers are remembered per request; a remembered answer must be the one the rules give,
    /// whichever of method, authority and route name differ, absent or empty, and past the bound
    /// where the memory starts over.
    @Test func rememberedAnswersAreTheRulesAnswers() throws {
        let rules = issueExample.rules + [RouteRule(name: "by-name", routeName: "checkout")]
        let remembering = try RouteMatcher(rules: rules)
        let paths = ["/users/42", "/users/42/orders", "/static/a.css", "/v2/x", "/nope", "", "/users/"]
        let methods: [String?] = ["GET", "POST", "", nil]
        let authorities: [String?] = ["api.shop.example.com", "shop.example.com", "", nil]
        let routeNames: [String?] = ["checkout", "", nil]
        for _ in 0..<2 {
            for path in paths {
                for method in methods {
                    for authority in authorities {
                        for routeName in routeNames {
                            let fresh = try RouteMatcher(rules: rules)
                            #expect(
                                match(remembering, path, method: method, authority: authority, routeName: routeName)
                                    == match(fresh, path, method: method, authority: authority, routeName: routeName),
                                "\(path) \(method ?? "nil") \(authority ?? "nil") \(routeName ?? "nil")")
                        }
                    }
                }
            }
        }
        // Around the memory's key capacity, with fields absent after a long one.
        for length in 240...260 {
            let long = String(repeating: "a", count: length)
            for (method, authority, routeName) in [
                (long, nil, nil), ("GET", long, nil), ("GET", "x.shop.example.com", long),
            ]
                as [(String?, String?, String?)]
            {
                let fresh = try RouteMatcher(rules: rules)
                for _ in 0..<2 {
                    #expect(
                        match(remembering, "/v2/\(length)", method: method, authority: authority, routeName: routeName)
                            == match(fresh, "/v2/\(length)", method: method, authority: authority, routeName: routeName)
                    )
                }
            }
        }
        for k in 0..<40_000 {
            let path = k % 2 == 0 ? "/users/\(k)" : "/static/\(k)"
            #expect(match(remembering, path) == (k % 2 == 0 ? "users-item" : "static"))
        }
        #expect(match(remembering, "/users/42", method: "POST") == nil)
    }
}
