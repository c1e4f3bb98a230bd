/// What became of one log line. Every line ends in exactly one outcome.
public enum LineOutcome: Equatable, Sendable {
    /// An access-log record, handed on to classification.
    case parsed
    /// Not an access-log record, on purpose: an empty line, or something else the stream carries
    /// (Envoy's and pilot-agent's own log lines in the istio-proxy stream, another app's JSON).
    case skipped(SkipReason)
    /// Meant to be a record but unusable.
    case malformed(MalformedReason)
    /// Longer than the line-length bound; skipped to its newline without being buffered whole.
    case oversized
}

public enum SkipReason: UInt8, CaseIterable, Sendable, CustomStringConvertible {
    case empty
    /// Not JSON and not an access-log TEXT line.
    case notAccessLog
    /// A JSON object without any of the keys that make an access-log record.
    case notAccessRecord

    public var description: String {
        switch self {
        case .empty: "empty"
        case .notAccessLog: "not_access_log"
        case .notAccessRecord: "not_access_record"
        }
    }
}

public enum MalformedReason: UInt8, CaseIterable, Sendable, CustomStringConvertible {
    /// The JSON ended before its object closed (a cut or half-written line).
    case truncatedJSON
    /// A JSON syntax error.
    case invalidJSON
    /// Objects or arrays nested deeper than ``JSONRecordScanner/maxDepth``.
    case nestingTooDeep
    /// A line shaped like Istio's TEXT format whose fields could not be split.
    case invalidText
    /// A CRI or docker json-file line whose envelope could not be read.
    case invalidContainerRecord
    /// A CRI or docker partial record whose final part never came (end of input).
    case incompletePartial

    public var description: String {
        switch self {
        case .truncatedJSON: "truncated_json"
        case .invalidJSON: "invalid_json"
        case .nestingTooDeep: "nesting_too_deep"
        case .invalidText: "invalid_text"
        case .invalidContainerRecord: "invalid_container_record"
        case .incompletePartial: "incomplete_partial"
        }
    }
}

/// Counts of line outcomes, one slot per outcome and reason.
public struct LineCounts: Sendable, Equatable {
    public var parsed: UInt64 = 0
    public var oversized: UInt64 = 0
    public var skipped: InlineArray<3, UInt64> = .init(repeating: 0)
    public var malformed: InlineArray<6, UInt64> = .init(repeating: 0)

    public init() {}

    @inlinable
    public mutating func count(_ outcome: LineOutcome) {
        switch outcome {
        case .parsed: parsed &+= 1
        case .oversized: oversized &+= 1
        case .skipped(let reason): skipped[Int(reason.rawValue)] &+= 1
        case .malformed(let reason): malformed[Int(reason.rawValue)] &+= 1
        }
    }

    public subscript(skipped reason: SkipReason) -> UInt64 { skipped[Int(reason.rawValue)] }
    public subscript(malformed reason: MalformedReason) -> UInt64 { malformed[Int(reason.rawValue)] }

    /// All lines, whatever their outcome.
    public var total: UInt64 {
        var sum = parsed &+ oversized
        for i in skipped.indices { sum &+= skipped[i] }
        for i in malformed.indices { sum &+= malformed[i] }
        return sum
    }

    public mutating func add(_ other: LineCounts) {
        parsed &+= other.parsed
        oversized &+= other.oversized
        for i in skipped.indices { skipped[i] &+= other.skipped[i] }
        for i in malformed.indices { malformed[i] &+= other.malformed[i] }
    }

    public static func == (a: LineCounts, b: LineCounts) -> Bool {
        guard a.parsed == b.parsed, a.oversized == b.oversized else { return false }
        for i in a.skipped.indices where a.skipped[i] != b.skipped[i] { return false }
        for i in a.malformed.indices where a.malformed[i] != b.malformed[i] { return false }
        return true
    }
}
