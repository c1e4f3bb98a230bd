import Foundation
import Testing

@testable import ScrapeServer

@Suite struct BasicAuthenticatorTests {
    /// bcrypt of "s3cret" at cost 4, made with crypt(3).
    static let hash = "$2b$04$Hbg0/B7Ji1infKfBgis.lu5eCXYGJ8wxbU5t0pnkH/fSXBWooD/nG"

    static func header(_ credentials: String) -> String {
        "Basic " + Data(credentials.utf8).base64EncodedString()
    }

    @Test func theRightPasswordPassesAndOthersDoNot() throws {
        let authenticator = try BasicAuthenticator(users: ["prometheus": Self.hash])
        #expect(authenticator.allows(authorization: Self.header("prometheus:s3cret")))
        // Again, now from what it remembers.
        #expect(authenticator.allows(authorization: Self.header("prometheus:s3cret")))
        #expect(authenticator.allows(authorization: "basic " + Data("prometheus:s3cret".utf8).base64EncodedString()))
        #expect(!authenticator.allows(authorization: Self.header("prometheus:s3cre")))
        #expect(!authenticator.allows(authorization: Self.header("prometheus:s3cret2")))
        #expect(!authenticator.allows(authorization: Self.header("nobody:s3cret")))
        #expect(!authenticator.allows(authorization: Self.header("prometheus")))
        #expect(!authenticator.allows(authorization: Self.header("prometheus:s3cret\u{0}tail")))
        #expect(!authenticator.allows(authorization: "Bearer abc"))
        #expect(!authenticator.allows(authorization: "Basic !!!not-base64"))
        #expect(!authenticator.allows(authorization: nil))
    }

    @Test func onlyBcryptHashesAreAccepted() {
        #expect(throws: BasicAuthenticatorError.notBcrypt(user: "a")) {
            try BasicAuthenticator(users: ["a": "plaintext"])
        }
        #expect(throws: BasicAuthenticatorError.notBcrypt(user: "b")) {
            try BasicAuthenticator(users: ["b": "$1$abcdefgh$0123456789012345678901"])
        }
    }

    /// One bcrypt at a time: a second request that needs one is answered at once, and credentials
    /// that passed or failed lately need none.
    @Test func checksRunOneAtATimeAndRecentAnswersNeedNone() throws {
        let authenticator = try BasicAuthenticator(users: ["prometheus": Self.hash])
        let right = Self.header("prometheus:s3cret")
        let wrong = Self.header("prometheus:guess")
        #expect(authenticator.quick(authorization: right) == .needsCheck)
        #expect(authenticator.quick(authorization: wrong) == .busy)
        #expect(authenticator.check(authorization: right))
        #expect(authenticator.quick(authorization: right) == .allowed)
        #expect(authenticator.quick(authorization: wrong) == .needsCheck)
        #expect(!authenticator.check(authorization: wrong))
        #expect(authenticator.quick(authorization: wrong) == .refused)
        // An unknown user is hashed too (against a decoy), so it takes as long as a wrong password.
        #expect(authenticator.quick(authorization: Self.header("nobody:x")) == .needsCheck)
        #expect(!authenticator.check(authorization: Self.header("nobody:x")))
    }

    @Test func aCostOutsideBcryptsRangeIsRefusedAtStart() {
        let badCost = "$2b$99$" + String(Self.hash.dropFirst(7))
        #expect(throws: BasicAuthenticatorError.notBcrypt(user: "c")) { try BasicAuthenticator(users: ["c": badCost]) }
    }
}
