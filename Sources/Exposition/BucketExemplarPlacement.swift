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

    private let exemplars: ExemplarColumn?
    private let layout: Layout
    private let bounds: [Double]
    private let width: Int
    // The state of the series selected last.
    private var base = 0
    /// The column's entries for the selected series' slots.
    private var entries = 0..<0
    private var perSeriesBucket = -1
    private var hasMisplaced = false

    init(_ exemplars: ExemplarColumn?, columns: HistogramColumns, seriesCount: Int) {
        self.bounds = columns.bounds.values
        self.width = columns.bucketsPerSeries
        self.exemplars = exemplars
        guard let exemplars, exemplars.entryCount > 0 else {
            layout = .none
            return
        }
        if exemplars.slotCount >= seriesCount * width && width > 1 {
            layout = .perBucket
        } else if exemplars.slotCount >= seriesCount {
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
        guard let exemplars else { return }
        switch layout {
        case .none:
            return
        case .perSeries:
            base = index
            entries = exemplars.entries(inSlots: index..<(index + 1))
            perSeriesBucket =
                entries.isEmpty ? -1 : bucketIndex(of: exemplars.exemplar(entry: entries.lowerBound).value)
        case .perBucket:
            base = index * width
            entries = exemplars.entries(inSlots: base..<(base + width))
            hasMisplaced = false
            for entry in entries
            where bucketIndex(of: exemplars.exemplar(entry: entry).value) != exemplars.slot(ofEntry: entry) - base {
                hasMisplaced = true
                return
            }
        }
    }

    /// The exemplar to write on `bucket` of the selected series.
    func exemplar(forBucket bucket: Int) -> Exemplar? {
        guard let exemplars, !entries.isEmpty else { return nil }
        switch layout {
        case .none:
            return nil
        case .perSeries:
            return bucket == perSeriesBucket ? exemplars.exemplar(entry: entries.lowerBound) : nil
        case .perBucket:
            for entry in entries where exemplars.slot(ofEntry: entry) == base + bucket {
                let own = exemplars.exemplar(entry: entry)
                if !hasMisplaced || bucketIndex(of: own.value) == bucket { return own }
            }
            guard hasMisplaced else { return nil }
            // Rare: an exemplar sits in another bucket's slot. Take the first that falls here.
            for entry in entries where exemplars.slot(ofEntry: entry) != base + bucket {
                let candidate = exemplars.exemplar(entry: entry)
                if bucketIndex(of: candidate.value) == bucket { return candidate }
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
