#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A hash of a file's first bytes, telling a file apart from a later one that got the same inode.
///
/// The fingerprint covers the first line, or the first ``maximumLength`` bytes when the first
/// line is longer, and records how many bytes it covers. A log only grows at its end, so those
/// bytes never change and the fingerprint is stable as the file grows.
///
/// - A file shorter than that (no newline yet in fewer than ``maximumLength`` bytes) gets a
///   *provisional* fingerprint over what it has; it is extended as the file grows, and it stays
///   comparable because a comparison always hashes exactly ``length`` bytes of the other file. An
///   empty file has `length == 0`, which matches any file: only device and inode then tell files
///   apart.
/// - Why the first line and not always a fixed length: a log whose first line is short (a
///   one-line crash message) is fingerprinted completely at once instead of staying provisional.
///   Why up to 1 KiB: the first 256 bytes of Envoy's JSON lines are often the same from line to
///   line (with keys in alphabetical order a line starts with `authority`, byte counts and
///   addresses), so a file truncated and written again would look unchanged; the whole first
///   line, with its request id and start time, tells it apart. A checkpoint's older, shorter
///   fingerprints stay comparable, since ``length`` is recorded.
/// - The hash is 64-bit FNV-1a: it guards against accidents (inode reuse), not against an
///   adversary who writes a file on purpose to collide.
public struct Fingerprint: Hashable, Sendable, CustomStringConvertible {
    /// The most bytes a fingerprint covers.
    public static let maximumLength = 1024

    /// How many leading bytes the hash covers (0 ... ``maximumLength``).
    public var length: Int
    /// FNV-1a 64 of those bytes.
    public var hash: UInt64

    public init(length: Int, hash: UInt64) {
        self.length = length
        self.hash = hash
    }

    /// The fingerprint of a file that begins with `prefix` (at most ``maximumLength`` bytes are
    /// looked at). `isComplete` is false while the file is too short for the fingerprint to be
    /// final.
    public static func of(prefix: UnsafeRawBufferPointer) -> (fingerprint: Fingerprint, isComplete: Bool) {
        let window = min(prefix.count, maximumLength)
        var length = window
        var isComplete = window == maximumLength
        if let newline = prefix.prefix(window).firstIndex(of: UInt8(ascii: "\n")) {
            length = newline + 1
            isComplete = true
        }
        return (
            Fingerprint(length: length, hash: fnv1a(UnsafeRawBufferPointer(rebasing: prefix.prefix(length)))),
            isComplete
        )
    }

    /// Whether a file beginning with `prefix` has this fingerprint: it must have at least
    /// ``length`` bytes, and those must hash the same.
    public func matches(prefix: UnsafeRawBufferPointer) -> Bool {
        length >= 0 && prefix.count >= length
            && Self.fnv1a(UnsafeRawBufferPointer(rebasing: prefix.prefix(length))) == hash
    }

    public var description: String {
        "\(length):" + String(hash, radix: 16)
    }

    static func fnv1a(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3  // wrapping multiply is the FNV definition
        }
        return hash
    }
}

extension Fingerprint {
    /// Reads the first bytes of an open file and fingerprints them.
    static func read(descriptor: Int32, path: String) throws(SystemError) -> (
        fingerprint: Fingerprint, isComplete: Bool
    ) {
        try withPrefix(descriptor: descriptor, path: path) { Fingerprint.of(prefix: $0) }
    }

    /// Whether the open file still begins with the bytes this fingerprint was taken from.
    func matches(descriptor: Int32, path: String) throws(SystemError) -> Bool {
        if length == 0 { return true }
        return try Self.withPrefix(descriptor: descriptor, path: path) { matches(prefix: $0) }
    }

    /// Calls `body` with up to ``maximumLength`` leading bytes of the file, read with `pread`
    /// (the descriptor's own offset is left alone) into a stack buffer.
    static func withPrefix<T>(
        descriptor: Int32, path: String, _ body: (UnsafeRawBufferPointer) -> T
    ) throws(SystemError) -> T {
        let result: Result<T, SystemError> = withUnsafeTemporaryAllocation(byteCount: maximumLength, alignment: 8) {
            buffer in
            var filled = 0
            // A regular file returns everything that exists in one pread; loop anyway in case a
            // read is cut short, stopping at end of file.
            while filled < maximumLength {
                let n = preadRetrying(descriptor, buffer.baseAddress! + filled, maximumLength - filled, Int64(filled))
                if n < 0 { return .failure(SystemError("pread", path: path, errno: errno)) }
                if n == 0 { break }
                filled += n
            }
            return .success(body(UnsafeRawBufferPointer(rebasing: buffer[0..<filled])))
        }
        return try result.get()
    }
}
