/// How a response body is encoded on the wire.
public enum ContentCoding: Sendable, Hashable {
    case identity
    case gzip

    /// The `Content-Encoding` header value, or nil for identity (no header is sent).
    public var headerValue: String? {
        switch self {
        case .identity: return nil
        case .gzip: return "gzip"
        }
    }

    /// The coding to use given a request's `Accept-Encoding` header.
    ///
    /// gzip when the header gives it (or `*`) a weight above 0 and the header does not name
    /// `identity` with a higher weight; identity otherwise, including when the header is
    /// missing: a client that says nothing gets plain bytes. If the header excludes both (say
    /// `gzip;q=0, identity;q=0`), identity is sent anyway rather than no answer at all.
    public static func negotiate(acceptEncoding: String?) -> ContentCoding {
        guard let acceptEncoding, !acceptEncoding.isEmpty else { return .identity }
        var gzipQuality: Double?
        var identityQuality: Double?
        var wildcardQuality: Double?
        // Only an explicit `identity` weight can outrank gzip: identity is always acceptable,
        // but a client that lists gzip wants it.
        for range in MediaRange.parseList(acceptEncoding) {
            switch range.value {
            case "gzip", "x-gzip": gzipQuality = max(gzipQuality ?? 0, range.quality)
            case "identity": identityQuality = range.quality
            case "*": wildcardQuality = range.quality
            default: continue
            }
        }
        let gzip = gzipQuality ?? wildcardQuality ?? 0
        let identity = identityQuality ?? 0
        return gzip > 0 && gzip >= identity ? .gzip : .identity
    }
}
