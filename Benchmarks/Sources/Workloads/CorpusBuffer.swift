import Corpus

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A corpus in memory that does not move, with the offset of every line.
///
/// The measured loops take the bytes as pointers, as the tool gets them from its read buffer;
/// holding them outside a Swift array keeps `withUnsafeBufferPointer` and its exclusivity
/// bookkeeping out of the loops.
public final class CorpusBuffer: @unchecked Sendable {
    // @unchecked Sendable: the bytes and offsets are written in init and only read afterwards.

    public let format: CorpusFormat
    /// What logmetrics must count, when the corpus was generated here (not for a file given
    /// by path).
    public let expected: ExpectedCounts?
    public let bytes: UnsafeBufferPointer<UInt8>
    /// `lineStarts[k]` is where line k starts; one more entry holds the end of the buffer.
    public let lineStarts: [Int]

    public convenience init(_ corpus: Corpus) {
        let storage = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(1, corpus.bytes.count))
        _ = storage.initialize(from: corpus.bytes)
        self.init(adopting: storage, count: corpus.bytes.count, format: corpus.format, expected: corpus.expected)
    }

    /// Takes ownership of `storage`, whose first `count` bytes hold the corpus.
    init(
        adopting storage: UnsafeMutableBufferPointer<UInt8>, count: Int, format: CorpusFormat, expected: ExpectedCounts?
    ) {
        self.format = format
        self.expected = expected
        bytes = UnsafeBufferPointer(rebasing: UnsafeBufferPointer(storage)[..<count])
        var starts = [0]
        starts.reserveCapacity(expected.map { $0.lines + 1 } ?? count / 512)
        var offset = 0
        while offset < count, let newline = memchr(bytes.baseAddress! + offset, 0x0A, count - offset) {
            offset = UnsafeRawPointer(newline) - UnsafeRawPointer(bytes.baseAddress!) + 1
            starts.append(offset)
        }
        if starts.last != count { starts.append(count) }
        lineStarts = starts
    }

    /// Reads a corpus file whole.
    public static func read(path: String, format: CorpusFormat, expected: ExpectedCounts?) -> CorpusBuffer? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { return nil }
        let size = Int(status.st_size)
        let storage = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(1, size))
        var offset = 0
        while offset < size {
            let n = readRetrying(fd, storage.baseAddress! + offset, size - offset)
            if n <= 0 { break }
            offset += n
        }
        return CorpusBuffer(adopting: storage, count: offset, format: format, expected: expected)
    }

    deinit {
        UnsafeMutableRawPointer(mutating: bytes.baseAddress)?.deallocate()
    }

    public var lineCount: Int { lineStarts.count - 1 }

    /// Line `k` without its newline.
    @inline(__always)
    public func line(_ k: Int) -> UnsafeBufferPointer<UInt8> {
        let start = lineStarts[k]
        return UnsafeBufferPointer(rebasing: bytes[start..<(lineStarts[k + 1] - 1)])
    }

    /// The bytes of lines `first..<(first + count)`, newlines included.
    @inline(__always)
    public func lines(_ first: Int, count: Int) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(rebasing: bytes[lineStarts[first]..<lineStarts[first + count]])
    }
}

/// `read(2)`, named apart from ``CorpusBuffer/read(path:format:expected:)``, which shadows it.
private func readRetrying(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    while true {
        let n = read(fd, buffer, count)
        if n >= 0 || errno != EINTR { return n }
    }
}

/// Walks a corpus in slices of whole lines, wrapping around at its end, so that consecutive
/// benchmark iterations read fresh lines, as a reader of a big log does, rather than one slice
/// that stays in the cache.
public struct SliceCursor: Sendable {
    public let linesPerSlice: Int
    public let lineCount: Int
    public private(set) var next = 0

    /// `lineCount` must be a multiple of `linesPerSlice`, so that every slice is whole.
    public init(lineCount: Int, linesPerSlice: Int) {
        precondition(lineCount > 0 && lineCount % linesPerSlice == 0, "corpus must hold whole slices")
        self.lineCount = lineCount
        self.linesPerSlice = linesPerSlice
    }

    /// The first line of the next slice.
    public mutating func advance() -> Int {
        let first = next
        next += linesPerSlice
        if next == lineCount { next = 0 }
        return first
    }
}
