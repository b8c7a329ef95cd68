import CXModel
import CompressNIO
import NIOCore
import NIOEmbedded
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
        // Plain, empty, long and compressed messages, in one stream cut into
        // reads every way below: the same messages come out each time.
        let messages: [[UInt8]] = [
            Array("hello".utf8), [], Array(repeating: 7, count: 300), Array(String(repeating: "سلام ", count: 200).utf8),
        ]
        var stream = ByteBuffer()
        for (index, message) in messages.enumerated() {
            var one = index == 3 ? try compressed(message) : frame(message)
            stream.writeBuffer(&one)
        }
        let bytes = Array(stream.readableBytesView)
        var cuts: [[Int]] = [[], Array(1..<bytes.count)]  // one read; a byte per read
        for size in [2, 3, 4, 5, 6, 7, 64, 299] { cuts.append(Array(stride(from: size, to: bytes.count, by: size))) }
        for at in 1..<bytes.count { cuts.append([at]) }  // every cut into two reads
        var random = SplitMix64(seed: 9)
        for _ in 0..<50 {
            cuts.append(Array(Set((0..<8).map { _ in 1 + Int(random.next() % UInt64(bytes.count - 1)) })).sorted())
        }
        for cut in cuts {
            let channel = EmbeddedChannel(handler: FrameDecoder())
            var start = 0
            for end in cut + [bytes.count] {
                try channel.writeInbound(ByteBuffer(bytes: bytes[start..<end]))
                start = end
            }
            for message in messages {
                XCTAssertEqual(try channel.readInbound(as: ByteBuffer.self), ByteBuffer(bytes: message), "reads cut at \(cut)")
            }
            XCTAssertNil(try channel.readInbound(as: ByteBuffer.self))
            XCTAssertTrue(try channel.finish().isClean)
        }
    }

    func testAFrameCutAcrossReadsIsWholeWhileEarlierMessagesAreStillHeld() throws {
        // The first read's messages are slices of its buffer; the frame it
        // ends inside must be gathered without changing them.
        let channel = EmbeddedChannel(handler: FrameDecoder())
        var first = frame(Array("first".utf8))
        var second = frame(Array("second message".utf8))
        var head = second.readSlice(length: 7)!
        first.writeBuffer(&head)
        try channel.writeInbound(first)
        let held = try channel.readInbound(as: ByteBuffer.self)
        try channel.writeInbound(second)
        XCTAssertEqual(held, ByteBuffer(string: "first"))
        XCTAssertEqual(try channel.readInbound(as: ByteBuffer.self), ByteBuffer(string: "second message"))
        XCTAssertTrue(try channel.finish().isClean)
    }

    func testNothingIsReadAfterABadFrame() throws {
        let channel = EmbeddedChannel(handler: FrameDecoder())
        XCTAssertThrowsError(try channel.writeInbound(frame([1], flags: 0x04)))
        // A well-formed frame after it: the stream is out of step, so it is dropped.
        try channel.writeInbound(frame(Array("after".utf8)))
        XCTAssertNil(try channel.readInbound(as: ByteBuffer.self))
        _ = try? channel.finish()
    }

    func testPartialFrameWaitsForTheRest() throws {
        let channel = EmbeddedChannel(handler: FrameDecoder())
        var whole = frame(Array("partial".utf8))
        let head = whole.readSlice(length: 3)!
        try channel.writeInbound(head)
        XCTAssertNil(try channel.readInbound(as: ByteBuffer.self))
        try channel.writeInbound(whole)
        XCTAssertEqual(try channel.readInbound(as: ByteBuffer.self), ByteBuffer(string: "partial"))
        XCTAssertTrue(try channel.finish().isClean)
    }

    func testManyFramesInOneReadComeOutInOrder() throws {
        let channel = EmbeddedChannel(handler: FrameDecoder())
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
        let channel = EmbeddedChannel(handler: FrameDecoder())
        try channel.writeInbound(frame([]))
        XCTAssertEqual(try channel.readInbound(as: ByteBuffer.self)?.readableBytes, 0)
        XCTAssertTrue(try channel.finish().isClean)
    }

    func testCompressedMessageIsInflated() throws {
        let channel = EmbeddedChannel(handler: FrameDecoder())
        let message = Array(String(repeating: "سلام CX ", count: 500).utf8)
        try channel.writeInbound(try compressed(message))
        XCTAssertEqual(try channel.readInbound(as: ByteBuffer.self), ByteBuffer(bytes: message))
        XCTAssertTrue(try channel.finish().isClean)
    }

    func testTruncatedCompressedMessageIsRefusedNotCutShort() throws {
        // zlib inflates a stream cut short to a prefix without complaint; the
        // checksum at the stream's end is what catches it.
        let channel = EmbeddedChannel(handler: FrameDecoder())
        var input = ByteBuffer(bytes: Array(String(repeating: "truncate me ", count: 400).utf8))
        let deflated = try input.compress(with: .zlib())
        let cut = Array(deflated.readableBytesView.dropLast(4))
        XCTAssertThrowsError(try channel.writeInbound(frame(cut, flags: 1))) { error in
            XCTAssertEqual(error as? FrameError, .corruptCompressedMessage)
        }
        _ = try? channel.finish()
    }

    func testReservedFlagBitsAreRefused() throws {
        let channel = EmbeddedChannel(handler: FrameDecoder())
        XCTAssertThrowsError(try channel.writeInbound(frame([1, 2, 3], flags: 0x02))) { error in
            XCTAssertEqual(error as? FrameError, .reservedFlagsSet(flags: 0x02))
        }
        _ = try? channel.finish()
    }

    func testLengthOverTheLimitIsRefusedFromTheHeaderAlone() throws {
        let channel = EmbeddedChannel(handler: FrameDecoder(maxMessageSize: 1_024))
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
        let channel = EmbeddedChannel(handler: FrameDecoder(maxMessageSize: 1_024))
        try channel.writeInbound(frame(Array(repeating: 1, count: 1_024)))
        XCTAssertEqual(try channel.readInbound(as: ByteBuffer.self)?.readableBytes, 1_024)
        XCTAssertTrue(try channel.finish().isClean)
    }

    func testZipBombIsRefused() throws {
        // 64 KiB of zeros compresses to ~80 bytes; the limit is 4 KiB.
        let channel = EmbeddedChannel(handler: FrameDecoder(maxMessageSize: 4_096))
        let bomb = try compressed([UInt8](repeating: 0, count: 64 << 10))
        XCTAssertLessThan(bomb.readableBytes, 4_096)
        XCTAssertThrowsError(try channel.writeInbound(bomb)) { error in
            XCTAssertEqual(error as? FrameError, .inflatedTooLarge(limit: 4_096))
        }
        _ = try? channel.finish()
    }

    func testCorruptCompressedMessageIsRefused() throws {
        let channel = EmbeddedChannel(handler: FrameDecoder())
        XCTAssertThrowsError(try channel.writeInbound(frame([0xde, 0xad, 0xbe, 0xef, 0x00], flags: 1))) { error in
            XCTAssertEqual(error as? FrameError, .corruptCompressedMessage)
        }
        _ = try? channel.finish()
    }

    func testGarbageAfterAValidFrameYieldsTheFrameThenAnError() throws {
        let channel = EmbeddedChannel(handler: FrameDecoder(maxMessageSize: 1_024))
        var input = frame(Array("valid".utf8))
        input.writeBytes([0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
        XCTAssertThrowsError(try channel.writeInbound(input)) { error in
            XCTAssertEqual(error as? FrameError, .reservedFlagsSet(flags: 0xff))
        }
        XCTAssertEqual(try channel.readInbound(as: ByteBuffer.self), ByteBuffer(string: "valid"))
        _ = try? channel.finish()
    }

    func testConnectionEndingInsideAFrameIsReported() throws {
        let channel = EmbeddedChannel(handler: FrameDecoder())
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
