import NIOCore

/// Turns the flushes of one event-loop tick into one: answers (or
/// requests) finished together leave in one write syscall.
///
/// Sits in every CX pipeline between the frame encoder and the socket; the
/// connection handlers just flush after each frame and this decides when.
final class FlushCoalescer: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var scheduled = false

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        context.write(data, promise: promise)
    }

    func flush(context: ChannelHandlerContext) {
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
