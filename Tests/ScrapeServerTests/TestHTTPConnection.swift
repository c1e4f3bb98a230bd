import Foundation
import NIOCore
import NIOPosix

/// A response as read off the socket.
struct RawResponse {
    var status: Int
    var headers: [(name: String, value: String)]
    var body: [UInt8]

    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    var text: String { String(decoding: body, as: UTF8.self) }
}

/// One client connection that writes raw request bytes and parses responses by hand, so the
/// tests see exactly what the server put on the wire.
struct TestHTTPConnection {
    private var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    private let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    private var buffer: [UInt8] = []
    private(set) var closedByServer = false

    static func with<T>(
        port: Int, _ body: (inout TestHTTPConnection) async throws -> T
    ) async throws -> T {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            var connection = TestHTTPConnection(inbound: inbound.makeAsyncIterator(), outbound: outbound)
            return try await body(&connection)
        }
    }

    private init(
        inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator,
        outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    ) {
        self.inbound = inbound
        self.outbound = outbound
    }

    mutating func send(_ request: String) async throws {
        try await outbound.write(ByteBuffer(string: request))
    }

    /// `GET`-style request text with the given headers.
    static func request(
        _ method: String = "GET", _ path: String, headers: [(String, String)] = [], version: String = "HTTP/1.1"
    ) -> String {
        var text = "\(method) \(path) \(version)\r\nHost: 127.0.0.1\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        return text + "\r\n"
    }

    /// Reads more bytes; false when the server closed the connection.
    private mutating func fill() async throws -> Bool {
        guard !closedByServer else { return false }
        guard var chunk = try await inbound.next() else {
            closedByServer = true
            return false
        }
        buffer += chunk.readBytes(length: chunk.readableBytes) ?? []
        return true
    }

    /// The next complete response, or nil if the connection closed first.
    mutating func response(toHead: Bool = false) async throws -> RawResponse? {
        let separator: [UInt8] = [13, 10, 13, 10]
        var headEnd: Int?
        while headEnd == nil {
            if let range = buffer.firstRange(of: separator) {
                headEnd = range.upperBound
            } else if !(try await fill()) {
                return nil
            }
        }
        let head = String(decoding: buffer[..<(headEnd! - 4)], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        let status = Int(statusLine[1])!
        let headers = lines.map { line -> (name: String, value: String) in
            let colon = line.firstIndex(of: ":")!
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        if !toHead, headers.contains(where: { $0.name.lowercased() == "transfer-encoding" && $0.value == "chunked" }) {
            buffer.removeFirst(headEnd!)
            guard let body = try await chunkedBody() else { return nil }
            return RawResponse(status: status, headers: headers, body: body)
        }
        let length = toHead ? 0 : Int(headers.first { $0.name.lowercased() == "content-length" }?.value ?? "0")!
        while buffer.count < headEnd! + length {
            guard try await fill() else { return nil }
        }
        let body = Array(buffer[headEnd!..<(headEnd! + length)])
        buffer.removeFirst(headEnd! + length)
        return RawResponse(status: status, headers: headers, body: body)
    }

    /// A chunked body: `size CRLF data CRLF` until a chunk of size 0 and the CRLF after it. Nil
    /// when the connection closes first.
    private mutating func chunkedBody() async throws -> [UInt8]? {
        var body: [UInt8] = []
        while true {
            var lineEnd = buffer.firstRange(of: [13, 10] as [UInt8])
            while lineEnd == nil {
                guard try await fill() else { return nil }
                lineEnd = buffer.firstRange(of: [13, 10] as [UInt8])
            }
            let sizeText = String(decoding: buffer[..<lineEnd!.lowerBound], as: UTF8.self)
            let size = Int(sizeText.split(separator: ";")[0], radix: 16)!
            while buffer.count < lineEnd!.upperBound + size + 2 {
                guard try await fill() else { return nil }
            }
            body += buffer[lineEnd!.upperBound..<(lineEnd!.upperBound + size)]
            buffer.removeFirst(lineEnd!.upperBound + size + 2)
            if size == 0 { return body }
        }
    }

    /// Whether the server closes the connection without sending anything more.
    mutating func closesWithoutResponse() async throws -> Bool {
        while try await fill() {}
        return buffer.isEmpty
    }
}
