import CXModel
import NIOCore
import SwiftProtobuf

/// Lets swift-protobuf parse from and serialize into a `ByteBuffer` without
/// copying through `Data` or `[UInt8]`.
///
/// `Room` is how much room a serialized message gets in front of it, so the
/// frame around it can be written there instead of copying the message: a
/// response's envelope (``ProtobufByteBuffer``) or a request's
/// (``RequestProtobufByteBuffer``).
struct HeadroomByteBuffer<Room: Headroom>: SwiftProtobufContiguousBytes {
    var buffer: ByteBuffer

    init(_ buffer: ByteBuffer) { self.buffer = buffer }

    init(repeating: UInt8, count: Int) {
        buffer = ByteBufferAllocator().buffer(capacity: count + Room.bytes)
        buffer.moveWriterIndex(forwardBy: Room.bytes)  // within the capacity; never read before it is written
        buffer.moveReaderIndex(forwardBy: Room.bytes)
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

/// How many bytes ``HeadroomByteBuffer`` leaves in front of a message.
protocol Headroom { static var bytes: Int { get } }

/// A response envelope's room: ``FastFrames/responseHeadroom``.
enum ResponseHeadroom: Headroom { static var bytes: Int { FastFrames.responseHeadroom } }

/// A request envelope's room: ``FastFrames/requestHeadroom``.
enum RequestHeadroom: Headroom { static var bytes: Int { FastFrames.requestHeadroom } }

/// Messages in a `ByteBuffer`, with room for a response's envelope.
typealias ProtobufByteBuffer = HeadroomByteBuffer<ResponseHeadroom>

/// Messages in a `ByteBuffer`, with room for a request's envelope.
typealias RequestProtobufByteBuffer = HeadroomByteBuffer<RequestHeadroom>

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

    /// The message's protobuf binary encoding in a new `ByteBuffer`, with
    /// ``FastFrames/requestHeadroom`` bytes free in front of it: a request's
    /// payload, for ``FastFrames/requestFrame(callID:method:payload:timeoutMicros:metadata:allocator:)``.
    func serializedRequestBuffer() throws -> ByteBuffer {
        let bytes: RequestProtobufByteBuffer = try serializedBytes()
        return bytes.buffer
    }
}

extension Cx_Wire_V1_Frame {
    /// The frame as it goes on the wire: the 5-byte header (not compressed;
    /// ``FrameStream`` compresses large frames) and the serialized message,
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
