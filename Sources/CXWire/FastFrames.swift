import CXModel
import Foundation
import NIOCore

/// Reads and writes, by hand, the two frames that carry nearly every byte
/// CX sends: a request, and the OK response to it. The bytes are the same
/// protobuf `cx.wire.v1.Frame` the spec defines; only the code is faster.
///
/// Why: swift-protobuf's generic decoder and encoder, and the `Data` they
/// keep payloads in, took about a quarter of the CPU of an echo call, both
/// ends together (`perf` on `cx-bench wire --implementations server`). Here
/// a payload stays a slice of the buffer it arrived in, and a response is
/// serialized once, into the buffer that goes to the socket.
///
/// Reading is strict: a frame in any other shape (another kind of body, an
/// unknown or repeated field, a field of the wrong wire type, text that is
/// not UTF-8, an error status) gives nil, and the caller decodes it with
/// swift-protobuf, which gives the full answer or the error. So every frame
/// swift-protobuf accepts is still accepted, with the same meaning.
enum FastFrames {
    /// A request as a server needs it.
    struct Request {
        var callID: UInt64 = 0
        var method = ""
        var payload: ByteBuffer
        var timeoutMicros: UInt64 = 0
        var metadata: [String: String] = [:]
    }

    /// Room a response frame's envelope takes in front of its payload, the
    /// 5-byte frame header included: serialize a payload this far into a
    /// buffer and ``responseFrame(callID:payload:)`` writes the rest in place.
    static let responseHeadroom = 32

    // MARK: Reading

    /// The request in `message` (a whole serialized `Frame`), or nil when the
    /// frame is anything but a request in the plain layout.
    ///
    /// When the method's bytes are `knownMethod`'s, the request carries
    /// `knownMethod` itself: no new string, no UTF-8 validation, and the
    /// caller can tell it is the same method by identity (`==` on two copies
    /// of one string returns before comparing a byte). A connection mostly
    /// calls one method over and over; making and hashing its name took
    /// about 2% of an echo call's CPU.
    static func parseRequest(_ message: ByteBuffer, knownMethod: String = "") -> Request? {
        message.withUnsafeReadableBytes { bytes -> Request? in
            var reader = Reader(bytes: bytes)
            var request = Request(payload: message.getSlice(at: message.readerIndex, length: 0)!)
            var sawCallID = false
            var sawRequest = false
            while !reader.atEnd {
                guard let tag = reader.varint() else { return nil }
                switch tag {
                case 0x08 where !sawCallID:  // call_id
                    guard let id = reader.varint() else { return nil }
                    request.callID = id
                    sawCallID = true
                case 0x12 where !sawRequest:  // request
                    guard let body = reader.lengthDelimited() else { return nil }
                    guard parseRequestBody(bytes, body, message: message, knownMethod: knownMethod, into: &request) else {
                        return nil
                    }
                    sawRequest = true
                default:
                    return nil
                }
            }
            return sawRequest ? request : nil
        }
    }

    private static func parseRequestBody(
        _ bytes: UnsafeRawBufferPointer, _ body: Range<Int>, message: ByteBuffer, knownMethod: String,
        into request: inout Request
    ) -> Bool {
        var reader = Reader(bytes: bytes, range: body)
        var seen: UInt8 = 0
        while !reader.atEnd {
            guard let tag = reader.varint() else { return false }
            switch tag {
            case 0x0a where seen & 1 == 0:  // method
                guard let range = reader.lengthDelimited() else { return false }
                if Self.bytes(bytes, range, spell: knownMethod) {
                    request.method = knownMethod
                } else {
                    guard let method = string(bytes, range) else { return false }
                    request.method = method
                }
                seen |= 1
            case 0x12 where seen & 2 == 0:  // payload
                guard let range = reader.lengthDelimited() else { return false }
                request.payload = message.getSlice(at: message.readerIndex + range.lowerBound, length: range.count)!
                seen |= 2
            case 0x18 where seen & 4 == 0:  // timeout_micros
                guard let timeout = reader.varint() else { return false }
                request.timeoutMicros = timeout
                seen |= 4
            case 0x22:  // a metadata entry
                guard let range = reader.lengthDelimited(), let (key, value) = mapEntry(bytes, range) else { return false }
                request.metadata[key] = value
            default:
                return false
            }
        }
        return true
    }

    /// The call id and payload of an OK response in `message`, or nil when
    /// the frame is anything else (an error status above all).
    static func parseOKResponse(_ message: ByteBuffer) -> (callID: UInt64, payload: ByteBuffer)? {
        message.withUnsafeReadableBytes { bytes -> (UInt64, ByteBuffer)? in
            var reader = Reader(bytes: bytes)
            var callID: UInt64 = 0
            var sawCallID = false
            var payload: Range<Int>?
            var sawResponse = false
            while !reader.atEnd {
                guard let tag = reader.varint() else { return nil }
                switch tag {
                case 0x08 where !sawCallID:  // call_id
                    guard let id = reader.varint() else { return nil }
                    callID = id
                    sawCallID = true
                case 0x1a where !sawResponse:  // response
                    guard let body = reader.lengthDelimited() else { return nil }
                    var inner = Reader(bytes: bytes, range: body)
                    var sawStatus = false
                    while !inner.atEnd {
                        guard let tag = inner.varint() else { return nil }
                        switch tag {
                        case 0x0a where !sawStatus:  // status: OK is empty, or code 0 alone
                            guard let status = inner.lengthDelimited() else { return nil }
                            var fields = Reader(bytes: bytes, range: status)
                            while !fields.atEnd {
                                guard fields.varint() == 0x08, fields.varint() == 0 else { return nil }
                            }
                            sawStatus = true
                        case 0x12 where payload == nil:
                            guard let range = inner.lengthDelimited() else { return nil }
                            payload = range
                        default:
                            return nil  // response metadata, or anything else: the general decoder
                        }
                    }
                    sawResponse = true
                default:
                    return nil
                }
            }
            guard sawResponse else { return nil }
            let range = payload ?? 0..<0
            return (callID, message.getSlice(at: message.readerIndex + range.lowerBound, length: range.count)!)
        }
    }

    private static func mapEntry(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> (String, String)? {
        var reader = Reader(bytes: bytes, range: range)
        var key = ""
        var value = ""
        var seen: UInt8 = 0
        while !reader.atEnd {
            guard let tag = reader.varint() else { return nil }
            switch tag {
            case 0x0a where seen & 1 == 0:
                guard let range = reader.lengthDelimited(), let text = string(bytes, range) else { return nil }
                key = text
                seen |= 1
            case 0x12 where seen & 2 == 0:
                guard let range = reader.lengthDelimited(), let text = string(bytes, range) else { return nil }
                value = text
                seen |= 2
            default:
                return nil
            }
        }
        return (key, value)
    }

    private static func string(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> String? {
        String(validating: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    /// Whether `bytes[range]` is exactly `text`'s UTF-8.
    ///
    /// With `memcmp`: `elementsEqual` went byte by byte through generic
    /// iterators (0.6% of an echo call's CPU in `perf`).
    private static func bytes(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, spell text: String) -> Bool {
        guard text.utf8.count == range.count else { return false }
        guard let base = bytes.baseAddress, !range.isEmpty else { return true }
        return text.utf8.withContiguousStorageIfAvailable { utf8 in
            memcmp(base + range.lowerBound, utf8.baseAddress!, range.count) == 0
        } == true
    }

    /// Protobuf's varints and lengths over raw bytes; nil on anything short
    /// or overlong.
    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        var index: Int
        let end: Int

        init(bytes: UnsafeRawBufferPointer, range: Range<Int>? = nil) {
            self.bytes = bytes
            index = range?.lowerBound ?? 0
            end = range?.upperBound ?? bytes.count
        }

        var atEnd: Bool { index >= end }

        mutating func varint() -> UInt64? {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while index < end {
                let byte = bytes[index]
                index += 1
                if shift == 63 && byte > 1 { return nil }
                value |= UInt64(byte & 0x7f) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
                if shift > 63 { return nil }
            }
            return nil
        }

        /// The range of a length-delimited field's bytes, skipped over.
        mutating func lengthDelimited() -> Range<Int>? {
            guard let length = varint(), length <= UInt64(end - index) else { return nil }
            let start = index
            index += Int(length)
            return start..<index
        }
    }

    // MARK: Writing

    /// Room a request's payload is serialized with in front of it
    /// (``RequestProtobufByteBuffer``): enough for the envelope of a call
    /// with a method name and a bearer token, which
    /// ``requestFrame(callID:method:payload:timeoutMicros:metadata:allocator:)``
    /// then writes in place instead of copying the payload.
    static let requestHeadroom = 256

    /// A request frame, header included, ready for the socket (or for
    /// the connection's ``FrameStream`` to compress).
    ///
    /// The payload field comes last (protobuf readers take fields in any
    /// order): when `payload` has the envelope's size free in front of it,
    /// the envelope is written there and the payload is not copied.
    static func requestFrame(
        callID: UInt64, method: String, payload: inout ByteBuffer, timeoutMicros: UInt64, metadata: [String: String],
        allocator: ByteBufferAllocator
    ) -> ByteBuffer {
        var entries = 0
        for (key, value) in metadata { entries += fieldSize(entrySize(key, value)) }
        var body = fieldSize(method.utf8.count) + entries
        if payload.readableBytes > 0 { body += fieldSize(payload.readableBytes) }
        if timeoutMicros != 0 { body += 1 + varintSize(timeoutMicros) }
        let message = (callID == 0 ? 0 : 1 + varintSize(callID)) + fieldSize(body)
        let total = FrameParser.headerSize + message
        let payloadLength = payload.readableBytes
        let envelope = total - payloadLength

        func writeEnvelope(_ raw: UnsafeMutableRawBufferPointer) {
            var writer = RawWriter(raw)
            writer.putFrameStart(message: message, callID: callID)
            writer.put(0x12)
            writer.putVarint(UInt64(body))
            writer.put(0x0a)
            writer.putVarint(UInt64(method.utf8.count))
            writer.put(method)
            if timeoutMicros != 0 {
                writer.put(0x18)
                writer.putVarint(timeoutMicros)
            }
            for (key, value) in metadata {
                writer.put(0x22)
                writer.putVarint(UInt64(entrySize(key, value)))
                writer.put(0x0a)
                writer.putVarint(UInt64(key.utf8.count))
                writer.put(key)
                writer.put(0x12)
                writer.putVarint(UInt64(value.utf8.count))
                writer.put(value)
            }
            if payloadLength > 0 {
                writer.put(0x12)
                writer.putVarint(UInt64(payloadLength))
            }
            precondition(writer.index == envelope, "request frame: wrote an envelope of \(writer.index) bytes, not \(envelope)")
        }

        if payload.readerIndex >= envelope {
            payload.moveReaderIndex(to: payload.readerIndex - envelope)
            payload.withUnsafeMutableReadableBytes { raw in writeEnvelope(UnsafeMutableRawBufferPointer(rebasing: raw[0..<envelope])) }
            return payload
        }
        var out = allocator.buffer(capacity: total)
        out.writeWithUnsafeMutableBytes(minimumWritableBytes: envelope) { raw in
            writeEnvelope(UnsafeMutableRawBufferPointer(rebasing: raw[0..<envelope]))
            return envelope
        }
        out.writeImmutableBuffer(payload)
        return out
    }

    /// An OK response frame, header included, for `payload`. When `payload`
    /// has ``responseHeadroom`` bytes in front of it (see
    /// ``ProtobufByteBuffer/init(repeating:count:)``) and nothing else holds
    /// it, the envelope is written there and nothing is copied; otherwise
    /// the frame is a new buffer. `payload` is `inout` so that it can be
    /// unique: a copy of it held by the caller would make writing into its
    /// room copy the whole buffer.
    static func responseFrame(callID: UInt64, payload: inout ByteBuffer) -> ByteBuffer {
        // Response { status: {} (OK), payload }, as swift-protobuf writes it.
        let body = 2 + (payload.readableBytes == 0 ? 0 : fieldSize(payload.readableBytes))
        // Call id 0 (never a call's, but a valid number) is left out, as protobuf leaves out zeros.
        let message = (callID == 0 ? 0 : 1 + varintSize(callID)) + fieldSize(body)
        let envelope = FrameParser.headerSize + message - payload.readableBytes
        var scratch: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)  // 32 bytes: more than any envelope here
        let written = withUnsafeMutableBytes(of: &scratch) { raw -> Int in
            var writer = RawWriter(raw)
            writer.putFrameStart(message: message, callID: callID)
            writer.put(0x1a)
            writer.putVarint(UInt64(body))
            writer.put(0x0a)
            writer.put(0x00)
            if payload.readableBytes > 0 {
                writer.put(0x12)
                writer.putVarint(UInt64(payload.readableBytes))
            }
            return writer.index
        }
        precondition(written == envelope)
        return withUnsafeBytes(of: &scratch) { raw in
            let head = UnsafeRawBufferPointer(rebasing: raw[0..<envelope])
            if payload.readerIndex >= envelope {
                let start = payload.readerIndex - envelope
                payload.setBytes(head, at: start)
                payload.moveReaderIndex(to: start)
                return payload
            }
            var out = ByteBufferAllocator().buffer(capacity: envelope + payload.readableBytes)
            out.writeBytes(head)
            out.writeImmutableBuffer(payload)
            return out
        }
    }

    private static func entrySize(_ key: String, _ value: String) -> Int {
        fieldSize(key.utf8.count) + fieldSize(value.utf8.count)
    }

    /// A length-delimited field of `length` bytes: tag, length, bytes.
    private static func fieldSize(_ length: Int) -> Int { 1 + varintSize(UInt64(length)) + length }

    static func varintSize(_ value: UInt64) -> Int {
        value == 0 ? 1 : (64 - value.leadingZeroBitCount + 6) / 7
    }

    /// Stores bytes through a raw pointer into memory sized beforehand.
    ///
    /// Frames are written with this rather than `ByteBuffer.writeInteger`
    /// byte by byte: each ByteBuffer write is a call with a dynamic
    /// exclusivity check on the buffer's storage, and those checks alone
    /// took about 2% of an echo call's CPU. Bounds are checked: a size
    /// computed wrong traps rather than writing past the memory.
    private struct RawWriter {
        let raw: UnsafeMutableRawBufferPointer
        var index = 0

        init(_ raw: UnsafeMutableRawBufferPointer) { self.raw = raw }

        mutating func put(_ byte: UInt8) {
            precondition(index < raw.count, "frame writer: a byte past the end")
            raw[index] = byte
            index += 1
        }

        mutating func put(bigEndian value: UInt32) {
            put(UInt8(value >> 24))
            put(UInt8((value >> 16) & 0xff))
            put(UInt8((value >> 8) & 0xff))
            put(UInt8(value & 0xff))
        }

        /// The frame header (uncompressed, `message` bytes long) and the
        /// envelope's call id, left out when 0 as protobuf leaves out zeros.
        mutating func putFrameStart(message: Int, callID: UInt64) {
            put(0)
            put(bigEndian: UInt32(message))
            if callID != 0 {
                put(0x08)
                putVarint(callID)
            }
        }

        mutating func putVarint(_ value: UInt64) {
            var value = value
            while value >= 0x80 {
                put(UInt8(truncatingIfNeeded: value) | 0x80)
                value >>= 7
            }
            put(UInt8(value))
        }

        mutating func put(_ bytes: UnsafeRawBufferPointer) {
            precondition(bytes.count <= raw.count - index, "frame writer: \(bytes.count) bytes past the end")
            if let base = bytes.baseAddress, !bytes.isEmpty {
                (raw.baseAddress! + index).copyMemory(from: base, byteCount: bytes.count)
            }
            index += bytes.count
        }

        mutating func put(_ text: String) {
            var text = text
            text.withUTF8 { put(UnsafeRawBufferPointer($0)) }
        }
    }
}
