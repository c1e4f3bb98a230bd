import CCrypt
import Foundation
import Synchronization

/// HTTP basic authentication against bcrypt hashes, as the Prometheus exporter web configuration
/// (`basic_auth_users`) gives them.
///
/// A bcrypt check takes tens of milliseconds by design; it runs on the thread pool, never on an
/// event loop, one at a time. The last password that passed is kept per user, so that a
/// scraper's repeated requests pay for one hash, and recent failures are kept too; a request
/// that needs a hash while another is running is refused at once rather than queued.
public final class BasicAuthenticator: Sendable {
    /// What a request's credentials come to without hashing, when that is known.
    public enum Quick: Sendable, Equatable {
        case allowed
        case refused
        /// A bcrypt check is needed (``check(authorization:)``).
        case needsCheck
        /// A check is needed but another one is running: answered at once rather than queued,
        /// so that a flood of wrong passwords cannot hold the thread pool.
        case busy
    }

    private let users: [[UInt8]: String]
    private struct State {
        var passed: [[UInt8]: [UInt8]] = [:]
        /// Credentials that failed lately, so that repeating them costs no hash; bounded.
        var failed: Set<[UInt8]> = []
        var checking = false
    }
    private let state = Mutex(State())
    /// Hashed against for unknown users, so that a wrong user takes as long as a wrong password.
    private let decoy: String

    /// - Throws: ``BasicAuthenticatorError`` for a hash that is not bcrypt with a cost of 4 to 31.
    public init(users: [String: String]) throws(BasicAuthenticatorError) {
        var byBytes: [[UInt8]: String] = [:]
        for (user, hash) in users {
            let prefixes = ["$2a$", "$2b$", "$2y$"]
            let bytes = Array(hash.utf8)
            let cost = bytes.count == 60 ? Int(String(decoding: bytes[4..<6], as: UTF8.self)) : nil
            guard prefixes.contains(where: hash.hasPrefix), let cost, (4...31).contains(cost), bytes[6] == 0x24 else {
                throw .notBcrypt(user: user)
            }
            byBytes[Array(user.utf8)] = hash
        }
        self.users = byBytes
        decoy = users.values.first ?? "$2b$10$0000000000000000000000000000000000000000000000000000"
    }

    /// The user and password of an `Authorization: Basic` value, as bytes.
    static func credentials(_ authorization: String?) -> (user: [UInt8], password: [UInt8])? {
        guard let authorization, authorization.utf8.count < 4096 else { return nil }
        let parts = authorization.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "basic",
            let decoded = Data(base64Encoded: String(parts[1]).trimmingCharacters(in: .whitespaces)),
            let colon = decoded.firstIndex(of: UInt8(ascii: ":"))
        else { return nil }
        return (Array(decoded[..<colon]), Array(decoded[decoded.index(after: colon)...]))
    }

    /// Cheap, on the event loop: the answer when the credentials passed or failed lately.
    public func quick(authorization: String?) -> Quick {
        guard let (user, password) = Self.credentials(authorization), !password.contains(0) else { return .refused }
        return state.withLock { state in
            if let known = state.passed[user], Self.constantTimeEqual(known, password) { return .allowed }
            if state.failed.contains(user + [0] + password) { return .refused }
            if state.checking { return .busy }
            state.checking = true
            return .needsCheck
        }
    }

    /// The bcrypt check, on the thread pool, after ``quick(authorization:)`` said `.needsCheck`.
    public func check(authorization: String?) -> Bool {
        defer { state.withLock { $0.checking = false } }
        // A password with a NUL would be cut short by crypt(3): refused by quick().
        guard let (user, password) = Self.credentials(authorization) else { return false }
        let hash = users[user]
        let matches =
            (password + [0]).withUnsafeBufferPointer { passwordPointer in
                (hash ?? decoy).withCString { hashPointer in
                    passwordPointer.withMemoryRebound(to: CChar.self) { ccrypt_matches($0.baseAddress!, hashPointer) }
                }
            } == 1 && hash != nil
        state.withLock { state in
            if matches {
                state.passed[user] = password
            } else {
                if state.failed.count >= 256 { state.failed.removeAll() }
                state.failed.insert(user + [0] + password)
            }
        }
        return matches
    }

    /// Both steps at once (for tests and callers without an event loop).
    public func allows(authorization: String?) -> Bool {
        switch quick(authorization: authorization) {
        case .allowed: true
        case .refused, .busy: false
        case .needsCheck: check(authorization: authorization)
        }
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
