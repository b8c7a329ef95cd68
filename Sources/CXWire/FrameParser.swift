import CXModel
import CompressNIO
import NIOCore

/// What is wrong with the bytes a peer sent. Each one ends the connection:
/// after it, the stream can no longer be trusted to be in step.
public enum FrameError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The header announced a message longer than the limit.
    case messageTooLarge(length: Int, limit: Int)
    /// A flag bit other than bit 0 (compressed) was set.
    case reservedFlagsSet(flags: UInt8)
    /// A compressed message inflates past the limit (a zip bomb, or simply too big).
    case inflatedTooLarge(limit: Int)
    /// A compressed message is not a valid zlib stream.
    case corruptCompressedMessage
    /// The connection ended inside a frame.
    case truncatedFrame(received: Int, expected: Int)
    /// The message is not a valid `cx.wire.v1.Frame`.
    case malformedEnvelope(String)

    public var description: String {
        switch self {
        case .messageTooLarge(let length, let limit):
            "frame announces a \(length)-byte message; the limit is \(limit) bytes"
        case .reservedFlagsSet(let flags):
            "frame flags 0x\(String(flags, radix: 16)) set reserved bits; only bit 0 (compressed) is defined"
        case .inflatedTooLarge(let limit):
            "compressed message inflates past the \(limit)-byte limit"
        case .corruptCompressedMessage:
            "compressed message is not a valid zlib (RFC 1950) stream"
        case .truncatedFrame(let received, let expected):
            "connection ended inside a frame: \(received) of \(expected) bytes received"
        case .malformedEnvelope(let detail):
            "message is not a valid cx.wire.v1.Frame: \(detail)"
        }
    }
}

/// Splits a byte stream into frame messages: `flags` (1 byte), `length`
/// (4 bytes, big-endian), then `length` bytes of message, zlib-compressed
/// when flag bit 0 is set.
///
/// Plain logic over `ByteBuffer`, no channel: ``FrameStream`` uses it
/// inside the connection handlers. A length over the limit is refused from the header alone, before
/// the message is buffered; inflating is bounded by the same limit.
public struct FrameParser: Sendable {
    public static let headerSize = 5
    public static let compressedFlag: UInt8 = 0x01

    public var maxMessageSize: Int

    public init(maxMessageSize: Int = WireLimits.default.maxMessageSize) {
        self.maxMessageSize = maxMessageSize
    }

    /// The next whole frame's message, consumed from `buffer`, or nil (and
    /// `buffer` untouched) when a whole frame has not arrived yet.
    public func nextMessage(from buffer: inout ByteBuffer) throws(FrameError) -> ByteBuffer? {
        guard let flags = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
            let length = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt32.self)
        else { return nil }
        guard flags & ~Self.compressedFlag == 0 else { throw .reservedFlagsSet(flags: flags) }
        guard Int(length) <= maxMessageSize else {
            throw .messageTooLarge(length: Int(length), limit: maxMessageSize)
        }
        guard buffer.readableBytes >= Self.headerSize + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: Self.headerSize)
        var message = buffer.readSlice(length: Int(length))!
        guard flags & Self.compressedFlag != 0 else { return message }
        return try Self.inflate(&message, limit: maxMessageSize)
    }

    /// Inflates a zlib stream, refusing output past `limit` bytes.
    static func inflate(_ message: inout ByteBuffer, limit: Int) throws(FrameError) -> ByteBuffer {
        let stream = message
        do {
            // One byte of headroom: output of exactly `limit` bytes must not
            // look like an overflow.
            let inflated = try message.decompress(with: .zlib(), maxSize: limit + 1)
            guard inflated.readableBytes <= limit else { throw FrameError.inflatedTooLarge(limit: limit) }
            // A stream cut short inflates "successfully" to a prefix: check its checksum.
            guard Adler32.matchesTrailer(of: stream.readableBytesView, inflated: inflated.readableBytesView) else {
                throw FrameError.corruptCompressedMessage
            }
            return inflated
        } catch let error as FrameError {
            throw error
        } catch let error as CompressNIOError where error == .bufferOverflow {
            throw .inflatedTooLarge(limit: limit)
        } catch {
            throw .corruptCompressedMessage
        }
    }

    /// Appends one frame carrying `message` to `out`, compressed when it is
    /// at least `compressionThreshold` bytes and compressing makes it smaller.
    public static func writeFrame(message: ByteBuffer, compressionThreshold: Int?, into out: inout ByteBuffer) {
        var message = message
        if let threshold = compressionThreshold, message.readableBytes >= threshold {
            var copy = message
            if let compressed = try? copy.compress(with: .zlib()), compressed.readableBytes < message.readableBytes {
                out.writeInteger(compressedFlag)
                out.writeInteger(UInt32(compressed.readableBytes))
                var compressed = compressed
                out.writeBuffer(&compressed)
                return
            }
        }
        out.writeInteger(UInt8(0))
        out.writeInteger(UInt32(message.readableBytes))
        out.writeBuffer(&message)
    }
}
