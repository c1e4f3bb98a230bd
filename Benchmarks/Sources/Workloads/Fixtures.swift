import Corpus

/// The corpora the ordo-one benchmarks share, and how their iterations are sized.
public enum Fixtures {
    public static let seed: UInt64 = 1
    /// Lines per benchmark iteration. The suites set `scalingFactor: .kilo` to match, so the
    /// per-iteration figures (time, allocations, throughput) read per line.
    public static let linesPerIteration = 1_000
    /// Lines per benchmark corpus: about 84 MB of JSON, far more than the caches hold, so
    /// iterations stream fresh lines from memory as a reader of a big log does.
    public static let lines = 100_000

    /// A corpus of ``lines`` lines in `format`, checked to be whole slices.
    public static func corpus(_ format: CorpusFormat, lines: Int = lines, routeVariants: Int = 1) -> CorpusBuffer {
        let corpus = CorpusGenerator(seed: seed, routeVariants: routeVariants).generate(lines: lines, format: format)
        return CorpusBuffer(corpus)
    }

    /// The cursor over a corpus's iteration-sized slices.
    public static func slices(_ buffer: CorpusBuffer) -> SliceCursor {
        SliceCursor(lineCount: buffer.lineCount, linesPerSlice: linesPerIteration)
    }
}

/// A failed correctness check in a benchmark's setup.
public struct WorkloadMismatch: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
