/// Cuts a stream of bytes into the JSON objects it carries, whatever the pieces it arrives in.
///
/// A watch response is a sequence of JSON objects, one per event. The API server ends each with
/// a newline, but the framing here does not rely on it (client-go's decoder does not either):
/// objects are found by counting braces outside strings, so events split across reads, several
/// events in one read, and `{`, `}` or escaped quotes inside strings are all handled. Whitespace
/// between objects is skipped; anything else there is an error, as is an object longer than
/// ``maxObjectBytes`` (the bound on what one event may cost in memory).
struct JSONObjectFramer {
    enum FramingError: Error, Equatable, CustomStringConvertible {
        case unexpectedByte(UInt8)
        case objectTooLarge(limit: Int)

        var description: String {
            switch self {
            case .unexpectedByte(let byte): "unexpected byte 0x\(String(byte, radix: 16)) between watch events"
            case .objectTooLarge(let limit): "a watch event is larger than \(limit) bytes"
            }
        }
    }

    let maxObjectBytes: Int
    /// The bytes of the object being assembled (from its `{`), and nothing else.
    private var pending: [UInt8] = []
    private var depth = 0
    private var inString = false
    private var escaped = false

    init(maxObjectBytes: Int) {
        self.maxObjectBytes = maxObjectBytes
    }

    /// Whether part of an object is waiting for the rest of it.
    var hasPartialObject: Bool { !pending.isEmpty }

    /// Feeds `bytes`; `emit` gets each complete object and returns false to stop early.
    /// Returns false when `emit` stopped.
    mutating func append(
        _ bytes: UnsafeRawBufferPointer, emit: ([UInt8]) throws -> Bool
    ) throws -> Bool {
        var start = 0
        for index in 0..<bytes.count {
            let byte = bytes[index]
            if depth == 0 {
                switch byte {
                case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"):
                    start = index + 1
                    continue
                case UInt8(ascii: "{"):
                    start = index
                    depth = 1
                    continue
                default:
                    throw FramingError.unexpectedByte(byte)
                }
            }
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth == 0 {
                    pending.append(contentsOf: bytes[start...index])
                    try checkSize()
                    let object = pending
                    pending.removeAll(keepingCapacity: true)
                    start = index + 1
                    if try !emit(object) { return false }
                }
            default: break
            }
        }
        if depth > 0 && start < bytes.count {
            pending.append(contentsOf: bytes[start...])
            try checkSize()
        }
        return true
    }

    private func checkSize() throws {
        if pending.count > maxObjectBytes { throw FramingError.objectTooLarge(limit: maxObjectBytes) }
    }
}
