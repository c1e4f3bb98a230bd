import CZlib

/// Decompresses a gzip stream with zlib, for checking what the encoder wrote.
enum Inflate {
    struct Failure: Error {
        var status: Int32
    }

    static func gunzip(_ input: [UInt8]) throws -> [UInt8] {
        var stream = z_stream()
        // 15 + 32: a 32 KiB window, gzip or zlib header detected automatically.
        var status = inflateInit2_(&stream, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else { throw Failure(status: status) }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var input = input
        try input.withUnsafeMutableBufferPointer { inputBuffer in
            stream.next_in = inputBuffer.baseAddress
            stream.avail_in = uInt(inputBuffer.count)
            repeat {
                status = chunk.withUnsafeMutableBufferPointer { chunkBuffer in
                    stream.next_out = chunkBuffer.baseAddress
                    stream.avail_out = uInt(chunkBuffer.count)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                guard status == Z_OK || status == Z_STREAM_END else { throw Failure(status: status) }
                output.append(contentsOf: chunk[0..<(chunk.count - Int(stream.avail_out))])
            } while status != Z_STREAM_END
            guard stream.avail_in == 0 else { throw Failure(status: -100) }
        }
        return output
    }
}
