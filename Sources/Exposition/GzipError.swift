/// zlib could not start a compression stream.
public struct GzipError: Error, Sendable, Hashable, CustomStringConvertible {
    /// zlib's status code (`Z_MEM_ERROR`, `Z_STREAM_ERROR`, `Z_VERSION_ERROR`).
    public var code: Int32

    public var description: String { "zlib deflateInit2 failed with status \(code)" }
}
