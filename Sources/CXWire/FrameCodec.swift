import CXModel
import NIOCore

/// Turns the inbound byte stream into frame messages (inflated when
/// compressed), one `ByteBuffer` each. Errors are ``FrameError``s fired
/// down the pipeline; the connection handler answers them by closing.
public struct FrameDecoder: ByteToMessageDecoder, Sendable {
    public typealias InboundOut = ByteBuffer

    private let parser: FrameParser

    public init(maxMessageSize: Int = WireLimits.default.maxMessageSize) {
        parser = FrameParser(maxMessageSize: maxMessageSize)
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let message = try parser.nextMessage(from: &buffer) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(message))
        return .continue
    }

    public mutating func decodeLast(
        context: ChannelHandlerContext,
        buffer: inout ByteBuffer,
        seenEOF: Bool
    ) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        if buffer.readableBytes > 0 {
            let expected = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt32.self)
                .map { Int($0) + FrameParser.headerSize } ?? FrameParser.headerSize
            let received = buffer.readableBytes
            buffer.moveReaderIndex(forwardBy: received)
            throw FrameError.truncatedFrame(received: received, expected: expected)
        }
        return .needMoreData
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
