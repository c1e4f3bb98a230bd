#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// SplitMix64 (Steele, Lea and Flood, 2014): a tiny, fast generator whose whole state is one
/// seed, so every property test can name the seed that reproduces a failure.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The kinds of data the property tests draw from.
enum Distribution: CaseIterable, CustomStringConvertible {
    /// Uniform over `[0, 10000)`: many buckets evenly populated.
    case uniform
    /// Log-normal around 50 with a long right tail, like request latencies in milliseconds.
    case logNormal
    /// A handful of integer values, most of them exact Envoy bucket bounds, each repeated many
    /// times: exercises inclusive bounds and ranks that fall on cumulative counts.
    case heavyDuplicates

    var description: String {
        switch self {
        case .uniform: "uniform"
        case .logNormal: "log-normal"
        case .heavyDuplicates: "heavy-duplicates"
        }
    }

    func samples(_ count: Int, using generator: inout SplitMix64) -> [Double] {
        (0..<count).map { _ in sample(using: &generator) }
    }

    func sample(using generator: inout SplitMix64) -> Double {
        switch self {
        case .uniform:
            return Double.random(in: 0..<10_000, using: &generator)
        case .logNormal:
            // Box-Muller; 1 - u keeps the logarithm's argument in (0, 1].
            let u1 = 1 - Double.random(in: 0..<1, using: &generator)
            let u2 = Double.random(in: 0..<1, using: &generator)
            let normal = (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
            return exp(log(50) + 1.5 * normal)
        case .heavyDuplicates:
            let values: [Double] = [1, 1, 1, 5, 5, 10, 25, 25, 25, 25, 100, 250, 1000, 1001, 3, 60000]
            return values[Int.random(in: 0..<values.count, using: &generator)]
        }
    }
}

/// The observation of rank `ceil(q * n)` (1-based) in sorted data: the "lower" nearest-rank
/// quantile, which is what a histogram's cumulative counts locate.
func exactQuantile(_ q: Double, ofSorted values: [Double]) -> Double {
    let rank = Int((q * Double(values.count)).rounded(.up))
    return values[max(rank, 1) - 1]
}

/// The first index whose bound is `>= value`, by plain linear search: the reference the
/// branch-free searches are checked against.
func referenceBucketIndex(_ value: Double, in bounds: [Double]) -> Int {
    bounds.firstIndex { $0 >= value } ?? bounds.count
}

/// Arbitrary-precision unsigned integers, just enough to compare powers exactly.
struct BigUInt: Comparable {
    /// Little-endian 64-bit limbs, without trailing zero limbs.
    private(set) var limbs: [UInt64]

    init(_ value: UInt64) {
        limbs = value == 0 ? [] : [value]
    }

    static func powerOfTwo(_ exponent: Int) -> BigUInt {
        var result = BigUInt(0)
        result.limbs = [UInt64](repeating: 0, count: exponent / 64) + [1 << UInt64(exponent % 64)]
        return result
    }

    func squared() -> BigUInt {
        var product = [UInt64](repeating: 0, count: limbs.count * 2)
        for i in limbs.indices {
            var carry: UInt64 = 0
            for j in limbs.indices {
                let (high, low) = limbs[i].multipliedFullWidth(by: limbs[j])
                let (sum1, overflow1) = product[i + j].addingReportingOverflow(low)
                let (sum2, overflow2) = sum1.addingReportingOverflow(carry)
                product[i + j] = sum2
                carry = high &+ (overflow1 ? 1 : 0) &+ (overflow2 ? 1 : 0)
            }
            product[i + limbs.count] = carry
        }
        while product.last == 0 {
            product.removeLast()
        }
        var result = BigUInt(0)
        result.limbs = product
        return result
    }

    static func < (lhs: BigUInt, rhs: BigUInt) -> Bool {
        if lhs.limbs.count != rhs.limbs.count {
            return lhs.limbs.count < rhs.limbs.count
        }
        for index in lhs.limbs.indices.reversed() where lhs.limbs[index] != rhs.limbs[index] {
            return lhs.limbs[index] < rhs.limbs[index]
        }
        return false
    }
}
