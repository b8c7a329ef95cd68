import CXModel
import NIOCore
import SwiftProtobuf

/// Lets swift-protobuf parse from and serialize into a `ByteBuffer` without
/// copying through `Data` or `[UInt8]`.
struct ProtobufByteBuffer: SwiftProtobufContiguousBytes {
    var buffer: ByteBuffer

    init(_ buffer: ByteBuffer) { self.buffer = buffer }

    /// Room left in front of the readable bytes, so a frame header (or a
    /// whole response envelope, ``FastFrames/responseHeadroom``) can be
    /// written there after serializing instead of copying the message.
    static let headroom = FastFrames.responseHeadroom

    init(repeating: UInt8, count: Int) {
        buffer = ByteBufferAllocator().buffer(capacity: count + Self.headroom)
        buffer.writeRepeatingByte(0, count: Self.headroom)
        buffer.moveReaderIndex(forwardBy: Self.headroom)
        buffer.writeRepeatingByte(repeating, count: count)
    }

    init<S: Sequence>(_ sequence: S) where S.Element == UInt8 {
        buffer = ByteBufferAllocator().buffer(capacity: sequence.underestimatedCount)
        buffer.writeBytes(sequence)
    }

    var count: Int { buffer.readableBytes }

    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try buffer.withUnsafeReadableBytes(body)
    }

    mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        try buffer.withUnsafeMutableReadableBytes(body)
    }
}

extension SwiftProtobuf.Message {
    /// Decodes the readable bytes of `buffer`.
    init(buffer: ByteBuffer) throws {
        try self.init(serializedBytes: ProtobufByteBuffer(buffer))
    }

    /// The message's protobuf binary encoding in a new `ByteBuffer`, with
    /// ``ProtobufByteBuffer/headroom`` bytes free in front of it.
    func serializedBuffer() throws -> ByteBuffer {
        let bytes: ProtobufByteBuffer = try serializedBytes()
        return bytes.buffer
    }
}

extension Cx_Wire_V1_Frame {
    /// The frame as it goes on the wire: the 5-byte header (not compressed;
    /// ``FrameEncoder`` compresses large frames) and the serialized message,
    /// the header written into the message's headroom.
    func framedBuffer() throws -> ByteBuffer {
        var message = try serializedBuffer()
        let length = message.readableBytes
        message.moveReaderIndex(to: message.readerIndex - FrameParser.headerSize)
        message.setInteger(UInt8(0), at: message.readerIndex)
        message.setInteger(UInt32(length), at: message.readerIndex + 1)
        return message
    }
}
