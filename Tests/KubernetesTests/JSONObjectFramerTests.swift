import Testing

@testable import Kubernetes

@Suite struct JSONObjectFramerTests {
    static func frame(_ pieces: [String], limit: Int = 1 << 20) throws -> [String] {
        var framer = JSONObjectFramer(maxObjectBytes: limit)
        var objects: [String] = []
        for piece in pieces {
            _ = try Array(piece.utf8).withUnsafeBytes { bytes in
                try framer.append(bytes) { object in
                    objects.append(String(decoding: object, as: UTF8.self))
                    return true
                }
            }
        }
        return objects
    }

    @Test func newlineDelimitedEventsInOnePiece() throws {
        let objects = try Self.frame(["{\"type\":\"ADDED\"}\n{\"type\":\"DELETED\"}\n"])
        #expect(objects == ["{\"type\":\"ADDED\"}", "{\"type\":\"DELETED\"}"])
    }

    @Test func eventsSplitAnywhere() throws {
        let stream = "{\"type\":\"ADDED\",\"object\":{\"a\":[1,{\"b\":2}]}}\n{\"type\":\"BOOKMARK\"}\n"
        let bytes = Array(stream)
        for cut in 1..<bytes.count {
            let objects = try Self.frame([String(bytes[..<cut]), String(bytes[cut...])])
            #expect(objects.count == 2, "cut at \(cut)")
            #expect(objects.first == "{\"type\":\"ADDED\",\"object\":{\"a\":[1,{\"b\":2}]}}")
        }
        let byByte = try Self.frame(bytes.map { String($0) })
        #expect(byByte.count == 2)
    }

    @Test func bracesAndQuotesInsideStringsAreText() throws {
        let event = #"{"message":"a } and { and \" and \\","n":"}"}"#
        #expect(try Self.frame([event + "\r\n" + event]) == [event, event])
    }

    @Test func eventsWithoutNewlinesBetweenThem() throws {
        #expect(try Self.frame(["{\"a\":1}{\"b\":2}"]) == ["{\"a\":1}", "{\"b\":2}"])
    }

    @Test func garbageBetweenEventsIsAnError() {
        #expect(throws: JSONObjectFramer.FramingError.unexpectedByte(UInt8(ascii: "x"))) {
            try Self.frame(["{\"a\":1}\nx"])
        }
    }

    @Test func anEventOverTheLimitIsAnError() {
        #expect(throws: JSONObjectFramer.FramingError.objectTooLarge(limit: 16)) {
            try Self.frame(["{\"a\":\"0123456789", "0123456789\"}"], limit: 16)
        }
    }

    @Test func aPartialEventIsReported() throws {
        var framer = JSONObjectFramer(maxObjectBytes: 100)
        _ = try Array("{\"a\":".utf8).withUnsafeBytes { try framer.append($0) { _ in true } }
        #expect(framer.hasPartialObject)
    }

    @Test func theReceiverCanStopTheStream() throws {
        var framer = JSONObjectFramer(maxObjectBytes: 100)
        var seen = 0
        let proceeded = try Array("{}{}{}".utf8).withUnsafeBytes { bytes in
            try framer.append(bytes) { _ in
                seen += 1
                return false
            }
        }
        #expect(!proceeded)
        #expect(seen == 1)
    }
}
