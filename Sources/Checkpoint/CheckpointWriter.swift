import Exposition
import Histograms
import Tailer

/// Writes a checkpoint as JSON straight from a snapshot, a piece at a time, without `JSONEncoder`
/// (whose code would otherwise be brought back into memory every few seconds).
///
/// The file is the one `JSONEncoder` makes of a ``Checkpoint`` (the same keys, optional keys left
/// out when nil), so ``CheckpointStore/load()`` reads either. Encoding a ``Checkpoint`` first
/// meant a `SavedFamily` with an array of label values per series, and `JSONEncoder`'s own tree
/// of every value, then the whole text: with 19 000 series every 10 s that was 190 ms of CPU and
/// about 30 MiB at its peak for a 3.4 MB file. Here each family is written from the snapshot's
/// columns into a buffer that goes to the file whenever it holds `flushBytes`.
struct CheckpointWriter {
    static let flushBytes = 256 * 1024

    private var buffer: [UInt8] = []
    private let sink: (UnsafeRawBufferPointer) throws(SystemError) -> Void

    /// `sink` receives the text in order, in pieces of about `flushBytes`.
    init(sink: @escaping (UnsafeRawBufferPointer) throws(SystemError) -> Void) {
        self.sink = sink
        buffer.reserveCapacity(Self.flushBytes + 4096)
    }

    /// Writes the whole checkpoint; `families` are the snapshot's, those a checkpoint does not
    /// keep (gauges) left out as ``SavedFamily/init(_:)`` leaves them.
    mutating func write(
        writtenAt: Double, positions: [SavedPosition], families: [MetricFamilySnapshot]
    ) throws(SystemError) {
        append(#"{"version":"#)
        appendInteger(Checkpoint.currentVersion)
        append(#","writtenAt":"#)
        try appendDouble(writtenAt, "writtenAt")
        append(#","positions":["#)
        for (k, position) in positions.enumerated() {
            if k > 0 { buffer.append(UInt8(ascii: ",")) }
            try appendPosition(position)
            try flushIfFull()
        }
        append(#"],"families":["#)
        var first = true
        for family in families where Self.isSaved(family) {
            // A deferred family's values are read from the live stores as it is written: a
            // checkpoint of it would not be the moment the positions were taken.
            precondition(family.deferred == nil, "a checkpoint needs a snapshot's values, not deferred ones")
            if !first { buffer.append(UInt8(ascii: ",")) }
            first = false
            try appendFamily(family)
            try flushIfFull()
        }
        append("]}")
        try flush()
    }

    /// Whether a checkpoint keeps `family`: what ``SavedFamily/init(_:)`` accepts.
    static func isSaved(_ family: MetricFamilySnapshot) -> Bool {
        guard family.type != .gauge else { return false }
        switch family.values {
        case .integers, .histograms: return true
        case .doubles: return false
        }
    }

    private mutating func appendFamily(_ family: MetricFamilySnapshot) throws(SystemError) {
        append(#"{"name":"#)
        appendString(family.name)
        append(#","type":"#)
        appendString(family.type.rawValue)
        if let unit = family.unit {
            append(#","unit":"#)
            appendString(unit)
        }
        let labels = family.labels
        let series = labels.count
        append(#","labelNames":"#)
        if let names = labels.uniformNames {
            appendStrings(names)
        } else {
            appendStrings(series > 0 ? labels.names(0) : [])
            append(#","seriesLabelNames":["#)
            for index in 0..<series {
                if index > 0 { buffer.append(UInt8(ascii: ",")) }
                appendStrings(labels.names(index))
                try flushIfFull()
            }
            buffer.append(UInt8(ascii: "]"))
        }
        append(#","labelValues":["#)
        for index in 0..<series {
            if index > 0 { buffer.append(UInt8(ascii: ",")) }
            buffer.append(UInt8(ascii: "["))
            for position in 0..<labels.pairCount(index) {
                if position > 0 { buffer.append(UInt8(ascii: ",")) }
                appendString(labels.value(index, position))
            }
            buffer.append(UInt8(ascii: "]"))
            try flushIfFull()
        }
        buffer.append(UInt8(ascii: "]"))
        switch family.values {
        case .integers(let values):
            append(#","values":"#)
            try appendIntegers(values)
        case .histograms(let columns):
            append(#","histogram":{"bounds":["#)
            for (k, bound) in columns.bounds.values.enumerated() {
                if k > 0 { buffer.append(UInt8(ascii: ",")) }
                try appendDouble(bound, "\(family.name) bucket bound")
            }
            append(#"],"bucketCounts":"#)
            try appendIntegers(columns.bucketCounts)
            append(#","scaledSums":"#)
            try appendIntegers(columns.scaledSums)
            append(#","sumExponent":"#)
            appendInteger(columns.sumExponent)
            if let native = columns.native {
                append(#","native":["#)
                for (k, histogram) in native.enumerated() {
                    if k > 0 { buffer.append(UInt8(ascii: ",")) }
                    if let histogram {
                        try appendNative(histogram.encoded, family.name)
                    } else {
                        append("null")
                    }
                    try flushIfFull()
                }
                buffer.append(UInt8(ascii: "]"))
            }
            buffer.append(UInt8(ascii: "}"))
        case .doubles:
            preconditionFailure("families of doubles are not saved")
        }
        if let created = family.created {
            append(#","created":["#)
            for (k, time) in created.enumerated() {
                if k > 0 { buffer.append(UInt8(ascii: ",")) }
                try appendDouble(time, "\(family.name) created time")
                try flushIfFull()
            }
            buffer.append(UInt8(ascii: "]"))
        }
        buffer.append(UInt8(ascii: "}"))
    }

    /// `SavedPosition`'s `Codable` keys, optional ones left out when nil.
    private mutating func appendPosition(_ position: SavedPosition) throws(SystemError) {
        append(#"{"path":"#)
        appendString(position.path)
        appendMember(#","device":"#, position.device)
        appendMember(#","inode":"#, position.inode)
        appendMember(#","fingerprintLength":"#, position.fingerprintLength)
        appendMember(#","fingerprintHash":"#, position.fingerprintHash)
        appendMember(#","offset":"#, position.offset)
        appendMember(#","previousFingerprintLength":"#, position.previousFingerprintLength)
        appendMember(#","previousFingerprintHash":"#, position.previousFingerprintHash)
        if let savedAt = position.savedAt {
            append(#","savedAt":"#)
            try appendDouble(savedAt, "\(position.path) saved time")
        }
        appendMember(#","birth":"#, position.birth)
        buffer.append(UInt8(ascii: "}"))
    }

    /// `key` (its comma, quotes and colon included) and `value`, or nothing when it is nil.
    private mutating func appendMember<T: BinaryInteger>(_ key: StaticString, _ value: T?) {
        guard let value else { return }
        append(key)
        appendInteger(value)
    }

    private mutating func appendNative(_ native: EncodedNativeHistogram, _ family: String) throws(SystemError) {
        append(#"{"schema":"#)
        appendInteger(native.schema)
        append(#","zeroThreshold":"#)
        try appendDouble(native.zeroThreshold, "\(family) native zero threshold")
        append(#","zeroCount":"#)
        appendInteger(native.zeroCount)
        append(#","count":"#)
        appendInteger(native.count)
        append(#","sum":"#)
        try appendDouble(native.sum, "\(family) native sum")
        append(#","positiveSpans":"#)
        appendSpans(native.positive.spans)
        append(#","positiveDeltas":"#)
        try appendIntegers(native.positive.deltas)
        append(#","negativeSpans":"#)
        appendSpans(native.negative.spans)
        append(#","negativeDeltas":"#)
        try appendIntegers(native.negative.deltas)
        buffer.append(UInt8(ascii: "}"))
    }

    private mutating func appendSpans(_ spans: [BucketSpan]) {
        buffer.append(UInt8(ascii: "["))
        for (k, span) in spans.enumerated() {
            if k > 0 { buffer.append(UInt8(ascii: ",")) }
            buffer.append(UInt8(ascii: "["))
            appendInteger(span.offset)
            buffer.append(UInt8(ascii: ","))
            appendInteger(span.length)
            buffer.append(UInt8(ascii: "]"))
        }
        buffer.append(UInt8(ascii: "]"))
    }

    // MARK: Values

    private mutating func append(_ text: StaticString) {
        text.withUTF8Buffer { buffer.append(contentsOf: $0) }
    }

    private mutating func appendStrings(_ strings: [String]) {
        buffer.append(UInt8(ascii: "["))
        for (k, string) in strings.enumerated() {
            if k > 0 { buffer.append(UInt8(ascii: ",")) }
            appendString(string)
        }
        buffer.append(UInt8(ascii: "]"))
    }

    /// A JSON string: quote, backslash and control characters escaped, everything else as its
    /// UTF-8 bytes (a `String` holds valid UTF-8).
    private mutating func appendString(_ string: String) {
        buffer.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): append(#"\""#)
            case UInt8(ascii: "\\"): append(#"\\"#)
            case 0x0A: append(#"\n"#)
            case 0x0D: append(#"\r"#)
            case 0x09: append(#"\t"#)
            case 0..<0x20:
                append(#"\u00"#)
                buffer.append(Self.hexDigits[Int(byte >> 4)])
                buffer.append(Self.hexDigits[Int(byte & 0xF)])
            default: buffer.append(byte)
            }
        }
        buffer.append(UInt8(ascii: "\""))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    private mutating func appendIntegers<T: BinaryInteger>(_ values: [T]) throws(SystemError) {
        buffer.append(UInt8(ascii: "["))
        for (k, value) in values.enumerated() {
            if k > 0 { buffer.append(UInt8(ascii: ",")) }
            appendInteger(value)
            if k & 1023 == 1023 { try flushIfFull() }
        }
        buffer.append(UInt8(ascii: "]"))
    }

    private mutating func appendInteger<T: BinaryInteger>(_ value: T) {
        if value < 0 { buffer.append(UInt8(ascii: "-")) }
        var magnitude = UInt64(value.magnitude)
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // room for UInt64.max's 20 digits
        withUnsafeMutableBytes(of: &digits) { scratch in
            var start = scratch.count
            repeat {
                start -= 1
                scratch[start] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            buffer.append(contentsOf: scratch[start...])
        }
    }

    /// The shortest text that reads back as the same `Double`. JSON has no infinities or NaN,
    /// and `JSONEncoder` refuses them too: such a value names what it was.
    private mutating func appendDouble(_ value: Double, _ what: @autoclosure () -> String) throws(SystemError) {
        guard value.isFinite else {
            throw SystemError("encode", path: what(), errno: 0, reason: "\(value) is not a JSON number")
        }
        if let exact = Int64(exactly: value), exact.magnitude < 1 << 53, exact != 0 || value.sign == .plus {
            appendInteger(exact)
        } else {
            buffer.append(contentsOf: value.description.utf8)
        }
    }

    // MARK: Output

    private mutating func flushIfFull() throws(SystemError) {
        if buffer.count >= Self.flushBytes { try flush() }
    }

    private mutating func flush() throws(SystemError) {
        guard !buffer.isEmpty else { return }
        let sink = self.sink
        var failure: SystemError?
        buffer.withUnsafeBytes { bytes in
            do throws(SystemError) {
                try sink(bytes)
            } catch {
                failure = error
            }
        }
        buffer.removeAll(keepingCapacity: true)
        if let failure { throw failure }
    }
}
