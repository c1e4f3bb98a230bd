import Exposition
import NIOCore
import NIOHTTP1
import NIOPosix

/// Serves the requests of one connection: routes them, offloads scrapes to the thread pool,
/// writes responses and enforces the per-connection limits.
///
/// One request is handled at a time; NIO's pipelining handler in front holds back any request
/// a client sends before the previous response has ended. A timer runs whenever the handler
/// waits on the client (for a request, for the rest of a request, or for it to take a response)
/// and closes the connection when it fires.
final class ScrapeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// What a connection shares with the server; everything in it is safe to hand to the thread
    /// pool.
    struct Shared: Sendable {
        var configuration: ScrapeServer.Configuration
        var renderer: ScrapeRenderer
        var isReady: @Sendable () -> Bool
        var threadPool: NIOThreadPool
        var pages: [String: ScrapeServer.Page] = [:]
        var connections: ConnectionRegistry? = nil
    }

    private enum State {
        /// Waiting for a request head.
        case idle
        /// A head arrived; waiting for the end of the request.
        case receiving(HTTPRequestHead, bodyBytes: Int)
        /// Producing or writing a response; further input is not expected.
        case responding
        /// A response that ends the connection is on its way; input is ignored.
        case closing
    }

    private let shared: Shared
    private var state = State.idle
    private var timeout: Scheduled<Void>?

    init(shared: Shared) {
        self.shared = shared
    }

    // MARK: Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { startTimeout(context: context, shared.configuration.idleTimeout) }
    }

    func channelActive(context: ChannelHandlerContext) {
        startTimeout(context: context, shared.configuration.idleTimeout)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimeout()
        state = .closing
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Parse errors were answered by `ProtocolErrorResponder`; I/O errors leave nothing to say.
        cancelTimeout()
        state = .closing
        context.close(promise: nil)
    }

    // MARK: Reading

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch (unwrapInboundIn(data), state) {
        case (.head(let head), .idle):
            if let length = head.headers.first(name: "content-length").flatMap(Int.init),
                length > shared.configuration.maxRequestBodyBytes
            {
                reject(context: context, head)
                return
            }
            state = .receiving(head, bodyBytes: 0)
            // A fresh allowance for the rest of the request: the head came in time.
            startTimeout(context: context, shared.configuration.idleTimeout)
        case (.body(let buffer), .receiving(let head, let bodyBytes)):
            let total = bodyBytes + buffer.readableBytes
            if total > shared.configuration.maxRequestBodyBytes {
                reject(context: context, head)
                return
            }
            state = .receiving(head, bodyBytes: total)
        case (.end, .receiving(let head, _)):
            cancelTimeout()
            state = .responding
            respond(context: context, to: head)
        default:
            // Input after a rejection, or a part out of order (which the decoder does not
            // produce): nothing to do.
            break
        }
    }

    // MARK: Routing

    private func respond(context: ChannelHandlerContext, to head: HTTPRequestHead) {
        guard let authenticator = shared.configuration.authenticator else {
            return route(context: context, head)
        }
        let authorization = head.headers.first(name: "authorization")
        switch authenticator.quick(authorization: authorization) {
        case .allowed:
            return route(context: context, head)
        case .refused:
            return unauthorized(context: context, head)
        case .busy:
            return writeResponse(
                context: context, head, status: .tooManyRequests, body: "a password check is running; retry\n",
                extraHeaders: [("retry-after", "1")], keepAlive: head.isKeepAlive)
        case .needsCheck:
            break
        }
        shared.threadPool.runIfActive(eventLoop: context.eventLoop) {
            authenticator.check(authorization: authorization)
        }.assumeIsolated().whenComplete { result in
            switch result {
            case .success(true):
                self.route(context: context, head)
            case .success(false):
                self.unauthorized(context: context, head)
            case .failure:
                self.writeResponse(
                    context: context, head, status: .serviceUnavailable, body: "shutting down\n", keepAlive: false)
            }
        }
    }

    private func unauthorized(context: ChannelHandlerContext, _ head: HTTPRequestHead) {
        writeResponse(
            context: context, head, status: .unauthorized, body: "unauthorized\n",
            extraHeaders: [("www-authenticate", "Basic realm=\"logmetrics\", charset=\"UTF-8\"")],
            keepAlive: head.isKeepAlive)
    }

    private func route(context: ChannelHandlerContext, _ head: HTTPRequestHead) {
        // Busy (not to be evicted) only once it is a request that will be answered: a flood of
        // unauthenticated requests stays evictable.
        shared.connections?.setBusy(context.channel, true)
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let keepAlive = head.isKeepAlive
        let isKnownPath =
            path == shared.configuration.metricsPath || path == "/healthz" || path == "/readyz"
            || shared.pages[String(path)] != nil
        guard isKnownPath else {
            writeResponse(context: context, head, status: .notFound, body: "not found\n", keepAlive: keepAlive)
            return
        }
        guard head.method == .GET || head.method == .HEAD else {
            writeResponse(
                context: context, head, status: .methodNotAllowed, body: "method not allowed\n",
                extraHeaders: [("allow", "GET, HEAD")], keepAlive: keepAlive)
            return
        }
        switch path {
        case "/healthz":
            writeResponse(context: context, head, status: .ok, body: "ok", keepAlive: keepAlive)
        case "/readyz":
            let ready = shared.isReady()
            writeResponse(
                context: context, head, status: ready ? .ok : .serviceUnavailable, body: ready ? "ready" : "not ready",
                keepAlive: keepAlive)
        case shared.configuration.metricsPath:
            scrape(context: context, head, keepAlive: keepAlive)
        default:
            page(shared.pages[String(path)]!, context: context, head, keepAlive: keepAlive)
        }
    }

    /// A page other than the metrics (the status page), made on the thread pool like a scrape.
    private func page(
        _ page: @escaping ScrapeServer.Page, context: ChannelHandlerContext, _ head: HTTPRequestHead, keepAlive: Bool
    ) {
        shared.threadPool.runIfActive(eventLoop: context.eventLoop) {
            page()
        }.assumeIsolated().whenComplete { result in
            switch result {
            case .success(let made):
                var headers = HTTPHeaders()
                headers.add(name: "content-type", value: made.contentType)
                headers.add(name: "cache-control", value: "no-store")
                let body = context.channel.allocator.buffer(bytes: made.body)
                self.writeResponse(
                    context: context, head, status: .ok, headers: headers, body: body, keepAlive: keepAlive)
            case .failure:
                self.writeResponse(
                    context: context, head, status: .serviceUnavailable, body: "shutting down\n", keepAlive: false)
            }
        }
    }

    private func scrape(context: ChannelHandlerContext, _ head: HTTPRequestHead, keepAlive: Bool) {
        let format = ExpositionFormat.negotiate(accept: head.headers.first(name: "accept"))
        let coding = ContentCoding.negotiate(acceptEncoding: head.headers.first(name: "accept-encoding"))
        // HTTP/1.1 GETs get the body as it is made (chunked); HEAD and HTTP/1.0 need its length.
        if head.method == .GET && head.version.major == 1 && head.version.minor >= 1 {
            return streamScrape(context: context, head, format: format, coding: coding, keepAlive: keepAlive)
        }
        let renderer = shared.renderer
        let recordsScrape = head.method == .GET
        shared.threadPool.runIfActive(eventLoop: context.eventLoop) {
            renderer.render(format: format, coding: coding, recordsScrape: recordsScrape)
        }.assumeIsolated().whenComplete { result in
            switch result {
            case .success(let rendered):
                self.writeResponse(
                    context: context, head, status: .ok, headers: Self.scrapeHeaders(format, rendered.coding),
                    body: rendered.body.chunks,
                    keepAlive: keepAlive)
                _ = self.shared.threadPool.runIfActive(eventLoop: context.eventLoop) { renderer.releaseFreeMemory() }
            case .failure:
                // The thread pool is shutting down, and so is the server.
                self.writeResponse(
                    context: context, head, status: .serviceUnavailable, body: "shutting down\n", keepAlive: false)
            }
        }
    }

    /// A scrape whose body is written chunk by chunk while the thread pool renders it: the head
    /// when the renderer knows the coding, each chunk as it is made, the end when it is done. The
    /// renderer's calls come from the pool thread and are carried to the event loop in order.
    private func streamScrape(
        context: ChannelHandlerContext, _ head: HTTPRequestHead, format: ExpositionFormat, coding: ContentCoding,
        keepAlive: Bool
    ) {
        let renderer = shared.renderer
        let loop = context.eventLoop
        let bound = NIOLoopBound(StreamTarget(handler: self, context: context), eventLoop: loop)
        shared.threadPool.runIfActive(eventLoop: loop) {
            renderer.render(
                format: format, coding: coding, recordsScrape: true,
                begin: { used in
                    loop.execute {
                        bound.value.handler.writeHead(
                            context: bound.value.context, head, status: .ok, headers: Self.scrapeHeaders(format, used),
                            length: nil, keepAlive: keepAlive)
                    }
                },
                send: { chunk in
                    loop.execute {
                        let target = bound.value
                        guard target.context.channel.isActive else { return }
                        target.context.writeAndFlush(
                            target.handler.wrapOutboundOut(.body(.byteBuffer(chunk))), promise: nil)
                    }
                })
        }.assumeIsolated().whenComplete { result in
            switch result {
            case .success:
                self.finishResponse(context: context, head, keepAlive: keepAlive)
                _ = self.shared.threadPool.runIfActive(eventLoop: context.eventLoop) { renderer.releaseFreeMemory() }
            case .failure:
                // The thread pool is shutting down before the scrape began: nothing was written.
                self.writeResponse(
                    context: context, head, status: .serviceUnavailable, body: "shutting down\n", keepAlive: false)
            }
        }
    }

    /// A scrape response's headers: the format, the coding the body is in, and what they vary by.
    private static func scrapeHeaders(_ format: ExpositionFormat, _ coding: ContentCoding) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: format.contentType)
        if let encoding = coding.headerValue { headers.add(name: "content-encoding", value: encoding) }
        headers.add(name: "vary", value: "Accept, Accept-Encoding")
        return headers
    }

    /// What a streamed scrape writes to, held on the event loop.
    private struct StreamTarget {
        let handler: ScrapeHandler
        let context: ChannelHandlerContext
    }

    // MARK: Writing

    /// Answers 413 and closes: reading on to the end of an oversized body would be the very cost
    /// the limit exists to avoid.
    private func reject(context: ChannelHandlerContext, _ head: HTTPRequestHead) {
        cancelTimeout()
        state = .closing
        writeResponse(
            context: context, head, status: .payloadTooLarge, body: "request body too large\n", keepAlive: false)
    }

    private func writeResponse(
        context: ChannelHandlerContext, _ request: HTTPRequestHead, status: HTTPResponseStatus, body: String,
        extraHeaders: [(String, String)] = [], keepAlive: Bool
    ) {
        var headers = HTTPHeaders(extraHeaders)
        headers.add(name: "content-type", value: "text/plain; charset=utf-8")
        let buffer = context.channel.allocator.buffer(string: body)
        writeResponse(context: context, request, status: status, headers: headers, body: buffer, keepAlive: keepAlive)
    }

    /// Writes a complete response, then either waits for the next request or closes.
    ///
    /// A response to HEAD carries the same headers, `content-length` included, and no body.
    private func writeResponse(
        context: ChannelHandlerContext, _ request: HTTPRequestHead, status: HTTPResponseStatus, headers: HTTPHeaders,
        body: ByteBuffer, keepAlive: Bool
    ) {
        writeResponse(context: context, request, status: status, headers: headers, body: [body], keepAlive: keepAlive)
    }

    /// The same with the body in pieces, written one after another.
    private func writeResponse(
        context: ChannelHandlerContext, _ request: HTTPRequestHead, status: HTTPResponseStatus, headers: HTTPHeaders,
        body: [ByteBuffer], keepAlive: Bool
    ) {
        guard context.channel.isActive else { return }
        writeHead(
            context: context, request, status: status, headers: headers,
            length: body.reduce(0) { $0 + $1.readableBytes }, keepAlive: keepAlive)
        if request.method != .HEAD {
            for chunk in body where chunk.readableBytes > 0 {
                context.write(wrapOutboundOut(.body(.byteBuffer(chunk))), promise: nil)
            }
        }
        finishResponse(context: context, request, keepAlive: keepAlive)
    }

    /// Writes a response's head: with `content-length` when the length is known, chunked when it
    /// is not (the body then follows as it is made; HTTP/1.1 only).
    private func writeHead(
        context: ChannelHandlerContext, _ request: HTTPRequestHead, status: HTTPResponseStatus, headers: HTTPHeaders,
        length: Int?, keepAlive: Bool
    ) {
        guard context.channel.isActive else { return }
        var headers = headers
        if let length {
            headers.add(name: "content-length", value: String(length))
        } else {
            headers.add(name: "transfer-encoding", value: "chunked")
        }
        if !keepAlive {
            headers.add(name: "connection", value: "close")
        } else if request.version.major == 1 && request.version.minor == 0 {
            headers.add(name: "connection", value: "keep-alive")
        }
        let responseHead = HTTPResponseHead(version: request.version, status: status, headers: headers)
        context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
    }

    /// Ends the response written so far, then either waits for the next request or closes.
    private func finishResponse(context: ChannelHandlerContext, _ request: HTTPRequestHead, keepAlive: Bool) {
        guard context.channel.isActive else { return }
        startTimeout(context: context, shared.configuration.writeTimeout)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { result in
            self.cancelTimeout()
            guard case .success = result else {
                context.close(promise: nil)
                return
            }
            if case .closing = self.state {
                // Rejected before the request was read to its end: the client may still be
                // sending.
                LingeringClose.start(context: context)
                return
            }
            guard keepAlive, case .responding = self.state else {
                context.close(promise: nil)
                return
            }
            self.state = .idle
            self.shared.connections?.setBusy(context.channel, false)
            self.startTimeout(context: context, self.shared.configuration.idleTimeout)
        }
    }

    // MARK: Timeout

    private func startTimeout(context: ChannelHandlerContext, _ duration: Duration) {
        timeout?.cancel()
        timeout = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(duration)) {
            context.close(promise: nil)
        }
    }

    private func cancelTimeout() {
        timeout?.cancel()
        timeout = nil
    }
}
