import CAllocator
import Exposition
import NIOCore

/// Produces the body of one scrape: takes a snapshot, adds the server's own metrics, renders it
/// and compresses it. Runs on a thread pool, never on an event loop.
struct ScrapeRenderer: Sendable {
    /// The rendered text is handed on (to the body, or to gzip) once this many bytes have
    /// gathered, and a family is rendered this many sample lines at a time, so a text scrape
    /// holds its body and a chunk or two: 10 000 histograms by route are 22 MB of text, and
    /// rendering them whole before copying them into the body held both. Protobuf writes a
    /// family as one length-prefixed message, so it is rendered a family at a time.
    static let chunkBytes = 256 * 1024
    static let linesPerPiece = 2048

    let snapshot: @Sendable (ExpositionFormat) -> MetricSnapshot
    let selfMetrics: ScrapeSelfMetrics
    let gzipLevel: Int32

    /// A rendered body and the coding it is in (identity if gzip could not be set up).
    struct Result: Sendable {
        var body: ResponseBody
        var coding: ContentCoding
    }

    /// The whole body at once, for a response that states its length (HTTP/1.0, HEAD).
    func render(format: ExpositionFormat, coding: ContentCoding, recordsScrape: Bool) -> Result {
        var body = ResponseBody()
        var usedCoding = ContentCoding.identity
        render(
            format: format, coding: coding, recordsScrape: recordsScrape, begin: { usedCoding = $0 },
            send: { body.append($0) })
        return Result(body: body, coding: usedCoding)
    }

    /// Renders a scrape and hands its body on as it is made: first `begin`, with the coding the
    /// body is in (identity if gzip could not be set up), then `send` for each chunk of
    /// ``chunkBytes`` (the last may be shorter). A streamed response holds a chunk or two rather
    /// than its body: a gzipped OpenMetrics scrape of 10 000 routes is 1.5 MB, the same as text
    /// for curl 24 MB. Returns the body's length.
    @discardableResult
    func render(
        format: ExpositionFormat, coding: ContentCoding, recordsScrape: Bool, begin: (ContentCoding) -> Void,
        send: (ByteBuffer) -> Void
    ) -> Int {
        let start = ContinuousClock.now
        var snapshot = snapshot(format)
        let ownNames = selfMetrics.familyNames
        if !snapshot.families.contains(where: { ownNames.contains($0.name) }) {
            snapshot.families.append(contentsOf: selfMetrics.families())
        }
        var body = BodyChunker()
        let usedCoding: ContentCoding
        if coding == .gzip, var encoder = try? GzipEncoder(level: gzipLevel) {
            usedCoding = .gzip
            begin(usedCoding)
            var compressed: [UInt8] = []
            Self.write(snapshot, format) { chunk in
                encoder.compress(chunk, into: &compressed)
                body.write(compressed, send: send)
                compressed.removeAll(keepingCapacity: true)
            }
            encoder.finish(into: &compressed)
            body.write(compressed, send: send)
        } else {
            usedCoding = .identity
            begin(usedCoding)
            Self.write(snapshot, format) { body.write($0, send: send) }
        }
        body.finish(send: send)
        if recordsScrape {
            selfMetrics.recordScrape(
                format: format, coding: usedCoding, duration: ContinuousClock.now - start, bodyBytes: body.total)
        }
        return body.total
    }

    /// Gives back what a scrape's snapshot freed, which would otherwise stay with the thread that
    /// made it; run once the response is on its way (it takes a few milliseconds with many series).
    func releaseFreeMemory() {
        lm_allocator_release_free_memory()
    }

    /// Renders `snapshot` piece by piece, handing on about `chunkBytes` of text at a time.
    private static func write(
        _ snapshot: MetricSnapshot, _ format: ExpositionFormat, handOn: ([UInt8]) -> Void
    ) {
        var chunk: [UInt8] = []
        chunk.reserveCapacity(chunkBytes + chunkBytes / 4)
        func handOnIfFull() {
            guard chunk.count >= chunkBytes else { return }
            handOn(chunk)
            // A whole protobuf family may have made it large: that memory goes too.
            chunk.removeAll(keepingCapacity: chunk.capacity <= 4 * chunkBytes)
        }
        for family in snapshot.families {
            if let deferred = family.deferred {
                guard deferred.seriesCount > 0 else { continue }
                if format == .protobuf {
                    // A protobuf family is one message, its length first: read whole.
                    var whole = deferred.pieces.piece(0..<deferred.seriesCount)
                    whole.deferred = nil
                    format.write(whole, into: &chunk)
                    handOnIfFull()
                    continue
                }
                format.writeHeader(family, into: &chunk)
                for range in format.pieces(of: family, lines: linesPerPiece) {
                    let piece = deferred.pieces.piece(range)
                    format.writeSamples(piece, series: 0..<piece.labels.count, into: &chunk)
                    handOnIfFull()
                }
                continue
            }
            for piece in format.pieces(of: family, lines: linesPerPiece) {
                format.write(family, series: piece, into: &chunk)
                handOnIfFull()
            }
        }
        format.writeEnd(into: &chunk)
        handOn(chunk)
    }
}

/// Cuts a body into chunks of ``ScrapeRenderer/chunkBytes`` (a power of two, as NIO rounds a
/// buffer's capacity up to one), each handed on once full. One buffer for a whole body doubled as
/// it grew: a 24 MB text scrape of 10 000 routes held up to 32 MB, and a copy of the old buffer at
/// each doubling.
struct BodyChunker {
    private var current: ByteBuffer?
    private(set) var total = 0

    mutating func write(_ bytes: [UInt8], send: (ByteBuffer) -> Void) {
        var rest = bytes[...]
        while !rest.isEmpty {
            if current == nil { current = ByteBufferAllocator().buffer(capacity: ScrapeRenderer.chunkBytes) }
            let count = min(rest.count, current!.writableBytes)
            current!.writeBytes(rest.prefix(count))
            rest = rest.dropFirst(count)
            if current!.writableBytes == 0 {
                send(current!)
                current = nil
            }
        }
        total += bytes.count
    }

    /// Hands on what is left.
    mutating func finish(send: (ByteBuffer) -> Void) {
        if let current, current.readableBytes > 0 { send(current) }
        current = nil
    }
}

/// A whole response body, in the chunks it was made in.
struct ResponseBody: Sendable {
    private(set) var chunks: [ByteBuffer] = []
    private(set) var readableBytes = 0

    mutating func append(_ chunk: ByteBuffer) {
        chunks.append(chunk)
        readableBytes += chunk.readableBytes
    }

    /// The whole body in one array, for tests.
    var bytes: [UInt8] { chunks.flatMap { Array($0.readableBytesView) } }
}
