import Foundation
import HTTPClient
import Synchronization

/// Builds the requests to one API server: URLs with their query, and the credentials.
struct APIConnection: Sendable {
    let endpoint: KubernetesConfiguration.Endpoint
    let timing: KubernetesConfiguration.Timing
    let token: TokenSource?

    init(endpoint: KubernetesConfiguration.Endpoint, timing: KubernetesConfiguration.Timing) {
        self.endpoint = endpoint
        self.timing = timing
        self.token = endpoint.tokenFile.map { TokenSource(path: $0, refreshInterval: timing.tokenRefreshInterval) }
    }

    /// `GET <base><path>?<query>`, with a total timeout (nil: none).
    func request(path: String, query: [(String, String)], timeout: Duration?) -> HTTPRequest {
        var url = endpoint.baseURL + path
        if !query.isEmpty {
            url += "?" + query.map { "\($0.0)=\(Self.percentEncoded($0.1))" }.joined(separator: "&")
        }
        var headers: [String] = []
        if let token = token?.current() { headers.append("Authorization: Bearer \(token)") }
        var request = HTTPRequest(
            url: url, headers: headers, caFile: endpoint.caFile, connectTimeout: timing.connectTimeout,
            totalTimeout: timing.connectTimeout + (timeout ?? .zero))
        request.userAgent = "logmetrics (kubernetes metadata)"
        return request
    }

    /// The collection path of `resource`, cluster-wide or in one namespace.
    static func collectionPath(resource: String, namespace: String?) -> String {
        if let namespace { return "/api/v1/namespaces/\(percentEncoded(namespace))/\(resource)" }
        return "/api/v1/\(resource)"
    }

    /// RFC 3986: everything but unreserved characters is escaped, so selectors such as
    /// `app in (a,b)` and `spec.nodeName=x` survive.
    static func percentEncoded(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                out += "%" + String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]], as: UTF8.self)
            }
        }
        return out
    }
}

/// A bearer token read from a file and read again when it is older than the refresh interval,
/// so that a projected service account token keeps working after the kubelet rotates it.
/// Thread-safe.
final class TokenSource: Sendable {
    let path: String
    let refreshInterval: Duration
    private let cached = Mutex<(token: String?, readAt: ContinuousClock.Instant?)>((nil, nil))

    init(path: String, refreshInterval: Duration) {
        self.path = path
        self.refreshInterval = refreshInterval
    }

    /// The token, or nil when the file cannot be read (the request then goes without one and
    /// the server's 401 is reported).
    func current() -> String? {
        let now = ContinuousClock.now
        return cached.withLock { cached in
            if let readAt = cached.readAt, readAt.duration(to: now) < refreshInterval, cached.token != nil {
                return cached.token
            }
            if let data = FileManager.default.contents(atPath: path) {
                let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                cached = (token.isEmpty ? nil : token, now)
            } else {
                cached = (nil, now)
            }
            return cached.token
        }
    }

    /// Makes the next ``current()`` read the file (after a 401).
    func invalidate() {
        cached.withLock { $0.readAt = nil }
    }
}
