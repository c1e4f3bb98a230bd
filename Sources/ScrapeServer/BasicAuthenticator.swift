import CCrypt
import Foundation
import Synchronization

/// HTTP basic authentication against bcrypt hashes, as the Prometheus exporter web configuration
/// (`basic_auth_users`) gives them.
///
/// A bcrypt check takes tens of milliseconds by design; it runs on the thread pool, never on an
/// event loop. The last password that passed is kept per user, so that a scraper's repeated
/// requests pay for one hash (a wrong password is always hashed).
public final class BasicAuthenticator: Sendable {
    private let users: [String: String]
    private let passed = Mutex<[String: [UInt8]]>([:])

    /// - Throws: ``BasicAuthenticatorError`` for a hash that is not bcrypt.
    public init(users: [String: String]) throws(BasicAuthenticatorError) {
        for (user, hash) in users {
            let prefixes = ["$2a$", "$2b$", "$2y$"]
            guard prefixes.contains(where: hash.hasPrefix), hash.count == 60 else {
                throw .notBcrypt(user: user)
            }
        }
        self.users = users
    }

    /// Whether an `Authorization` header value names a user with their password.
    public func allows(authorization: String?) -> Bool {
        guard let authorization, authorization.count < 4096 else { return false }
        let parts = authorization.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "basic",
            let decoded = Data(base64Encoded: String(parts[1]).trimmingCharacters(in: .whitespaces)),
            let colon = decoded.firstIndex(of: UInt8(ascii: ":"))
        else { return false }
        let user = String(decoding: decoded[..<colon], as: UTF8.self)
        let password = Array(decoded[decoded.index(after: colon)...])
        // A password with a NUL would be cut short by crypt(3): refuse it rather than check a prefix.
        guard let hash = users[user], !password.contains(0) else { return false }
        if let known = passed.withLock({ $0[user] }), Self.constantTimeEqual(known, password) { return true }
        let matches = (password + [0]).withUnsafeBufferPointer { passwordPointer in
            hash.withCString { hashPointer in
                passwordPointer.withMemoryRebound(to: CChar.self) { ccrypt_matches($0.baseAddress!, hashPointer) }
            }
        }
        guard matches == 1 else { return false }
        passed.withLock { $0[user] = password }
        return true
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for k in a.indices { difference |= a[k] ^ b[k] }
        return difference == 0
    }
}

public enum BasicAuthenticatorError: Error, Equatable, CustomStringConvertible {
    case notBcrypt(user: String)

    public var description: String {
        switch self {
        case .notBcrypt(let user):
            "the password hash of \(user) is not a bcrypt hash ($2a$, $2b$ or $2y$, 60 characters)"
        }
    }
}
