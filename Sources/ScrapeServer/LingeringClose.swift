import NIOCore

/// Closes a connection on which the client may still be sending.
///
/// Closing a socket with unread input makes the kernel send a reset, and a reset can destroy
/// the response we just wrote before the client reads it: the client would see "connection
/// reset" instead of the 413 or 431 explaining why. So the server closes its sending side
/// first, keeps reading (and discarding) for a short while, and closes fully when the client
/// hangs up or the time runs out.
enum LingeringClose {
    static let linger = TimeAmount.seconds(2)

    /// Call on the event loop, after the final response part was written.
    static func start(context: ChannelHandlerContext) {
        context.close(mode: .output, promise: nil)
        context.eventLoop.assumeIsolated().scheduleTask(in: linger) {
            context.close(promise: nil)
        }
    }
}
