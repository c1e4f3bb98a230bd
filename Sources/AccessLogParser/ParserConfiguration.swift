/// How the lines of an input are wrapped by the container runtime, if at all.
public enum Envelope: String, Sendable, CaseIterable {
    /// Decided per input from its first recognisable line.
    case auto
    /// Access-log lines as Envoy wrote them (`kubectl logs`, a file Envoy writes).
    case raw
    /// CRI container logs (containerd, CRI-O): `<time> <stream> <P|F> <content>`.
    case cri
    /// Docker json-file logs: `{"log":"<escaped line>\n","stream":"stdout","time":"..."}`.
    case docker
}

/// Which record syntaxes an input may contain.
public struct RecordSyntaxes: OptionSet, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let json = RecordSyntaxes(rawValue: 1)
    public static let text = RecordSyntaxes(rawValue: 2)
    public static let all: RecordSyntaxes = [.json, .text]
}

/// Everything that decides how bytes become records, compiled once and shared by every input.
public final class ParserConfiguration: Sendable {
    public let fieldMap: FieldMap
    public let wantedFields: FieldSet
    public let syntaxes: RecordSyntaxes
    public let envelope: Envelope
    public let maxLineLength: Int
    let scanner: JSONRecordScanner
    let dockerScanner: JSONRecordScanner

    static let dockerLog = AccessLogField(rawValue: AccessLogField.firstCustom)
    static let dockerStream = AccessLogField(rawValue: AccessLogField.firstCustom + 1)

    /// - Parameters:
    ///   - fieldMap: JSON key to field mapping; ``FieldMap/automatic`` reads every preset.
    ///   - wantedFields: the fields anyone downstream uses; other keys are skipped unread.
    ///   - syntaxes: JSON records, TEXT records, or both.
    ///   - envelope: the container-log wrapping, or `.auto` to detect it per input.
    ///   - maxLineLength: longer lines are skipped and counted as oversized.
    public init(
        fieldMap: FieldMap = .automatic,
        wantedFields: FieldSet = .all,
        syntaxes: RecordSyntaxes = .all,
        envelope: Envelope = .auto,
        maxLineLength: Int = LineFramer.defaultMaxLineLength
    ) {
        self.fieldMap = fieldMap
        self.wantedFields = wantedFields
        self.syntaxes = syntaxes
        self.envelope = envelope
        self.maxLineLength = maxLineLength
        scanner = JSONRecordScanner(keys: fieldMap.makeKeyTable(wanted: wantedFields))
        dockerScanner = JSONRecordScanner(
            keys: KeyTable([("log", Self.dockerLog, 0), ("stream", Self.dockerStream, 0)]),
            numericFields: [],
            markerFields: [Self.dockerLog]
        )
    }
}
