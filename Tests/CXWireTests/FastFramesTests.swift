import CXModel
import Foundation
import NIOCore
import SwiftProtobuf
import XCTest

@testable import CXWire

/// The hand-written request and response frames against swift-protobuf,
/// which defines what the bytes mean: whatever one side writes, the other
/// reads the same, and whatever the fast reader does not take, it leaves to
/// swift-protobuf rather than misreading.
final class FastFramesTests: XCTestCase {
    /// Deterministic: the same frames every run, so a failure can be replayed.
    private struct Generator {
        var random: SplitMix64
        init(state: UInt64) { random = SplitMix64(seed: state) }
        mutating func next() -> UInt64 { random.next() }
        mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
        /// Values around every varint length boundary, not only small ones.
        mutating func varint() -> UInt64 {
            switch below(4) {
            case 0: return UInt64(below(300))
            case 1: return UInt64(1) << UInt64(below(64))
            case 2: return (UInt64(1) << UInt64(7 * (1 + below(9)))) &- 1
            default: return next()
            }
        }
        mutating func text() -> String {
            let words = ["cx.loyalty.v1.Loyalty/Purchase", "سلام", "مشتری ۱۲۳", "x-cx-token", "", "tenant", "Ünïcode ✓"]
            return (0..<below(3)).map { _ in words[below(words.count)] }.joined(separator: "/")
        }
        mutating func bytes() -> Data {
            Data((0..<[0, 1, 127, 128, 300, 20_000][below(6)]).map { _ in UInt8(truncatingIfNeeded: next()) })
        }
    }

    private func randomRequest(_ generator: inout Generator) -> (UInt64, Cx_Wire_V1_Request) {
        var request = Cx_Wire_V1_Request()
        request.method = generator.text()
        request.payload = generator.bytes()
        request.timeoutMicros = generator.below(5) == 0 ? 0 : generator.varint()
        for _ in 0..<generator.below(4) { request.metadata[generator.text()] = generator.text() }
        return (max(1, generator.varint()), request)
    }

    func testRequestsWrittenByHandReadTheSameInSwiftProtobuf() throws {
        var generator = Generator(state: 1)
        for _ in 0..<2_000 {
            let (id, request) = randomRequest(&generator)
            // Every other request with room in front of its payload, written in place; the rest copied.
            var payload = ByteBuffer(bytes: request.payload)
            let roomy = id % 2 == 0
            if roomy {
                var withRoom = RequestProtobufByteBuffer(repeating: 0, count: 0).buffer
                withRoom.writeBytes(request.payload)
                payload = withRoom
            }
            let framed = FastFrames.requestFrame(
                callID: id, method: request.method, payload: &payload, timeoutMicros: request.timeoutMicros,
                metadata: request.metadata, allocator: ByteBufferAllocator())
            let envelope = framed.readableBytes - request.payload.count
            if roomy && envelope <= FastFrames.requestHeadroom {
                XCTAssertEqual(framed.readerIndex, FastFrames.requestHeadroom - envelope, "the envelope went into the room in front")
            } else {
                XCTAssertEqual(framed.readerIndex, 0, "a new buffer")
            }
            var stream = framed
            let message = try XCTUnwrap(try FrameParser().nextMessage(from: &stream))
            XCTAssertEqual(stream.readableBytes, 0, "the header's length covers exactly the message")
            let decoded = try Cx_Wire_V1_Frame(buffer: message)
            XCTAssertEqual(decoded.callID, id)
            XCTAssertEqual(decoded.request, request)
        }
    }

    func testRequestsFromSwiftProtobufReadTheSameByHand() throws {
        var generator = Generator(state: 2)
        for _ in 0..<2_000 {
            let (id, request) = randomRequest(&generator)
            var frame = Cx_Wire_V1_Frame()
            frame.callID = id
            frame.request = request
            let parsed = try XCTUnwrap(FastFrames.parseRequest(try frame.serializedBuffer()), "\(frame)")
            XCTAssertEqual(parsed.callID, id)
            XCTAssertEqual(parsed.method, request.method)
            XCTAssertEqual(Data(parsed.payload.readableBytesView), request.payload)
            XCTAssertEqual(parsed.timeoutMicros, request.timeoutMicros)
            XCTAssertEqual(parsed.metadata, request.metadata)
        }
    }

    func testOKResponsesWrittenByHandAreSwiftProtobufsBytes() throws {
        var generator = Generator(state: 3)
        for round in 0..<1_000 {
            let id = generator.varint()
            let payload = generator.bytes()
            var frame = Cx_Wire_V1_Frame()
            frame.callID = id
            frame.response.status.code = .ok
            frame.response.payload = payload
            let expected = try frame.framedBuffer()
            // With room in front of the payload (as handlers serialize it) and without.
            for roomy in [true, false] {
                var buffer = roomy ? ProtobufByteBuffer(repeating: 0, count: 0).buffer : ByteBuffer(bytes: payload)
                if roomy { buffer.writeBytes(payload) }
                let written = FastFrames.responseFrame(callID: id, payload: &buffer)
                let envelope = written.readableBytes - payload.count
                if roomy && envelope <= FastFrames.responseHeadroom {
                    XCTAssertEqual(written.readerIndex, FastFrames.responseHeadroom - envelope, "the envelope went into the room in front")
                } else {
                    XCTAssertEqual(written.readerIndex, 0, "a new buffer")
                }
                XCTAssertEqual(Array(written.readableBytesView), Array(expected.readableBytesView), "round \(round), id \(id), \(payload.count) bytes")
                let message = written.getSlice(at: written.readerIndex + FrameParser.headerSize, length: written.readableBytes - FrameParser.headerSize)!
                let (parsedID, parsedPayload) = try XCTUnwrap(FastFrames.parseOKResponse(message))
                XCTAssertEqual(parsedID, id)
                XCTAssertEqual(Data(parsedPayload.readableBytesView), payload)
            }
        }
    }

    func testAResponseWithoutStatusOrPayloadIsAnEmptyOK() throws {
        var frame = Cx_Wire_V1_Frame()
        frame.callID = 7
        frame.response = Cx_Wire_V1_Response()
        let (id, payload) = try XCTUnwrap(FastFrames.parseOKResponse(try frame.serializedBuffer()))
        XCTAssertEqual(id, 7)
        XCTAssertEqual(payload.readableBytes, 0)
    }

    /// Frames the fast reader must leave to swift-protobuf: other bodies,
    /// error statuses, unknown or repeated fields, bad text, cut bytes.
    func testEverythingButAPlainRequestOrOKResponseIsLeftToSwiftProtobuf() throws {
        func message(_ build: (inout Cx_Wire_V1_Frame) -> Void) throws -> ByteBuffer {
            var frame = Cx_Wire_V1_Frame()
            frame.callID = 5
            build(&frame)
            return try frame.serializedBuffer()
        }
        let request = try message { $0.request.method = "cx.wire.v1.Echo/Echo" }
        XCTAssertNotNil(FastFrames.parseRequest(request))
        XCTAssertNil(FastFrames.parseOKResponse(request), "a request is not a response")

        XCTAssertNil(FastFrames.parseRequest(try message { $0.ping.data = 1 }))
        XCTAssertNil(FastFrames.parseRequest(try message { $0.cancel = Cx_Wire_V1_Cancel() }))
        XCTAssertNil(FastFrames.parseRequest(try message { $0.response.payload = Data([1]) }))
        XCTAssertNil(FastFrames.parseOKResponse(try message { $0.response.status.code = .notFound }))
        XCTAssertNil(FastFrames.parseOKResponse(try message { $0.response.status.message = "text without a code" }))
        XCTAssertNil(FastFrames.parseOKResponse(try message { $0.response.metadata["k"] = "v" }))
        XCTAssertNil(FastFrames.parseOKResponse(try message { $0.goAway.status.code = .unavailable }))

        // An unknown field (a newer peer's), inside the request and beside it.
        var unknownInside = ByteBuffer(bytes: [0x08, 0x05, 0x12, 0x04, 0x0a, 0x00, 0x28, 0x01])
        XCTAssertNil(FastFrames.parseRequest(unknownInside))
        XCTAssertEqual(try Cx_Wire_V1_Frame(buffer: unknownInside).callID, 5, "swift-protobuf takes it")
        unknownInside = ByteBuffer(bytes: [0x08, 0x05, 0x12, 0x00, 0x40, 0x01])
        XCTAssertNil(FastFrames.parseRequest(unknownInside))
        // A field twice: protobuf says the last one wins, and merges messages; left to swift-protobuf.
        let twice = ByteBuffer(bytes: [0x08, 0x05, 0x08, 0x06, 0x12, 0x00])
        XCTAssertNil(FastFrames.parseRequest(twice))
        XCTAssertEqual(try Cx_Wire_V1_Frame(buffer: twice).callID, 6)
        // A method that is not UTF-8: swift-protobuf refuses it, and the fast path does not take it.
        let latin1 = ByteBuffer(bytes: [0x08, 0x05, 0x12, 0x03, 0x0a, 0x01, 0xe9])
        XCTAssertNil(FastFrames.parseRequest(latin1))
        XCTAssertThrowsError(try Cx_Wire_V1_Frame(buffer: latin1))
        // Cut short: a varint and a length past the end.
        XCTAssertNil(FastFrames.parseRequest(ByteBuffer(bytes: [0x08, 0x85])))
        XCTAssertNil(FastFrames.parseRequest(ByteBuffer(bytes: [0x08, 0x05, 0x12, 0x09, 0x0a])))
        XCTAssertNil(FastFrames.parseOKResponse(ByteBuffer(bytes: [0x08, 0x05, 0x1a, 0x04, 0x12, 0x09])))
        // An eleven-byte varint is not a varint.
        XCTAssertNil(FastFrames.parseRequest(ByteBuffer(bytes: [0x08] + Array(repeating: 0xff, count: 10) + [0x01, 0x12, 0x00])))
        // No request at all.
        XCTAssertNil(FastFrames.parseRequest(ByteBuffer(bytes: [0x08, 0x05])))
    }
}
