/// Names one followed input for the life of a ``Tailer``: a path, through all the files that take
/// its place (rotation, truncation, re-creation). Identifiers are never reused.
public struct InputID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64

    public init(rawValue: UInt64) {
        self.rawValue = rawValue
    }

    public static func < (lhs: InputID, rhs: InputID) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { "input#\(rawValue)" }
}
