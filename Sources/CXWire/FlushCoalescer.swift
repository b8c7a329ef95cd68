import NIOCore

/// Turns many flushes into one: answers (or requests) written together
/// leave in one write syscall.
///
/// Sits in every CX pipeline next to the socket, before the frame decoder;
/// the connection handlers just flush after each frame and this decides
/// when:
/// - during a socket read (the frames of one read are handled one after
///   another, and a synchronous handler answers each at once), at the
///   read's `channelReadComplete`, as a pipelined NIO server flushes;
/// - at any other time (an async handler's answer coming back, a call
///   started from a task or another connection's read), once at the end of
///   the event loop's tick.
///
/// Flushing at the end of the read rather than the end of the tick sends a
/// read's answers while the loop still has other connections to serve, so
/// the peer can take them up meanwhile; it also spares a task on the loop.
final class FlushCoalescer: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Inside a socket read: between its first `channelRead` and its `channelReadComplete`.
    private var reading = false
    /// A flush was asked for during the read.
    private var flushAtReadComplete = false
    /// A flush is scheduled for the end of the tick.
    private var scheduled = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        reading = true
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        reading = false
        if flushAtReadComplete {
            flushAtReadComplete = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        reading = false
        flushAtReadComplete = false
        context.fireChannelInactive()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        context.write(data, promise: promise)
    }

    func flush(context: ChannelHandlerContext) {
        if reading {
            flushAtReadComplete = true
            return
        }
        guard !scheduled else { return }
        scheduled = true
        // The strong captures are on purpose: a weak reference would give this
        // handler a side table, and every retain and release would go slow.
        let context = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.value.eventLoop.assumeIsolated().execute {
            self.scheduled = false
            context.value.flush()
        }
    }
}
