// What every writer needs to know about a family beyond its stored properties.
extension MetricFamilySnapshot {
    /// The type the writers declare: the values decide between a histogram and a scalar, so a
    /// mismatch upstream cannot produce samples that contradict their `# TYPE` line.
    var writtenType: MetricType {
        switch values {
        case .histograms:
            return .histogram
        case .integers, .doubles:
            return type == .histogram ? .unknown : type
        }
    }

    /// The number of series that can be written: label sets and value columns should have the
    /// same length, and if a bug upstream breaks that, a short scrape beats a crashed process.
    var writableSeriesCount: Int {
        switch values {
        case .integers(let values):
            return Swift.min(labels.count, values.count)
        case .doubles(let values):
            return Swift.min(labels.count, values.count)
        case .histograms(let columns):
            let width = columns.bucketsPerSeries
            return Swift.min(labels.count, columns.bucketCounts.count / width, columns.scaledSums.count)
        }
    }

    /// The created time of series `index`, if known and writable.
    @inline(__always)
    func createdTime(_ index: Int) -> Double? {
        guard let created, index < created.count else { return nil }
        let value = created[index]
        return value.isFinite && value > 0 ? value : nil
    }

    /// The unit for OpenMetrics' `# UNIT` line, or nil when there is none or the family name does
    /// not end with `_<unit>` (a parser rejects such a line, so leaving it out is the safe choice).
    var writableUnit: String? {
        guard let unit, !unit.isEmpty else { return nil }
        let nameBytes = name.utf8
        let unitBytes = unit.utf8
        guard nameBytes.count > unitBytes.count + 1, nameBytes.suffix(unitBytes.count).elementsEqual(unitBytes) else {
            return nil
        }
        let separator = nameBytes[nameBytes.index(nameBytes.endIndex, offsetBy: -(unitBytes.count + 1))]
        return separator == UInt8(ascii: "_") ? unit : nil
    }
}
