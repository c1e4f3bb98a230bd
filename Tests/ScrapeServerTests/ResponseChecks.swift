import Foundation

/// Just enough reading of each format to check a response from the outside: how many histogram
/// series it has, and that each one's `+Inf` bucket equals its count.
enum ResponseChecks {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Text and OpenMetrics: every `…_bucket{…le="+Inf"} N` has a `…_count{…} N`. Returns the
    /// number of histogram series.
    static func textHistograms(_ body: String) throws -> Int {
        var counts: [String: String] = [:]
        var infinities: [(key: String, value: String)] = []
        for line in body.split(separator: "\n") where !line.hasPrefix("#") {
            let sample = line.split(separator: " # ", maxSplits: 1)[0]
            guard let space = sample.lastIndex(of: " ") else { throw Failure(description: "no value: \(line)") }
            let series = sample[..<space]
            let value = String(sample[sample.index(after: space)...])
            if series.contains("_count") {
                counts[String(series).replacingOccurrences(of: "_count", with: "")] = value
            } else if series.hasSuffix("le=\"+Inf\"}") {
                var key = String(series).replacingOccurrences(of: "_bucket", with: "")
                key = key.replacingOccurrences(of: ",le=\"+Inf\"}", with: "}")
                key = key.replacingOccurrences(of: "{le=\"+Inf\"}", with: "")
                infinities.append((key, value))
            }
        }
        for (key, value) in infinities where counts[key] != value {
            throw Failure(description: "+Inf \(value) but _count \(counts[key] ?? "missing") for \(key)")
        }
        return infinities.count
    }

    /// Protobuf: every histogram's last bucket is `+Inf` and equals `sample_count`. Returns the
    /// number of histogram series and the family names.
    static func protobufHistograms(_ body: [UInt8]) throws -> (histograms: Int, names: [String]) {
        var histograms = 0
        var names: [String] = []
        for family in try messages(body) {
            for field in try fields(family) {
                if field.number == 1 { names.append(String(decoding: field.bytes, as: UTF8.self)) }
                guard field.number == 4 else { continue }
                for metricField in try fields(field.bytes) where metricField.number == 7 {
                    var count: UInt64 = 0
                    var last: (count: UInt64, bound: UInt64)?
                    for histogramField in try fields(metricField.bytes) {
                        if histogramField.number == 1 { count = histogramField.value }
                        if histogramField.number == 3 {
                            var bucket: (count: UInt64, bound: UInt64) = (0, 0)
                            for bucketField in try fields(histogramField.bytes) {
                                if bucketField.number == 1 { bucket.count = bucketField.value }
                                if bucketField.number == 2 { bucket.bound = bucketField.value }
                            }
                            last = bucket
                        }
                    }
                    guard let last, last.bound == Double.infinity.bitPattern, last.count == count else {
                        throw Failure(description: "histogram without +Inf bucket equal to its count")
                    }
                    histograms += 1
                }
            }
        }
        return (histograms, names)
    }

    private static func varint(_ bytes: [UInt8], _ index: inout Int) throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while index < bytes.count, shift < 64 {
            let byte = bytes[index]
            index += 1
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
        }
        throw Failure(description: "bad varint")
    }

    private static func messages(_ bytes: [UInt8]) throws -> [[UInt8]] {
        var index = 0
        var result: [[UInt8]] = []
        while index < bytes.count {
            let length = Int(try varint(bytes, &index))
            guard index + length <= bytes.count else { throw Failure(description: "truncated") }
            result.append(Array(bytes[index..<(index + length)]))
            index += length
        }
        return result
    }

    private static func fields(_ bytes: [UInt8]) throws -> [(number: Int, value: UInt64, bytes: [UInt8])] {
        var index = 0
        var result: [(number: Int, value: UInt64, bytes: [UInt8])] = []
        while index < bytes.count {
            let key = try varint(bytes, &index)
            switch key & 7 {
            case 0:
                result.append((Int(key >> 3), try varint(bytes, &index), []))
            case 1:
                guard index + 8 <= bytes.count else { throw Failure(description: "truncated") }
                var value: UInt64 = 0
                for k in 0..<8 { value |= UInt64(bytes[index + k]) << (8 * UInt64(k)) }
                index += 8
                result.append((Int(key >> 3), value, []))
            case 2:
                let length = Int(try varint(bytes, &index))
                guard index + length <= bytes.count else { throw Failure(description: "truncated") }
                result.append((Int(key >> 3), 0, Array(bytes[index..<(index + length)])))
                index += length
            default:
                throw Failure(description: "wire type \(key & 7)")
            }
        }
        return result
    }
}
