import CompressNIO
import NIOCore
import NIOEmbedded
import NIOTestUtils
import XCTest

@testable import CXWire

final class FrameDecoderTests: XCTestCase {
    private func frame(_ message: [UInt8], flags: UInt8 = 0) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(flags)
        buffer.writeInteger(UInt32(message.count))
        buffer.writeBytes(message)
        return buffer
    }

    private func compressed(_ message: [UInt8]) throws -> ByteBuffer {
        var input = ByteBuffer(bytes: message)
        let deflated = try input.compress(with: .zlib())
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt8(1))
        buffer.writeInteger(UInt32(deflated.readableBytes))
        var copy = deflated
        buffer.writeBuffer(&copy)
        return buffer
    }

    func testDecoderSurvivesEveryWayOfSplittingTheStream() throws {
        // The verifier feeds each input byte by byte and in batches, and checks the outputs are the same.
        let messages: [[UInt8]] = [Array("hello".utf8), [], Array(repeating: 7, count: 300)]
        let pairs = messages.map { (frame($0), [ByteBuffer(bytes: $0)]) }
        XCTAssertNoThrow(try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs) { FrameDecoder() })
    }

    func testPartialFrameWaitsForTheRest() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder()))
        var whole = frame(Array("partial".utf8))
        let head = whole.readSlice(length: 3)!
        try channel.writeInbound(head)
        XCTAssertNil(try channel.readInbound(as: ByteBuffer.self))
        try channel.writeInbound(whole)
        XCTAssertEqual(try channel.readInbound(as: ByteBuffer.self), ByteBuffer(string: "partial"))
        XCTAssertTrue(try channel.finish().isClean)
    }

    func testManyFramesInOneReadComeOutInOrder() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder()))
        var all = ByteBuffer()
        for index in 0..<50 {
            var one = frame(Array("m\(index)".utf8))
            all.writeBuffer(&one)
        }
        try channel.writeInbound(all)
        for index in 0..<50 {
            XCTAssertEqual(try channel.readInbound(as: ByteBuffer.self), ByteBuffer(string: "m\(index)"))
        }
        XCTAssertTrue(try channel.finish().isClean)
    }

    func testZeroLengthMessageIsAFrame() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder()))
        try channel.writeInbound(frame([]))
        XCTAssertEqual(try channel.readInbound(as: ByteBuffer.self)?.readableBytes, 0)
        XCTAssertTrue(try channel.finish().isClean)
    }

    func testCompressedMessageIsInflated() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder()))
        let message = Array(String(repeating: "سلام CX ", count: 500).utf8)
        try channel.writeInbound(try compressed(message))
        XCTAssertEqual(try channel.readInbound(as: ByteBuffer.self), ByteBuffer(bytes: message))
        XCTAssertTrue(try channel.finish().isClean)
    }

    func testTruncatedCompressedMessageIsRefusedNotCutShort() throws {
        // zlib inflates a stream cut short to a prefix without complaint; the
        // checksum at the stream's end is what catches it.
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder()))
        var input = ByteBuffer(bytes: Array(String(repeating: "truncate me ", count: 400).utf8))
        let deflated = try input.compress(with: .zlib())
        let cut = Array(deflated.readableBytesView.dropLast(4))
        XCTAssertThrowsError(try channel.writeInbound(frame(cut, flags: 1))) { error in
            XCTAssertEqual(error as? FrameError, .corruptCompressedMessage)
        }
        _ = try? channel.finish()
    }

    func testReservedFlagBitsAreRefused() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder()))
        XCTAssertThrowsError(try channel.writeInbound(frame([1, 2, 3], flags: 0x02))) { error in
            XCTAssertEqual(error as? FrameError, .reservedFlagsSet(flags: 0x02))
        }
        _ = try? channel.finish()
    }

    func testLengthOverTheLimitIsRefusedFromTheHeaderAlone() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder(maxMessageSize: 1_024)))
        var header = ByteBuffer()
        header.writeInteger(UInt8(0))
        header.writeInteger(UInt32(1_025))
        // Only the header has arrived: the decoder must not wait for (and buffer) 1,025 bytes.
        XCTAssertThrowsError(try channel.writeInbound(header)) { error in
            XCTAssertEqual(error as? FrameError, .messageTooLarge(length: 1_025, limit: 1_024))
        }
        _ = try? channel.finish()
    }

    func testMessageExactlyAtTheLimitIsAccepted() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder(maxMessageSize: 1_024)))
        try channel.writeInbound(frame(Array(repeating: 1, count: 1_024)))
        XCTAssertEqual(try channel.readInbound(as: ByteBuffer.self)?.readableBytes, 1_024)
        XCTAssertTrue(try channel.finish().isClean)
    }

    func testZipBombIsRefused() throws {
        // 64 KiB of zeros compresses to ~80 bytes; the limit is 4 KiB.
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder(maxMessageSize: 4_096)))
        let bomb = try compressed([UInt8](repeating: 0, count: 64 << 10))
        XCTAssertLessThan(bomb.readableBytes, 4_096)
        XCTAssertThrowsError(try channel.writeInbound(bomb)) { error in
            XCTAssertEqual(error as? FrameError, .inflatedTooLarge(limit: 4_096))
        }
        _ = try? channel.finish()
    }

    func testCorruptCompressedMessageIsRefused() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder()))
        XCTAssertThrowsError(try channel.writeInbound(frame([0xde, 0xad, 0xbe, 0xef, 0x00], flags: 1))) { error in
            XCTAssertEqual(error as? FrameError, .corruptCompressedMessage)
        }
        _ = try? channel.finish()
    }

    func testGarbageAfterAValidFrameYieldsTheFrameThenAnError() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder(maxMessageSize: 1_024)))
        var input = frame(Array("valid".utf8))
        input.writeBytes([0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
        XCTAssertThrowsError(try channel.writeInbound(input)) { error in
            XCTAssertEqual(error as? FrameError, .reservedFlagsSet(flags: 0xff))
        }
        XCTAssertEqual(try channel.readInbound(as: ByteBuffer.self), ByteBuffer(string: "valid"))
        _ = try? channel.finish()
    }

    func testConnectionEndingInsideAFrameIsReported() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder()))
        var whole = frame(Array("truncated".utf8))
        try channel.writeInbound(whole.readSlice(length: 8)!)
        XCTAssertThrowsError(try channel.finish()) { error in
            XCTAssertEqual(error as? FrameError, .truncatedFrame(received: 8, expected: 14))
        }
    }

    func testWriterCompressesLargeMessagesOnlyWhenSmaller() throws {
        var out = ByteBuffer()
        let large = ByteBuffer(string: String(repeating: "a", count: 10_000))
        FrameParser.writeFrame(message: large, compressionThreshold: 8_192, into: &out)
        XCTAssertEqual(out.getInteger(at: 0, as: UInt8.self), 1)
        XCTAssertLessThan(out.readableBytes, 1_000)
        XCTAssertEqual(try FrameParser().nextMessage(from: &out), large)

        var small = ByteBuffer()
        FrameParser.writeFrame(message: ByteBuffer(string: "tiny"), compressionThreshold: 8_192, into: &small)
        XCTAssertEqual(small.getInteger(at: 0, as: UInt8.self), 0)

        // Random bytes do not compress: sent as they are even above the threshold.
        var random = ByteBuffer()
        let noise = ByteBuffer(bytes: (0..<10_000).map { _ in UInt8.random(in: 0...255) })
        FrameParser.writeFrame(message: noise, compressionThreshold: 8_192, into: &random)
        XCTAssertEqual(random.getInteger(at: 0, as: UInt8.self), 0)
        XCTAssertEqual(try FrameParser().nextMessage(from: &random), noise)
    }
}
