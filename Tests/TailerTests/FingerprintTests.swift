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

    @Test func coversAtMost256Bytes() {
        let long = String(repeating: "x", count: 1000) + "\n"
        let (fingerprint, complete) = fingerprint(long)
        #expect(fingerprint.length == Fingerprint.maximumLength)
        #expect(complete)
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
