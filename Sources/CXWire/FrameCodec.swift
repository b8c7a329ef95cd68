import CXModel
import NIOCore

/// Turns the inbound byte stream into frame messages (inflated when
/// compressed), one `ByteBuffer` each. Errors are ``FrameError``s fired
/// down the pipeline; the connection handler answers them by closing.
///
/// A channel handler of its own rather than a `ByteToMessageDecoder` inside
/// NIO's `ByteToMessageHandler`: that handler is generic, and called from
/// our module it runs unspecialized, looking up its type metadata on every
/// read. In a profile of `cx-bench wire` at 16x8 it cost about 10% of all
/// CPU time over the parsing itself, this handler 3.5%; framing needs none
/// of its generality (re-entrant reads, removal mid-stream, half-closure).
///
/// Messages are slices of the buffers NIO read into: no copy, except for a
/// frame split across reads, whose bytes are gathered in `pending`.
public final class FrameDecoder: ChannelInboundHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer

    private let parser: FrameParser
    /// The start of a frame whose rest has not arrived.
    private var pending: ByteBuffer?
    /// A bad frame was seen, or the channel went inactive: the stream is
    /// out of step (or over), and anything read after is dropped.
    private var stopped = false

    public init(maxMessageSize: Int = WireLimits.default.maxMessageSize) {
        parser = FrameParser(maxMessageSize: maxMessageSize)
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !stopped else { return }
        var buffer = unwrapInboundIn(data)
        if var gathered = pending {
            pending = nil
            gathered.writeBuffer(&buffer)
            buffer = gathered
        }
        // `stopped` is checked again after each message, in case the handler
        // it went to closed the channel and it went inactive meanwhile; the
        // connection handlers also ignore what arrives once they are closing.
        while !stopped {
            let message: ByteBuffer?
            do {
                message = try parser.nextMessage(from: &buffer)
            } catch {
                stopped = true
                context.fireErrorCaught(error)
                return
            }
            guard let message else { break }
            context.fireChannelRead(wrapInboundOut(message))
        }
        if !stopped && buffer.readableBytes > 0 {
            pending = buffer
        }
    }

    public func channelInactive(context: ChannelHandlerContext) {
        if !stopped, let pending, pending.readableBytes > 0 {
            let expected = pending.getInteger(at: pending.readerIndex + 1, as: UInt32.self)
                .map { Int($0) + FrameParser.headerSize } ?? FrameParser.headerSize
            context.fireErrorCaught(FrameError.truncatedFrame(received: pending.readableBytes, expected: expected))
        }
        stopped = true
        pending = nil
        context.fireChannelInactive()
    }
}

/// Compresses outbound frames per ``WireLimits/compressionThreshold``;
/// passes smaller ones through untouched.
///
/// The connection handlers write whole frames, header included and not
/// compressed: ``FastFrames`` for requests and OK responses, and
/// `Cx_Wire_V1_Frame.framedBuffer()` for the rest.
public final class FrameEncoder: ChannelOutboundHandler, Sendable {
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    private let compressionThreshold: Int?

    public init(compressionThreshold: Int? = WireLimits.default.compressionThreshold) {
        self.compressionThreshold = compressionThreshold
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard let threshold = compressionThreshold else {
            context.write(data, promise: promise)
            return
        }
        let frame = unwrapOutboundIn(data)
        let length = frame.readableBytes - FrameParser.headerSize
        guard length >= threshold else {
            context.write(data, promise: promise)
            return
        }
        let message = frame.getSlice(at: frame.readerIndex + FrameParser.headerSize, length: length)!
        var out = context.channel.allocator.buffer(capacity: length / 2 + FrameParser.headerSize)
        FrameParser.writeFrame(message: message, compressionThreshold: threshold, into: &out)
        context.write(wrapOutboundOut(out), promise: promise)
    }
}
