/// A histogram that can estimate quantiles of what it has observed.
///
/// Estimates follow PromQL's `histogram_quantile`, so that numbers printed by logmetrics match
/// what Prometheus computes from the exposed series. How far an estimate can be from the true
/// quantile depends on the histogram kind; see ``FixedHistogram/quantile(_:)`` and
/// ``NativeHistogram/quantile(_:)``, and the table in the module documentation
/// (`Histograms.docc`).
public protocol QuantileEstimating {
    /// The estimated `q`-quantile, `q` in `0 ... 1`: NaN if nothing was observed or `q` is NaN,
    /// `-Inf` for `q < 0`, `+Inf` for `q > 1`.
    func quantile(_ q: Double) -> Double
}

/// The quantiles that latency reports and SLO dashboards usually show.
public struct QuantileSummary: Sendable, Hashable {
    /// The median.
    public var p50: Double
    /// The 0.9-quantile.
    public var p90: Double
    /// The 0.95-quantile.
    public var p95: Double
    /// The 0.99-quantile.
    public var p99: Double

    public init(p50: Double, p90: Double, p95: Double, p99: Double) {
        self.p50 = p50
        self.p90 = p90
        self.p95 = p95
        self.p99 = p99
    }
}

extension QuantileEstimating {
    /// The estimated median.
    public var p50: Double { quantile(0.5) }
    /// The estimated 0.9-quantile.
    public var p90: Double { quantile(0.9) }
    /// The estimated 0.95-quantile.
    public var p95: Double { quantile(0.95) }
    /// The estimated 0.99-quantile.
    public var p99: Double { quantile(0.99) }

    /// The estimated p50, p90, p95 and p99, for a report row.
    public func quantileSummary() -> QuantileSummary {
        QuantileSummary(p50: p50, p90: p90, p95: p95, p99: p99)
    }
}
