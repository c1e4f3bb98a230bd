/// A user rule that names the route of matching requests. Rules are tried in order; the first
/// that matches wins.
public struct RouteRule: Sendable, Equatable {
    public enum PathMatch: Sendable, Equatable {
        /// The whole path, exactly.
        case exact(String)
        /// Paths starting with this.
        case prefix(String)
        /// Segment by segment: `{name}` matches one non-empty segment, a final `{name...}` the
        /// rest of the path (zero or more segments). `/users/{id}/orders`, `/files/{path...}`.
        case template(String)
        /// A regular expression searched in the path (anchor it with `^` and `$` as needed).
        case regex(String)
    }

    public var name: String
    /// Request methods, upper case; empty matches any.
    public var methods: [String]
    public var path: PathMatch?
    /// A glob for the request authority (`*.shop.example.com`): `*` matches any run of
    /// characters, `?` one; case is ignored, and the port too unless the glob has one.
    public var authority: String?
    /// Envoy's `route_name`, exactly.
    public var routeName: String?

    public init(
        name: String, methods: [String] = [], path: PathMatch? = nil, authority: String? = nil, routeName: String? = nil
    ) {
        self.name = name
        self.methods = methods
        self.path = path
        self.authority = authority
        self.routeName = routeName
    }
}

public enum RouteRuleError: Error, Equatable, CustomStringConvertible {
    case invalidTemplate(rule: Int, template: String, reason: String)
    case invalidRegex(rule: Int, pattern: String, reason: String)
    case emptyName(rule: Int)

    public var description: String {
        switch self {
        case .invalidTemplate(let rule, let template, let reason):
            "route \(rule + 1): path template \"\(template)\": \(reason)"
        case .invalidRegex(let rule, let pattern, let reason):
            "route \(rule + 1): path_regex \"\(pattern)\": \(reason)"
        case .emptyName(let rule):
            "route \(rule + 1): a route needs a name"
        }
    }
}
