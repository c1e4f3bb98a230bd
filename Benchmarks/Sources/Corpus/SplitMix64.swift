#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A small, fast, seedable random source (Steele, Lea and Flood's SplitMix64).
///
/// The corpus must be the same for a seed on every run, so the generator never touches the
/// system random source. Draws that decide what is counted (route, outcome) use integers only;
/// floating point is used for sizes and durations, which only shape the bytes.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z &>> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z &>> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z &>> 31)
    }

    /// A uniform integer in `0..<bound`.
    @inline(__always)
    mutating func below(_ bound: Int) -> Int {
        // Multiply-high maps 64 random bits onto the range. Its bias is at most bound / 2^64,
        // under 2^-31 for the largest bound used here (the route weights' total, ~4.3e9): far
        // below anything a count could show.
        Int(truncatingIfNeeded: next().multipliedFullWidth(by: UInt64(bound)).high)
    }

    /// A uniform integer in `range`.
    @inline(__always)
    mutating func within(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + below(range.count)
    }

    /// A uniform double in `[0, 1)` with 53 random bits.
    @inline(__always)
    mutating func unit() -> Double {
        Double(next() &>> 11) * 0x1.0p-53
    }

    /// `true` with probability `perMillion` / 1 000 000.
    @inline(__always)
    mutating func chance(perMillion: Int) -> Bool {
        below(1_000_000) < perMillion
    }

    /// A standard normal deviate (Box-Muller; one of the pair is dropped to keep the state small).
    mutating func normal() -> Double {
        let u = 1 - unit()  // in (0, 1]: log is finite
        let v = unit()
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }

    /// A log-normal deviate with the given median and shape.
    mutating func logNormal(median: Double, sigma: Double) -> Double {
        median * exp(sigma * normal())
    }

    /// An index drawn from cumulative integer weights (the last element is the total).
    @inline(__always)
    mutating func pick(cumulative: [Int]) -> Int {
        let r = below(cumulative[cumulative.count - 1])
        // Linear: the tables are short (a dozen entries) and their heads carry most weight.
        var k = 0
        while cumulative[k] <= r { k += 1 }
        return k
    }
}

/// Running sums of integer weights, for ``SplitMix64/pick(cumulative:)``.
func cumulativeWeights(_ weights: [Int]) -> [Int] {
    var total = 0
    return weights.map { weight in
        total += weight
        return total
    }
}
