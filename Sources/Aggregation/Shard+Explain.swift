import AccessLogParser

/// What one record does to the metrics, for `logmetrics explain`.
public struct RecordExplanation: Sendable, Equatable {
    public struct Update: Sendable, Equatable {
        public var family: String
        public var labels: [(name: String, value: String)]
        /// `+1`, `+512`, or `observe 0.012` (in the family's unit).
        public var change: String

        public static func == (a: Update, b: Update) -> Bool {
            a.family == b.family && a.change == b.change && a.labels.map(\.name) == b.labels.map(\.name)
                && a.labels.map(\.value) == b.labels.map(\.value)
        }
    }

    public var isTCP: Bool
    /// How the record was classified, whether or not a family carries each label: `route`,
    /// `error_type`, `response_flags`, `slow_request`, `destination_service`, for those the
    /// configuration has.
    public var classification: [(name: String, value: String)] = []
    public var updates: [Update]

    public static func == (a: RecordExplanation, b: RecordExplanation) -> Bool {
        a.isTCP == b.isTCP && a.updates == b.updates && a.classification.map(\.name) == b.classification.map(\.name)
            && a.classification.map(\.value) == b.classification.map(\.value)
    }
}

extension ShardState {
    /// The series `record` updates and how, with label values as they would be exposed. Interns
    /// values like counting does; meant for explaining a few lines, not for the hot path.
    public mutating func explain(_ record: AccessRecord) -> RecordExplanation {
        var resolved = ResolvedDimensions()
        let tcp = Self.isTCP(record)
        var updates: [RecordExplanation.Update] = []
        for family in tcp ? schema.tcpFamilies : schema.httpFamilies {
            let definition = schema.families[family]
            let dims = schema.familyDimensions[family]
            var labels: [(name: String, value: String)] = []
            var flagPosition: Int?
            for (k, dim) in dims.enumerated() {
                if dim == flagDimension {
                    flagPosition = k
                    labels.append((definition.labels[k].name, ""))
                    continue
                }
                let id = resolve(dim, record, &resolved)
                labels.append((definition.labels[k].name, registry.value(dimension: dim, id: id)))
            }
            let name = definition.type == .counter ? definition.name + "_total" : definition.name
            func value(_ field: AccessLogField) -> Int64? { record.int(field) }
            func observed(_ v: Int64) -> String {
                let scaled = Double(v) / Double(definition.observationsPerUnit)
                return "observe \(scaled == scaled.rounded() ? String(Int64(scaled)) : String(scaled))"
            }
            switch definition.observation {
            case .requests, .tcpConnections:
                updates.append(.init(family: name, labels: labels, change: "+1"))
            case .tcpSentBytes:
                updates.append(.init(family: name, labels: labels, change: "+\(value(.bytesSent) ?? 0)"))
            case .tcpReceivedBytes:
                updates.append(.init(family: name, labels: labels, change: "+\(value(.bytesReceived) ?? 0)"))
            case .responseFlags:
                guard let position = flagPosition, let flagsDimension else { break }
                let flags = registry.value(dimension: flagsDimension, id: resolve(flagsDimension, record, &resolved))
                for flag in flags == ResponseFlags.none ? [] : ResponseFlags.split(flags) {
                    var withFlag = labels
                    withFlag[position].value = flag
                    updates.append(.init(family: name, labels: withFlag, change: "+1"))
                }
            case .duration, .tcpDuration:
                if let v = value(.duration) { updates.append(.init(family: name, labels: labels, change: observed(v))) }
            case .requestBytes:
                if let v = value(.bytesReceived) {
                    updates.append(.init(family: name, labels: labels, change: observed(v)))
                }
            case .responseBytes:
                if let v = value(.bytesSent) {
                    updates.append(.init(family: name, labels: labels, change: observed(v)))
                }
            case .upstreamServiceTime:
                if let v = value(.upstreamServiceTime) {
                    updates.append(.init(family: name, labels: labels, change: observed(v)))
                }
            }
        }
        var classification: [(name: String, value: String)] = []
        let kinds: [(SchemaPlan.DimensionKind, String)] = [
            (.route, "route"), (.errorType, "error_type"), (.responseFlags, "response_flags"),
            (.slowRequest, "slow_request"), (.destinationService, "destination_service"),
        ]
        for (kind, name) in kinds where !tcp || kind == .responseFlags || kind == .destinationService {
            guard let dim = plan.kinds.firstIndex(of: kind) else { continue }
            classification.append((name, registry.value(dimension: dim, id: resolve(dim, record, &resolved))))
        }
        return RecordExplanation(isTCP: tcp, classification: classification, updates: updates)
    }
}
