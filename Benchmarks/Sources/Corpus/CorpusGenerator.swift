/// How a corpus is written.
public enum CorpusFormat: Hashable, Sendable, CustomStringConvertible {
    /// One typed JSON object per line, as Envoy writes Istio's JSON format.
    case json(KeyOrder)
    /// The same JSON lines inside containerd's CRI envelope (`<time> stdout F <line>`), as
    /// kubelet stores them under `/var/log/pods`.
    case cri(KeyOrder)
    /// Istio's default TEXT format.
    case text

    /// Every format, for command lines and loops.
    public static let all: [CorpusFormat] = [
        .json(.alphabetical), .json(.declared), .cri(.alphabetical), .cri(.declared), .text,
    ]

    /// `json`, `json-declared`, `cri`, `cri-declared`, `text`. Alphabetical key order, Envoy
    /// 1.40's, is the default.
    public var description: String {
        switch self {
        case .json(.alphabetical): "json"
        case .json(.declared): "json-declared"
        case .cri(.alphabetical): "cri"
        case .cri(.declared): "cri-declared"
        case .text: "text"
        }
    }

    public init?(_ name: String) {
        guard let format = Self.all.first(where: { $0.description == name }) else { return nil }
        self = format
    }
}

/// A generated corpus held in memory.
public struct Corpus: Sendable {
    public let format: CorpusFormat
    /// The lines, each ending with `\n`.
    public let bytes: [UInt8]
    public let expected: ExpectedCounts

    public var lineCount: Int { expected.lines }
    public var averageLineBytes: Double { Double(bytes.count) / Double(max(1, expected.lines)) }
}

/// Generates Istio access logs deterministically from a seed.
///
/// The same seed, line count and variant count give the same requests in every format, so the
/// expected counts do not depend on the format, and a corpus file can be regenerated instead of
/// shipped.
public struct CorpusGenerator: Sendable {
    public var seed: UInt64
    /// Copies of each named route (`search`, `search_v1`, ...), each with an equal share of
    /// the route's traffic: more series for the same traffic shape (1 = the plain model).
    public var routeVariants: Int

    public init(seed: UInt64 = 1, routeVariants: Int = 1) {
        self.seed = seed
        self.routeVariants = max(1, routeVariants)
    }

    /// Generates `lines` lines in `format` into memory.
    public func generate(lines: Int, format: CorpusFormat) -> Corpus {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(lines * 1_000)
        let expected = write(lines: lines, format: format) { chunk in bytes.append(contentsOf: chunk) }
        return Corpus(format: format, bytes: bytes, expected: expected)
    }

    /// Generates `lines` lines in `format`, handing them to `sink` in chunks of complete lines
    /// of about a megabyte, and returns what logmetrics must count for them.
    public func write(
        lines: Int, format: CorpusFormat, _ sink: (UnsafeBufferPointer<UInt8>) throws -> Void
    ) rethrows -> ExpectedCounts {
        var source = RequestSource(seed: seed, routeVariants: routeVariants)
        let renderer = LineRenderer(format: format, routeVariants: routeVariants)
        var counter = ExpectationCounter(routeVariants: routeVariants)
        var request = SyntheticRequest()
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 20 + 4096)
        for _ in 0..<lines {
            source.next(into: &request)
            let before = buffer.count
            renderer.append(request, to: &buffer)
            counter.count(request, lineBytes: buffer.count - before)
            if buffer.count >= 1 << 20 {
                try buffer.withUnsafeBufferPointer { try sink($0) }
                buffer.removeAll(keepingCapacity: true)
            }
        }
        if !buffer.isEmpty { try buffer.withUnsafeBufferPointer { try sink($0) } }
        return counter.result()
    }
}
