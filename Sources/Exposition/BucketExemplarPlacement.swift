/// Decides which exemplar, if any, each bucket of a histogram series carries.
///
/// OpenMetrics wants an exemplar on the bucket its value falls in. A family may give one
/// exemplar per series or one per series and bucket (see ``MetricFamilySnapshot/exemplars``);
/// this type hides the difference from the writers. Nothing is allocated: the common cases
/// (no exemplars, or each exemplar already in its own bucket's slot) cost a few comparisons per
/// series.
struct BucketExemplarPlacement {
    private enum Layout {
        case none
        case perSeries
        case perBucket
    }

    private let exemplars: [Exemplar?]
    private let layout: Layout
    private let bounds: [Double]
    private let width: Int
    // The state of the series selected last.
    private var series = 0
    private var base = 0
    private var perSeriesBucket = -1
    private var hasMisplaced = false

    init(_ exemplars: [Exemplar?]?, columns: HistogramColumns, seriesCount: Int) {
        self.bounds = columns.bounds.values
        self.width = columns.bucketsPerSeries
        let exemplars = exemplars ?? []
        self.exemplars = exemplars
        if exemplars.isEmpty {
            layout = .none
        } else if exemplars.count >= seriesCount * width && width > 1 {
            layout = .perBucket
        } else if exemplars.count >= seriesCount {
            layout = .perSeries
        } else {
            // A column shorter than the series is a bug upstream; writing nothing beats
            // guessing which series the entries belong to.
            layout = .none
        }
    }

    var isEmpty: Bool {
        if case .none = layout { return true }
        return false
    }

    /// Prepares for the buckets of series `index`.
    mutating func select(series index: Int) {
        series = index
        switch layout {
        case .none:
            return
        case .perSeries:
            if let exemplar = exemplars[index] {
                perSeriesBucket = bucketIndex(of: exemplar.value)
            } else {
                perSeriesBucket = -1
            }
        case .perBucket:
            base = index * width
            hasMisplaced = false
            for slot in 0..<width {
                if let exemplar = exemplars[base + slot], bucketIndex(of: exemplar.value) != slot {
                    hasMisplaced = true
                    return
                }
            }
        }
    }

    /// The exemplar to write on `bucket` of the selected series.
    func exemplar(forBucket bucket: Int) -> Exemplar? {
        switch layout {
        case .none:
            return nil
        case .perSeries:
            return bucket == perSeriesBucket ? exemplars[series] : nil
        case .perBucket:
            if let own = exemplars[base + bucket], !hasMisplaced || bucketIndex(of: own.value) == bucket {
                return own
            }
            guard hasMisplaced else { return nil }
            // Rare: an exemplar sits in another bucket's slot. Take the first that falls here.
            for slot in 0..<width where slot != bucket {
                if let candidate = exemplars[base + slot], bucketIndex(of: candidate.value) == bucket {
                    return candidate
                }
            }
            return nil
        }
    }

    /// The bucket whose range `(bounds[i-1], bounds[i]]` holds `value`; NaN compares false
    /// everywhere and so lands in `+Inf`.
    func bucketIndex(of value: Double) -> Int {
        var low = 0
        var high = bounds.count
        while low < high {
            let middle = (low + high) / 2
            if value <= bounds[middle] {
                high = middle
            } else {
                low = middle + 1
            }
        }
        return low
    }
}
