/// Receives the records an ``AccessLogDecoder`` parses.
public protocol AccessRecordSink {
    /// Called once per parsed record. The record and its byte ranges are valid only during the call.
    mutating func consume(_ record: AccessRecord)
    /// Called for every line that did not become a record. The default does nothing.
    mutating func reject(_ outcome: LineOutcome, line: UnsafeBufferPointer<UInt8>)
}

extension AccessRecordSink {
    public mutating func reject(_ outcome: LineOutcome, line: UnsafeBufferPointer<UInt8>) {}
}

/// Turns the bytes of one input into access records: framing, the container envelope with its
/// partial-line reassembly, and the record parser, with the outcome of every line counted.
///
/// One decoder per input, used by one thread at a time. It keeps only what an unfinished line
/// needs between reads, so thousands of idle inputs cost little.
public final class AccessLogDecoder {
    public private(set) var configuration: ParserConfiguration
    /// The envelope in use: the configured one, or what `.auto` detected (`.auto` until then).
    public private(set) var envelope: Envelope
    /// The layout the first record showed, for reporting.
    public private(set) var detectedPreset: FieldMap.Preset?
    /// Outcomes of the lines decoded so far.
    public private(set) var counts = LineCounts()

    public let record = AccessRecord()
    /// Docker's JSON envelope, made at the first docker line: a record is about 7 KB (its key
    /// predictions most of it), and a node follows many inputs that are never docker's.
    private lazy var envelopeRecord = AccessRecord()
    private var framer: LineFramer
    private let textParser = IstioTextParser()
    /// Unfinished CRI `P` or docker split records, per stream (stdout, stderr).
    private var partials: [PartialLine] = [PartialLine(), PartialLine()]

    struct PartialLine {
        var bytes: [UInt8] = []
        var overflowed = false
        var isEmpty: Bool { bytes.isEmpty && !overflowed }
    }

    public init(configuration: ParserConfiguration) {
        self.configuration = configuration
        self.envelope = configuration.envelope
        self.framer = LineFramer(maxLineLength: configuration.maxLineLength)
    }

    /// Bytes fed but not yet part of a complete line (an unfinished last line).
    public var pendingBytes: Int { framer.carryCount }

    /// Input bytes fed before the current chunk, and where the last complete line ended.
    private var fed: Int64 = 0
    private var lineEnd: Int64 = 0
    /// Per stream, where the line that began the pending partial record started.
    private var partialStarts: [Int64?] = [nil, nil]

    /// How many bytes before the end of the last complete line the oldest pending partial
    /// record (CRI `P`, a docker split) began; 0 when none is pending. A read position that is to
    /// be resumed from later must go back this far, or the record's first parts would be skipped
    /// and its last one read alone.
    public var bytesSincePendingPartial: Int64 {
        guard let start = partialStarts.compactMap({ $0 }).min() else { return 0 }
        return lineEnd - start
    }

    /// Decodes `chunk`, the next bytes of the input, handing each record to `sink`.
    public func feed<Sink: AccessRecordSink>(_ chunk: UnsafeBufferPointer<UInt8>, into sink: inout Sink) {
        var cursor = 0
        while true {
            let lineStart = lineEnd
            let wasEmpty = (partials[0].isEmpty, partials[1].isEmpty)
            guard let line = framer.next(in: chunk, cursor: &cursor) else { break }
            switch line {
            case .line(let bytes): decodeLine(bytes, into: &sink)
            case .oversized: finishLine(.oversized, UnsafeBufferPointer(start: nil, count: 0), into: &sink)
            }
            lineEnd = fed &+ Int64(cursor)
            if partials[0].isEmpty { partialStarts[0] = nil } else if wasEmpty.0 { partialStarts[0] = lineStart }
            if partials[1].isEmpty { partialStarts[1] = nil } else if wasEmpty.1 { partialStarts[1] = lineStart }
        }
        fed &+= Int64(chunk.count)
    }

    /// One file of the input ended (it was rotated away): decodes its last line if that had no
    /// newline. Partial CRI or docker records stay pending, since their final part may be in the
    /// next file.
    public func endOfFile<Sink: AccessRecordSink>(into sink: inout Sink) {
        if case .line(let bytes)? = framer.finish() {
            decodeLine(bytes, into: &sink)
        }
    }

    /// Ends the input: decodes a last line that had no newline and settles unfinished partial records.
    public func finish<Sink: AccessRecordSink>(into sink: inout Sink) {
        endOfFile(into: &sink)
        for stream in partials.indices where !partials[stream].isEmpty {
            if partials[stream].overflowed {
                partials[stream] = PartialLine()
                finishLine(.oversized, UnsafeBufferPointer(start: nil, count: 0), into: &sink)
                continue
            }
            let bytes = partials[stream].bytes
            partials[stream] = PartialLine()
            bytes.withUnsafeBufferPointer { payload in
                decodePayload(payload, into: &sink, incomplete: true)
            }
        }
    }

    /// Continues with another configuration (after a reload), keeping unfinished lines. An
    /// envelope that was detected stays detected unless the new configuration names one.
    public func reconfigure(_ configuration: ParserConfiguration) {
        guard configuration !== self.configuration else { return }
        if configuration.envelope != self.configuration.envelope { envelope = configuration.envelope }
        self.configuration = configuration
        framer.maxLineLength = configuration.maxLineLength
    }

    /// Forgets unfinished lines, as when the file being read was truncated under us.
    public func reset() {
        framer.reset()
        partials = [PartialLine(), PartialLine()]
        partialStarts = [nil, nil]
        lineEnd = fed
    }

    func finishLine<Sink: AccessRecordSink>(
        _ outcome: LineOutcome, _ line: UnsafeBufferPointer<UInt8>, into sink: inout Sink
    ) {
        counts.count(outcome)
        sink.reject(outcome, line: line)
    }

    private func decodeLine<Sink: AccessRecordSink>(_ line: UnsafeBufferPointer<UInt8>, into sink: inout Sink) {
        switch envelope {
        case .raw:
            decodePayload(line, into: &sink)
        case .cri:
            decodeCRI(line, into: &sink)
        case .docker:
            decodeDocker(line, into: &sink)
        case .auto:
            if ContainerLogFormat.looksLikeDocker(line) {
                envelope = .docker
                decodeDocker(line, into: &sink)
            } else if ContainerLogFormat.parseCRI(line) != nil {
                envelope = .cri
                decodeCRI(line, into: &sink)
            } else {
                if let first = line.first(where: { $0 != 0x20 && $0 != 0x09 }),
                    first == UInt8(ascii: "{") || first == UInt8(ascii: "[")
                {
                    envelope = .raw
                }
                decodePayload(line, into: &sink)
            }
        }
    }

    private func decodeCRI<Sink: AccessRecordSink>(_ line: UnsafeBufferPointer<UInt8>, into sink: inout Sink) {
        guard let cri = ContainerLogFormat.parseCRI(line) else {
            finishLine(.malformed(.invalidContainerRecord), line, into: &sink)
            return
        }
        let content = UnsafeBufferPointer(rebasing: line[cri.content])
        if cri.isPartial {
            appendPartial(content, stream: cri.stream)
            return
        }
        if partials[cri.stream].isEmpty {
            decodePayload(content, into: &sink)
            return
        }
        appendPartial(content, stream: cri.stream)
        completePartial(stream: cri.stream, into: &sink)
    }

    private func decodeDocker<Sink: AccessRecordSink>(_ line: UnsafeBufferPointer<UInt8>, into sink: inout Sink) {
        var hints: UInt8 = 0
        guard configuration.dockerScanner.scan(line, into: envelopeRecord, hints: &hints) == .record,
            envelopeRecord.isString(ParserConfiguration.dockerLog),
            let log = envelopeRecord.rawBytes(ParserConfiguration.dockerLog)
        else {
            finishLine(.malformed(.invalidContainerRecord), line, into: &sink)
            return
        }
        let stream = ContainerLogFormat.isStderr(envelopeRecord.rawBytes(ParserConfiguration.dockerStream)) ? 1 : 0
        if partials[stream].overflowed {
            if log.last == UInt8(ascii: "n") && log.count >= 2 && log[log.count - 2] == asciiBackslash {
                partials[stream] = PartialLine()
                finishLine(.oversized, line, into: &sink)
            }
            return
        }
        JSONString.decode(log, into: &partials[stream].bytes)
        if partials[stream].bytes.last == 0x0A {
            partials[stream].bytes.removeLast()
            if partials[stream].bytes.last == 0x0D { partials[stream].bytes.removeLast() }
            if partials[stream].bytes.count > configuration.maxLineLength {
                partials[stream] = PartialLine()
                finishLine(.oversized, line, into: &sink)
                return
            }
            completePartial(stream: stream, into: &sink)
        } else if partials[stream].bytes.count > configuration.maxLineLength {
            partials[stream] = PartialLine(bytes: [], overflowed: true)
        }
    }

    private func appendPartial(_ content: UnsafeBufferPointer<UInt8>, stream: Int) {
        guard !partials[stream].overflowed else { return }
        if partials[stream].bytes.count + content.count > configuration.maxLineLength {
            partials[stream] = PartialLine(bytes: [], overflowed: true)
        } else {
            partials[stream].bytes.append(contentsOf: content)
        }
    }

    private func completePartial<Sink: AccessRecordSink>(stream: Int, into sink: inout Sink) {
        if partials[stream].overflowed {
            partials[stream] = PartialLine()
            finishLine(.oversized, UnsafeBufferPointer(start: nil, count: 0), into: &sink)
            return
        }
        // Swap the bytes out so that the buffer keeps its capacity for the next partial line.
        var bytes: [UInt8] = []
        swap(&bytes, &partials[stream].bytes)
        bytes.withUnsafeBufferPointer { decodePayload($0, into: &sink) }
        bytes.removeAll(keepingCapacity: true)
        swap(&bytes, &partials[stream].bytes)
    }

    /// Parses one complete log line as the access-log record it should be.
    private func decodePayload<Sink: AccessRecordSink>(
        _ payload: UnsafeBufferPointer<UInt8>, into sink: inout Sink, incomplete: Bool = false
    ) {
        var start = 0
        while start < payload.count && (payload[start] == 0x20 || payload[start] == 0x09) { start += 1 }
        guard start < payload.count else {
            finishLine(incomplete ? .malformed(.incompletePartial) : .skipped(.empty), payload, into: &sink)
            return
        }
        let body = UnsafeBufferPointer(rebasing: payload[start...])
        let first = payload[start]
        let syntaxes = configuration.syntaxes
        if first == UInt8(ascii: "{") && syntaxes.contains(.json) {
            var hints: UInt8 = 0
            // Borrowed: `scanner` is a `let` of the configuration, reached through a reference the
            // decoder holds for the call, so its key table is used in place instead of being
            // retained and released around every line.
            let record = record
            let status = Unmanaged.passUnretained(configuration)._withUnsafeGuaranteedRef {
                $0.scanner.scan(body, into: record, hints: &hints)
            }
            switch status {
            case .record:
                if detectedPreset == nil { detectedPreset = Self.preset(hints: hints, record: record) }
                counts.count(.parsed)
                sink.consume(record)
            case .notAccessRecord:
                finishLine(.skipped(.notAccessRecord), payload, into: &sink)
            case .malformed(let reason):
                finishLine(.malformed(incomplete ? .incompletePartial : reason), payload, into: &sink)
            }
        } else if first == UInt8(ascii: "[") && syntaxes.contains(.text) {
            switch textParser.parse(body, into: record) {
            case .record:
                if detectedPreset == nil { detectedPreset = .istioText }
                counts.count(.parsed)
                sink.consume(record)
            case .notAccessLog:
                finishLine(incomplete ? .malformed(.incompletePartial) : .skipped(.notAccessLog), payload, into: &sink)
            case .malformed:
                finishLine(.malformed(incomplete ? .incompletePartial : .invalidText), payload, into: &sink)
            }
        } else {
            finishLine(incomplete ? .malformed(.incompletePartial) : .skipped(.notAccessLog), payload, into: &sink)
        }
    }

    static func preset(hints: UInt8, record: AccessRecord) -> FieldMap.Preset {
        if hints & FieldMap.Hints.envoyGateway != 0 { return .envoyGateway }
        if hints & FieldMap.Hints.istioLegacy != 0 { return .istioLegacy }
        return .istio
    }
}
