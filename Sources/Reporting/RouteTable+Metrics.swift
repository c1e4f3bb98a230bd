import Aggregation
import Exposition

extension RouteTable {
    /// The families ``table(fromMetrics:schema:rowsWithDetail:)`` reads: a snapshot of these alone
    /// is enough for it.
    public static func familiesRead(from schema: MetricsSchema) -> Set<String> {
        Set(
            schema.families.filter { definition in
                [.requests, .responseFlags, .duration].contains(definition.observation)
                    && definition.labels.contains(where: { $0.source == .route })
            }.map(\.name))
    }

    /// Rows by route read back from the metrics themselves, whatever the preset and labels: the
    /// request counter, the duration histogram and the per-flag counter are found by what they
    /// observe and their labels by where their values come from. Quantiles are estimated from
    /// the histogram's buckets as `histogram_quantile` does. Empty when no family carries routes.
    ///
    /// Rows are gathered as columns by position and made into ``Row``s once, in their final
    /// order: with 10 000 routes a dictionary of rows and the arrays made from it held 4-5 MB for
    /// a moment each minute (the status page's reading).
    ///
    /// - Parameter rowsWithDetail: when given, only that many of the busiest rows get their
    ///   flags and durations, and the others are rows of counts (``Row/withoutDetail()``): what a
    ///   window keeps of a reading, made without the rest.
    public static func table(
        fromMetrics snapshot: MetricSnapshot, schema: MetricsSchema, rowsWithDetail: Int? = nil
    ) -> Table {
        // Series read at a time from a family with deferred values.
        let piece = 2_048
        var table = Table(grouping: .route)
        func family(_ observation: Observation) -> (FamilyDefinition, MetricFamilySnapshot)? {
            for definition in schema.families
            where definition.observation == observation && definition.labels.contains(where: { $0.source == .route }) {
                if let found = snapshot.families.first(where: { $0.name == definition.name }) {
                    return (definition, found)
                }
            }
            return nil
        }
        func name(_ definition: FamilyDefinition, _ source: LabelSource) -> String? {
            definition.labels.first { $0.source == source }?.name
        }
        guard let (requests, requestValues) = family(.requests), let routeName = name(requests, .route),
            case .integers = requestValues.values
        else { return table }
        let codeName = name(requests, .responseCode)
        let errorTypeName = name(requests, .errorType)
        let slowName = name(requests, .slowRequest)
        let flagsName = name(requests, .responseFlags)
        let perFlag = family(.responseFlags)

        // Per row: its key, and requests, client errors, server errors and slow requests.
        var position: [String: Int] = [:]
        var keys: [String] = []
        var counts: [UInt64] = []
        func at(_ key: String) -> Int {
            if let found = position[key] { return found }
            position[key] = keys.count
            keys.append(key)
            counts += [0, 0, 0, 0]
            return keys.count - 1
        }
        // Flags read from the requests' own label, when no family counts them one by one.
        var labelFlags: [Int: [String: UInt64]] = [:]
        // A family may come in pieces (deferred values): each is read and let go in turn.
        requestValues.forEachPiece(of: piece) { part in
            guard case .integers(let values) = part.values else { return }
            let labels = part.labels
            for (k, value) in zip(labels.indices, values) {
                let row = at(labels.value(named: routeName, k) ?? "")
                counts[4 * row] += value
                if let errorTypeName {
                    let errorType = labels.value(named: errorTypeName, k)
                    if errorType == "client_error" { counts[4 * row + 1] += value }
                    if errorType == "server_error" { counts[4 * row + 2] += value }
                } else {
                    let code = codeName.flatMap { labels.value(named: $0, k) }.flatMap { Int($0) } ?? 0
                    if (400..<500).contains(code) { counts[4 * row + 1] += value }
                    if code >= 500 { counts[4 * row + 2] += value }
                }
                if let slowName, labels.value(named: slowName, k) == "true" { counts[4 * row + 3] += value }
                if perFlag == nil, let flagsName, let flags = labels.value(named: flagsName, k), flags != "-" {
                    for flag in flags.split(separator: ",") {
                        labelFlags[row, default: [:]][String(flag), default: 0] += value
                    }
                }
            }
        }

        // Busiest first, then by key: the table's order, and which rows keep their detail.
        let order = keys.indices.sorted {
            counts[4 * $0] != counts[4 * $1] ? counts[4 * $0] > counts[4 * $1] : keys[$0] < keys[$1]
        }
        var hasDetail = [Bool](repeating: true, count: keys.count)
        if let rowsWithDetail, keys.count > rowsWithDetail {
            for row in order[rowsWithDetail...] { hasDetail[row] = false }
        }
        // Flags and durations, for rows with their detail; a key without requests has no row.
        var detail: [Int: Row] = [:]
        func detailed(_ key: String) -> Int? {
            guard let row = position[key], hasDetail[row] else { return nil }
            return row
        }
        if let (definition, family) = perFlag, let flagName = name(definition, .flag),
            let keyName = name(definition, .route)
        {
            family.forEachPiece(of: piece) { values in
                guard case .integers(let counts) = values.values else { return }
                let labels = values.labels
                for (k, value) in zip(labels.indices, counts) where value > 0 {
                    guard let row = detailed(labels.value(named: keyName, k) ?? "") else { continue }
                    detail[row, default: Row(key: keys[row])].flags[
                        labels.value(named: flagName, k) ?? "", default: 0] +=
                        value
                }
            }
        }
        if let (definition, family) = family(.duration), let keyName = name(definition, .route) {
            let scale = Double(definition.observationsPerUnit)
            family.forEachPiece(of: piece) { values in
                guard case .histograms(let columns) = values.values else { return }
                let bounds = columns.bounds.values.map { $0 * scale }
                let width = columns.bucketsPerSeries
                for index in values.labels.indices {
                    guard let row = detailed(values.labels.value(named: keyName, index) ?? "") else { continue }
                    var made = detail[row] ?? Row(key: keys[row])
                    made.bounds = bounds
                    made.addDurations(columns.bucketCounts[(index * width)..<((index + 1) * width)])
                    made.durationSumMilliseconds += columns.sum(index) * scale
                    detail[row] = made
                }
            }
        }

        table.rows.reserveCapacity(order.count)
        for row in order where counts[4 * row] > 0 {
            var made = detail.removeValue(forKey: row) ?? Row(key: keys[row])
            made.requests = counts[4 * row]
            made.clientErrors = counts[4 * row + 1]
            made.serverErrors = counts[4 * row + 2]
            made.slow = counts[4 * row + 3]
            if let flags = labelFlags[row] { made.flags = flags }
            table.rows.append(hasDetail[row] ? made : made.withoutDetail())
        }
        return table
    }
}
