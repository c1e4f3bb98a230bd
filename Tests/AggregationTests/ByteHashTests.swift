import Testing

@testable import Aggregation

@Suite struct ByteHashTests {
    /// With a known starting state, two keys that collide are easy to write: pick the second
    /// word to cancel the first one's difference. The seed hides that state.
    @Test func collisionsWrittenForOneSeedDoNotHoldForAnother() {
        let n = 16
        let start: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ (UInt64(n) &* 0xC2B2_AE3D_27D4_EB4F)
        let (w0, w0b, w1): (UInt64, UInt64, UInt64) = (
            0x2f73_6572_6573_752f, 0x2f73_6e6d_6461_612f, 0x3234_2f73_6d65_7469
        )
        let w1b = w1 ^ lane(start, w0) ^ lane(start, w0b)
        let first = [w0, w1]
        let second = [w0b, w1b]
        func hash(_ words: [UInt64], seed: UInt64) -> UInt64 {
            words.withUnsafeBytes { hashBytes($0.bindMemory(to: UInt8.self).baseAddress, n, seed: seed) }
        }
        #expect(first != second)
        #expect(hash(first, seed: 0) == hash(second, seed: 0), "the construction works without a seed")
        var differing = 0
        for seed in 1...64 as ClosedRange<UInt64>
        where hash(first, seed: seed &* 0x9E37_79B9) != hash(second, seed: seed &* 0x9E37_79B9) {
            differing += 1
        }
        #expect(differing == 64)
    }

    @Test func longKeysDependOnEveryByte() {
        var bytes = [UInt8](repeating: 7, count: 100)
        let seed: UInt64 = 42
        let base = bytes.withUnsafeBufferPointer { hashBytes($0.baseAddress, $0.count, seed: seed) }
        var hashes: Set<UInt64> = [base]
        for k in bytes.indices {
            bytes[k] ^= 1
            hashes.insert(bytes.withUnsafeBufferPointer { hashBytes($0.baseAddress, $0.count, seed: seed) })
            bytes[k] ^= 1
        }
        #expect(hashes.count == 101)
    }
}
