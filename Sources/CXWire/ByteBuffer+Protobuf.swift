import CXModel
import NIOCore
import NIOPosix
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
        buffer = SerializationScratch.take(capacity: count + Room.bytes)
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

/// One spare buffer per thread for serializing messages into.
///
/// A message serialized for a call is framed in place, and the frame is
/// copied into the connection's batch (``FrameStream/gather(_:allocator:)``):
/// after that its buffer is given back here, and the next message this
/// thread serializes goes into the same memory. Without it, every request
/// and every answer took a new `ByteBuffer`, two mallocs and two frees.
///
/// Reuse cannot corrupt anything: ``take(capacity:)`` clears the buffer,
/// and a `ByteBuffer` still referenced elsewhere gets new storage from
/// `clear()` (copy-on-write), so at worst it allocates as before.
enum SerializationScratch {
    private final class Spare {
        var buffer: ByteBuffer?
    }

    /// Per thread by construction: each thread sees only its own `Spare`.
    nonisolated(unsafe) private static let spare = ThreadSpecificVariable<Spare>()

    /// Buffers larger than this are not kept.
    static let keepLimit = 16 << 10

    /// An empty buffer of at least `capacity` bytes: this thread's spare
    /// when it has one that large, else a new one.
    static func take(capacity: Int) -> ByteBuffer {
        if let spare = spare.currentValue, var buffer = spare.buffer.take(), buffer.capacity >= capacity {
            buffer.clear()
            return buffer
        }
        // At least `minimumCapacity`: a loop serializes requests (256 bytes of
        // room) and answers (32) in turn, and one spare should fit either.
        return ByteBufferAllocator().buffer(capacity: max(capacity, minimumCapacity))
    }

    /// New buffers are at least this large.
    static let minimumCapacity = 512

    /// Keeps `buffer`, whose bytes were copied elsewhere, for the next
    /// message this thread serializes.
    static func giveBack(_ buffer: ByteBuffer) {
        guard buffer.capacity <= keepLimit else { return }
        if let existing = spare.currentValue {
            existing.buffer = buffer
        } else {
            let new = Spare()
            new.buffer = buffer
            spare.currentValue = new
        }
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
