import CZlib

/// gzip compression through zlib, one chunk at a time or in one call.
///
/// A scrape body can be compressed as it is rendered (``compress(_:into:)`` per chunk, then
/// ``finish(into:)``) or at once (``compress(_:level:)``). The encoder is non-copyable because it
/// owns zlib's stream state, which must not move in memory or be shared: zlib checks that the
/// stream it is handed is the one it initialised.
public struct GzipEncoder: ~Copyable {
    /// zlib level 1 (fastest). Exposition text is so repetitive that level 1 already shrinks it
    /// many times over, and a scrape is latency-bound; higher levels cost several times the CPU
    /// for a few percent.
    public static let defaultLevel: Int32 = 1

    /// Window bits 15 (32 KiB) plus 16, which asks zlib for a gzip header and trailer.
    private static let gzipWindowBits: Int32 = 15 + 16
    private static let chunkSize = 64 * 1024

    private let stream: UnsafeMutablePointer<z_stream>
    private let chunk: UnsafeMutableBufferPointer<UInt8>

    /// - Parameter level: zlib compression level, 1 (fastest) to 9 (smallest), or 0 (stored).
    /// - Throws: ``GzipError`` when zlib cannot set up the stream (out of memory, bad level).
    public init(level: Int32 = GzipEncoder.defaultLevel) throws(GzipError) {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // `deflateInit2` is a macro; this is what it expands to. zlib compares the first
        // character of the version and the struct size to catch a header/library mismatch.
        let status = deflateInit2_(
            stream, level, Z_DEFLATED, Self.gzipWindowBits, 8, Z_DEFAULT_STRATEGY, zlibVersion(),
            Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else {
            stream.deinitialize(count: 1)
            stream.deallocate()
            throw GzipError(code: status)
        }
        self.stream = stream
        self.chunk = .allocate(capacity: Self.chunkSize)
    }

    deinit {
        deflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
        chunk.deallocate()
    }

    /// Compresses `input` and appends whatever compressed bytes zlib has ready to `out`.
    public mutating func compress(_ input: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        guard var base = input.baseAddress else { return }
        var remaining = input.count
        while remaining > 0 {
            // `avail_in` is 32 bits wide; larger inputs go in slices.
            let slice = min(remaining, Int(UInt32.max))
            stream.pointee.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Bytef.self))
            stream.pointee.avail_in = uInt(slice)
            drain(flush: Z_NO_FLUSH, into: &out)
            base += slice
            remaining -= slice
        }
    }

    /// Compresses `input` and appends whatever compressed bytes zlib has ready to `out`.
    public mutating func compress(_ input: [UInt8], into out: inout [UInt8]) {
        input.withUnsafeBytes { compress($0, into: &out) }
    }

    /// Flushes the remaining compressed bytes and the gzip trailer to `out`.
    public consuming func finish(into out: inout [UInt8]) {
        stream.pointee.next_in = nil
        stream.pointee.avail_in = 0
        drain(flush: Z_FINISH, into: &out)
    }

    /// Runs `deflate` until it has consumed all input (and, when finishing, written the
    /// trailer), appending its output chunk by chunk.
    private func drain(flush: Int32, into out: inout [UInt8]) {
        while true {
            stream.pointee.next_out = chunk.baseAddress
            stream.pointee.avail_out = uInt(chunk.count)
            let status = deflate(stream, flush)
            // Z_STREAM_ERROR means the state is corrupt, which only a bug here could cause;
            // Z_BUF_ERROR just means no progress was possible, which the loop condition covers.
            precondition(status != Z_STREAM_ERROR, "zlib stream state is inconsistent")
            let produced = chunk.count - Int(stream.pointee.avail_out)
            out.append(contentsOf: UnsafeBufferPointer(rebasing: chunk[0..<produced]))
            if flush == Z_FINISH {
                if status == Z_STREAM_END { return }
            } else if stream.pointee.avail_out != 0 {
                // Output room was left over, so zlib took all the input it was given.
                return
            }
        }
    }

    /// `input` as one gzip member.
    public static func compress(_ input: [UInt8], level: Int32 = defaultLevel) throws(GzipError) -> [UInt8] {
        var encoder = try GzipEncoder(level: level)
        var out: [UInt8] = []
        // Repetitive text compresses at least 8:1; start there and let the array grow if not.
        out.reserveCapacity(input.count / 8 + 64)
        encoder.compress(input, into: &out)
        encoder.finish(into: &out)
        return out
    }
}
