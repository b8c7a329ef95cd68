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

/// Serializes outbound `Frame` envelopes and writes them framed, compressing
/// large ones per ``WireLimits/compressionThreshold``.
public final class FrameEncoder: ChannelOutboundHandler, Sendable {
    public typealias OutboundIn = Cx_Wire_V1_Frame
    public typealias OutboundOut = ByteBuffer

    private let compressionThreshold: Int?

    public init(compressionThreshold: Int? = WireLimits.default.compressionThreshold) {
        self.compressionThreshold = compressionThreshold
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let frame = unwrapOutboundIn(data)
        do {
            var message = try frame.serializedBuffer()
            let length = message.readableBytes
            if let threshold = compressionThreshold, length >= threshold {
                var out = context.channel.allocator.buffer(capacity: length / 2 + FrameParser.headerSize)
                FrameParser.writeFrame(message: message, compressionThreshold: threshold, into: &out)
                context.write(wrapOutboundOut(out), promise: promise)
            } else if message.readerIndex >= FrameParser.headerSize {
                // Serialized with headroom: put the header in front, no copy.
                message.moveReaderIndex(to: message.readerIndex - FrameParser.headerSize)
                message.setInteger(UInt8(0), at: message.readerIndex)
                message.setInteger(UInt32(length), at: message.readerIndex + 1)
                context.write(wrapOutboundOut(message), promise: promise)
            } else {
                var out = context.channel.allocator.buffer(capacity: length + FrameParser.headerSize)
                FrameParser.writeFrame(message: message, compressionThreshold: nil, into: &out)
                context.write(wrapOutboundOut(out), promise: promise)
            }
        } catch {
            promise?.fail(error)
        }
    }
}
