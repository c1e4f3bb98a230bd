extension Int64 {
    /// `self + other` for sums of observations, which are never negative: past `Int64.max` the
    /// sum stays there rather than wrapping to a negative value.
    @inline(__always)
    func addingSaturated(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? .max : sum
    }
}
