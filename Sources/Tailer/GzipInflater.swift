import CZlib

/// Where a gzip stream went wrong: the file, how far into the compressed bytes, and zlib's
/// word for it. Everything inflated before that point has been delivered.
public struct GzipReadError: Error, CustomStringConvertible, Hashable, Sendable {
    public var path: String
    /// Compressed bytes consumed before the damage (or the end, for a truncated stream).
    public var compressedOffset: Int64
    public var message: String

    public init(path: String, compressedOffset: Int64, message: String) {
        self.path = path
        self.compressedOffset = compressedOffset
        self.message = message
    }

    public var description: String {
        "gunzip \(path): \(message) at compressed byte \(compressedOffset)"
    }
}

/// Streaming gzip decompression through zlib: compressed bytes in, in pieces of any size;
/// decompressed chunks out, in one reused buffer.
///
/// Multi-member files (`cat a.gz b.gz`, and what `gzip` writes for appended data) are read
/// member after member: after each member's end the stream is reset and goes on with the bytes
/// that follow. Zero bytes after the last member (padding some tools add) are ignored.
public final class GzipInflater {
    /// Window bits 15 plus 32: zlib detects the gzip (or zlib) header itself.
    private static let windowBits: Int32 = 15 + 32

    public let path: String
    /// The stream state. zlib keeps a pointer back to it and checks it, so it must not move:
    /// it lives in its own allocation.
    private let stream: UnsafeMutablePointer<z_stream>
    private let output: UnsafeMutableBufferPointer<UInt8>
    /// Inside a member (header seen, end not yet reached).
    private var inMember = false
    /// Only zero padding has been seen since the last member ended.
    private var inPadding = false
    private(set) public var compressedBytes: Int64 = 0
    private(set) public var decompressedBytes: Int64 = 0
    /// Complete members inflated so far.
    private(set) public var members = 0

    /// - Throws: ``GzipReadError`` when zlib cannot set up (out of memory, library mismatch).
    public init(path: String, outputChunkSize: Int = 256 * 1024) throws(GzipReadError) {
        self.path = path
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // `inflateInit2` is a macro; this is its expansion (zlib checks version and struct size).
        let status = inflateInit2_(stream, Self.windowBits, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else {
            stream.deinitialize(count: 1)
            stream.deallocate()
            throw GzipReadError(path: path, compressedOffset: 0, message: "inflateInit2 failed with status \(status)")
        }
        self.stream = stream
        self.output = .allocate(capacity: max(4096, outputChunkSize))
    }

    deinit {
        inflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
        output.deallocate()
    }

    /// Inflates `input`, calling `body` with each decompressed chunk (valid during the call).
    /// - Throws: ``GzipReadError`` at corrupt data, after delivering everything before it.
    public func feed(_ input: UnsafeRawBufferPointer, _ body: (UnsafeBufferPointer<UInt8>) -> Void)
        throws(GzipReadError)
    {
        guard var next = input.baseAddress, !input.isEmpty else { return }
        var remaining = input.count
        while remaining > 0 {
            if !inMember {
                // Between members: skip zero padding; anything else starts a member.
                if next.load(as: UInt8.self) == 0 {
                    inPadding = true
                    next += 1
                    remaining -= 1
                    compressedBytes += 1
                    continue
                }
                if inPadding {
                    throw GzipReadError(
                        path: path, compressedOffset: compressedBytes, message: "data after zero padding")
                }
                inMember = true
            }
            // avail_in is 32 bits; larger inputs go in slices.
            let slice = min(remaining, Int(UInt32.max))
            stream.pointee.next_in = UnsafeMutablePointer(mutating: next.assumingMemoryBound(to: Bytef.self))
            stream.pointee.avail_in = uInt(slice)
            let status = inflateSlice(body)
            let used = slice - Int(stream.pointee.avail_in)
            next += used
            remaining -= used
            compressedBytes += Int64(used)
            switch status {
            case Z_STREAM_END:
                members += 1
                inMember = false
                // Ready for a next member, with the same window allocation.
                let reset = inflateReset(stream)
                guard reset == Z_OK else {
                    throw GzipReadError(
                        path: path, compressedOffset: compressedBytes, message: "inflateReset failed (\(reset))")
                }
            case Z_OK, Z_BUF_ERROR:
                // Needs more input: all of this slice was taken.
                continue
            default:
                throw GzipReadError(path: path, compressedOffset: compressedBytes, message: zlibMessage(status))
            }
        }
    }

    /// Ends the stream. Throws if it stopped inside a member (a truncated file); everything that
    /// could be inflated has been delivered already.
    public func finish() throws(GzipReadError) {
        if inMember {
            throw GzipReadError(
                path: path, compressedOffset: compressedBytes,
                message: "unexpected end of file (truncated gzip member)")
        }
        if members == 0 && compressedBytes > 0 {
            throw GzipReadError(path: path, compressedOffset: compressedBytes, message: "no gzip member found")
        }
    }

    /// Runs `inflate` over the current input until it needs more input or a member ends.
    private func inflateSlice(_ body: (UnsafeBufferPointer<UInt8>) -> Void) -> Int32 {
        while true {
            stream.pointee.next_out = output.baseAddress
            stream.pointee.avail_out = uInt(output.count)
            let status = inflate(stream, Z_NO_FLUSH)
            let produced = output.count - Int(stream.pointee.avail_out)
            if produced > 0 {
                decompressedBytes += Int64(produced)
                body(UnsafeBufferPointer(rebasing: output[0..<produced]))
            }
            switch status {
            case Z_OK:
                // Output full: go on. Input used up with room left: wait for more.
                if stream.pointee.avail_in == 0 && stream.pointee.avail_out > 0 { return Z_OK }
            case Z_BUF_ERROR:
                return Z_BUF_ERROR  // no progress possible without more input
            default:
                return status
            }
        }
    }

    private func zlibMessage(_ status: Int32) -> String {
        if let message = stream.pointee.msg { return String(cString: message) }
        switch status {
        case Z_DATA_ERROR: return "corrupt data"
        case Z_MEM_ERROR: return "out of memory"
        case Z_NEED_DICT: return "needs a preset dictionary"
        default: return "zlib status \(status)"
        }
    }
}
