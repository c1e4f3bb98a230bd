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
}
