import NIOCore
import NIOHTTP1

/// Answers a request the HTTP decoder could not parse: 431 when its head was over the size limit,
/// 400 otherwise, then closes the connection (see ``LingeringClose``).
///
/// It stands where NIO's `HTTPServerProtocolErrorHandler` would, because that handler answers
/// every parse error with 400 and a client that sent too large a head deserves to know why.
final class ProtocolErrorResponder: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// Whether a response head went out without its end yet: then no error response can be
    /// started, and the connection just closes.
    private var responseInProgress = false

    /// Set once a parse error was answered; the connection is then only drained and closed.
    private var failed = false

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if failed, error is ByteToMessageDecoderError {
            // Bytes that arrived after the parse error: discarded while lingering.
            return
        }
        guard let parserError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        failed = true
        guard !responseInProgress else {
            // Half a response is out; nothing sensible can follow it.
            context.close(promise: nil)
            return
        }
        let status: HTTPResponseStatus = parserError == .headerOverflow ? .requestHeaderFieldsTooLarge : .badRequest
        let headers = HTTPHeaders([("connection", "close"), ("content-length", "0")])
        let head = HTTPResponseHead(version: .http1_1, status: status, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            LingeringClose.start(context: context)
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head:
            // logmetrics sends no informational (1xx) responses, so every head starts a response.
            responseInProgress = true
        case .end:
            responseInProgress = false
        case .body:
            break
        }
        context.write(data, promise: promise)
    }
}
