/// A minimal protocol buffers reader for the tests, written from the wire format rather than
/// from the writer, so the two cannot share a mistake.
struct ProtoField {
    var number: Int
    var wireType: Int
    /// Varint value (wire type 0) or the raw bits (wire type 1).
    var integer: UInt64 = 0
    /// Wire type 2 contents.
    var bytes: [UInt8] = []

    var double: Double { Double(bitPattern: integer) }
    var string: String { String(decoding: bytes, as: UTF8.self) }
    var signed: Int64 { Int64(bitPattern: (integer >> 1) ^ (0 &- (integer & 1))) }
}

struct ProtoDecodeError: Error, CustomStringConvertible {
    var description: String
}

enum ProtoReader {
    static func varint(_ bytes: [UInt8], _ index: inout Int) throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard index < bytes.count else { throw ProtoDecodeError(description: "truncated varint") }
            let byte = bytes[index]
            index += 1
            guard shift < 64 else { throw ProtoDecodeError(description: "varint too long") }
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
        }
    }

    static func fields(_ bytes: [UInt8]) throws -> [ProtoField] {
        var fields: [ProtoField] = []
        var index = 0
        while index < bytes.count {
            let key = try varint(bytes, &index)
            var field = ProtoField(number: Int(key >> 3), wireType: Int(key & 7))
            switch field.wireType {
            case 0:
                field.integer = try varint(bytes, &index)
            case 1:
                guard index + 8 <= bytes.count else { throw ProtoDecodeError(description: "truncated fixed64") }
                for k in 0..<8 { field.integer |= UInt64(bytes[index + k]) << (8 * UInt64(k)) }
                index += 8
            case 2:
                let length = Int(try varint(bytes, &index))
                guard index + length <= bytes.count else { throw ProtoDecodeError(description: "truncated bytes") }
                field.bytes = Array(bytes[index..<(index + length)])
                index += length
            default:
                throw ProtoDecodeError(description: "unexpected wire type \(field.wireType)")
            }
            fields.append(field)
        }
        return fields
    }

    /// Splits a delimited stream into its messages.
    static func delimited(_ bytes: [UInt8]) throws -> [[UInt8]] {
        var messages: [[UInt8]] = []
        var index = 0
        while index < bytes.count {
            let length = Int(try varint(bytes, &index))
            guard index + length <= bytes.count else { throw ProtoDecodeError(description: "truncated message") }
            messages.append(Array(bytes[index..<(index + length)]))
            index += length
        }
        return messages
    }

    static func packedSigned(_ bytes: [UInt8]) throws -> [Int64] {
        var values: [Int64] = []
        var index = 0
        while index < bytes.count {
            let raw = try varint(bytes, &index)
            values.append(Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1))))
        }
        return values
    }
}

// MARK: - io.prometheus.client messages

struct DecodedExemplar: Equatable {
    var labels: [String: String] = [:]
    var value: Double = 0
    var timestamp: Double?
}

struct DecodedBucket: Equatable {
    var cumulativeCount: UInt64 = 0
    var upperBound: Double = 0
    var exemplar: DecodedExemplar?
}

struct DecodedSpan: Equatable {
    var offset: Int32 = 0
    var length: UInt32 = 0
}

struct DecodedHistogram: Equatable {
    var sampleCount: UInt64 = 0
    var sampleSum: Double = 0
    var buckets: [DecodedBucket] = []
    var schema: Int32?
    var zeroThreshold: Double?
    var zeroCount: UInt64?
    var negativeSpans: [DecodedSpan] = []
    var negativeDeltas: [Int64] = []
    var positiveSpans: [DecodedSpan] = []
    var positiveDeltas: [Int64] = []
    var created: Double?
}

struct DecodedMetric: Equatable {
    var labels: [String: String] = [:]
    var labelOrder: [String] = []
    var gauge: Double?
    var counter: Double?
    var counterExemplar: DecodedExemplar?
    var counterCreated: Double?
    var untyped: Double?
    var histogram: DecodedHistogram?
}

struct DecodedFamily: Equatable {
    var name = ""
    var help = ""
    var type: UInt64?
    var unit: String?
    var metrics: [DecodedMetric] = []
}

enum PrometheusProtoDecoder {
    static func families(_ bytes: [UInt8]) throws -> [DecodedFamily] {
        try ProtoReader.delimited(bytes).map(family)
    }

    static func family(_ bytes: [UInt8]) throws -> DecodedFamily {
        var family = DecodedFamily()
        for field in try ProtoReader.fields(bytes) {
            switch (field.number, field.wireType) {
            case (1, 2): family.name = field.string
            case (2, 2): family.help = field.string
            case (3, 0): family.type = field.integer
            case (4, 2): family.metrics.append(try metric(field.bytes))
            case (5, 2): family.unit = field.string
            default: throw ProtoDecodeError(description: "MetricFamily: unexpected field \(field.number)")
            }
        }
        return family
    }

    static func labelPair(_ bytes: [UInt8]) throws -> (String, String) {
        var name = ""
        var value = ""
        for field in try ProtoReader.fields(bytes) {
            switch (field.number, field.wireType) {
            case (1, 2): name = field.string
            case (2, 2): value = field.string
            default: throw ProtoDecodeError(description: "LabelPair: unexpected field \(field.number)")
            }
        }
        return (name, value)
    }

    static func timestamp(_ bytes: [UInt8]) throws -> Double {
        var seconds: Int64 = 0
        var nanos: Int64 = 0
        for field in try ProtoReader.fields(bytes) {
            switch (field.number, field.wireType) {
            case (1, 0): seconds = Int64(bitPattern: field.integer)
            case (2, 0): nanos = Int64(Int32(truncatingIfNeeded: field.integer))
            default: throw ProtoDecodeError(description: "Timestamp: unexpected field \(field.number)")
            }
        }
        return Double(seconds) + Double(nanos) / 1e9
    }

    static func exemplar(_ bytes: [UInt8]) throws -> DecodedExemplar {
        var exemplar = DecodedExemplar()
        for field in try ProtoReader.fields(bytes) {
            switch (field.number, field.wireType) {
            case (1, 2):
                let (name, value) = try labelPair(field.bytes)
                exemplar.labels[name] = value
            case (2, 1): exemplar.value = field.double
            case (3, 2): exemplar.timestamp = try timestamp(field.bytes)
            default: throw ProtoDecodeError(description: "Exemplar: unexpected field \(field.number)")
            }
        }
        return exemplar
    }

    static func singleDouble(_ bytes: [UInt8], message: String) throws -> Double {
        var value = 0.0
        for field in try ProtoReader.fields(bytes) {
            guard field.number == 1, field.wireType == 1 else {
                throw ProtoDecodeError(description: "\(message): unexpected field \(field.number)")
            }
            value = field.double
        }
        return value
    }

    static func metric(_ bytes: [UInt8]) throws -> DecodedMetric {
        var metric = DecodedMetric()
        for field in try ProtoReader.fields(bytes) {
            switch (field.number, field.wireType) {
            case (1, 2):
                let (name, value) = try labelPair(field.bytes)
                metric.labels[name] = value
                metric.labelOrder.append(name)
            case (2, 2): metric.gauge = try singleDouble(field.bytes, message: "Gauge")
            case (3, 2):
                metric.counter = 0
                for inner in try ProtoReader.fields(field.bytes) {
                    switch (inner.number, inner.wireType) {
                    case (1, 1): metric.counter = inner.double
                    case (2, 2): metric.counterExemplar = try exemplar(inner.bytes)
                    case (3, 2): metric.counterCreated = try timestamp(inner.bytes)
                    default: throw ProtoDecodeError(description: "Counter: unexpected field \(inner.number)")
                    }
                }
            case (5, 2): metric.untyped = try singleDouble(field.bytes, message: "Untyped")
            case (7, 2): metric.histogram = try histogram(field.bytes)
            default: throw ProtoDecodeError(description: "Metric: unexpected field \(field.number)")
            }
        }
        return metric
    }

    static func span(_ bytes: [UInt8]) throws -> DecodedSpan {
        var span = DecodedSpan()
        for field in try ProtoReader.fields(bytes) {
            switch (field.number, field.wireType) {
            case (1, 0): span.offset = Int32(truncatingIfNeeded: field.signed)
            case (2, 0): span.length = UInt32(truncatingIfNeeded: field.integer)
            default: throw ProtoDecodeError(description: "BucketSpan: unexpected field \(field.number)")
            }
        }
        return span
    }

    static func histogram(_ bytes: [UInt8]) throws -> DecodedHistogram {
        var histogram = DecodedHistogram()
        for field in try ProtoReader.fields(bytes) {
            switch (field.number, field.wireType) {
            case (1, 0): histogram.sampleCount = field.integer
            case (2, 1): histogram.sampleSum = field.double
            case (3, 2):
                var bucket = DecodedBucket()
                for inner in try ProtoReader.fields(field.bytes) {
                    switch (inner.number, inner.wireType) {
                    case (1, 0): bucket.cumulativeCount = inner.integer
                    case (2, 1): bucket.upperBound = inner.double
                    case (3, 2): bucket.exemplar = try exemplar(inner.bytes)
                    default: throw ProtoDecodeError(description: "Bucket: unexpected field \(inner.number)")
                    }
                }
                histogram.buckets.append(bucket)
            case (5, 0): histogram.schema = Int32(truncatingIfNeeded: field.signed)
            case (6, 1): histogram.zeroThreshold = field.double
            case (7, 0): histogram.zeroCount = field.integer
            case (9, 2): histogram.negativeSpans.append(try span(field.bytes))
            case (10, 2): histogram.negativeDeltas += try ProtoReader.packedSigned(field.bytes)
            case (12, 2): histogram.positiveSpans.append(try span(field.bytes))
            case (13, 2): histogram.positiveDeltas += try ProtoReader.packedSigned(field.bytes)
            case (15, 2): histogram.created = try timestamp(field.bytes)
            default: throw ProtoDecodeError(description: "Histogram: unexpected field \(field.number)")
            }
        }
        return histogram
    }
}
