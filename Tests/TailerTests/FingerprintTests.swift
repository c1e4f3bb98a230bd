import Testing

@testable import Tailer

@Suite struct FingerprintTests {
    func fingerprint(_ text: String) -> (Fingerprint, Bool) {
        Array(text.utf8).withUnsafeBytes { Fingerprint.of(prefix: $0) }
    }

    func matches(_ fingerprint: Fingerprint, _ text: String) -> Bool {
        Array(text.utf8).withUnsafeBytes { fingerprint.matches(prefix: $0) }
    }

    @Test func coversTheFirstLine() {
        let (fingerprint, complete) = fingerprint("first\nsecond\n")
        #expect(fingerprint.length == 6)
        #expect(complete)
        #expect(matches(fingerprint, "first\nanything else"))
        #expect(!matches(fingerprint, "First\n"))
    }

    @Test func coversAtMostItsMaximumLength() {
        let long = String(repeating: "x", count: 3000) + "\n"
        let (fingerprint, complete) = fingerprint(long)
        #expect(fingerprint.length == Fingerprint.maximumLength)
        #expect(complete)
    }

    /// Envoy JSON lines in alphabetical key order share their first few hundred bytes; the
    /// request id further on tells two apart.
    @Test func envoyLinesWithTheSameFirstBytesDiffer() {
        let head =
            #"{"authority":"users.shop.svc.cluster.local:8080","bytes_received":0,"bytes_sent":42,"#
            + #""connection_termination_details":null,"downstream_local_address":"10.0.0.1:8080","#
            + #""downstream_remote_address":"10.0.0.2:40000","duration":1,"method":"GET","path":"/users/1","#
            + #""protocol":"HTTP/1.1","request_id":""#
        let a = fingerprint(head + #"7e2d9599-32c3-4625-8332-ea98d1c348bd"}"# + "\n").0
        #expect(head.utf8.count > 256)
        #expect(!matches(a, head + #"ecffcb09-9423-43fc-8a64-001d96661cc8"}"# + "\n"))
    }

    @Test func aShortFileHasAProvisionalFingerprintThatStaysValidAsItGrows() {
        let (early, complete) = fingerprint("partial")
        #expect(!complete)
        #expect(early.length == 7)
        // The file grows: the early fingerprint still matches, the final one covers the line.
        #expect(matches(early, "partial line\nmore\n"))
        let (final, finalComplete) = fingerprint("partial line\nmore\n")
        #expect(finalComplete && final.length == 13)
        // And a file shorter than the fingerprint cannot match it.
        #expect(!matches(final, "partial"))
    }

    @Test func anEmptyFileMatchesAnything() {
        let (empty, complete) = fingerprint("")
        #expect(empty.length == 0 && !complete)
        #expect(matches(empty, "whatever\n"))
    }

    @Test func isStableAcrossCalls() {
        // FNV-1a 64 of "a\n" (checked against an independent implementation): a fixed value, so saved positions survive restarts and upgrades.
        #expect(fingerprint("a\n").0 == Fingerprint(length: 2, hash: 0x089b_dc07_b544_e7b2))
    }
}
