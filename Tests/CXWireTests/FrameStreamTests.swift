import CXModel
import CompressNIO
import NIOCore
import XCTest

@testable import CXWire

final class FrameStreamTests: XCTestCase {
    /// Drives a ``FrameStream`` as a connection handler does: each `read`
    /// is one socket read, split into the messages it completes.
    private final class Reader {
        var stream: FrameStream
        var messages: [ByteBuffer] = []

        init(maxMessageSize: Int = WireLimits.default.maxMessageSize) {
            stream = FrameStream(limits: WireLimits(maxMessageSize: maxMessageSize))
        }

        /// Throws the stream's first error; the messages before it are kept.
        func read(_ bytes: ByteBuffer) throws(FrameError) {
            stream.receive(bytes)
            defer { _ = stream.readComplete() }
            while let message = try stream.nextMessage() { messages.append(message) }
        }

        func next() -> ByteBuffer? { messages.isEmpty ? nil : messages.removeFirst() }

        /// The connection ends: the error for a frame it ended inside.
        func end() -> FrameError? { stream.end() }
    }

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

    func testEveryWayOfSplittingTheStreamGivesTheSameMessages() throws {
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
            let reader = Reader()
            var start = 0
            for end in cut + [bytes.count] {
                try reader.read(ByteBuffer(bytes: bytes[start..<end]))
                start = end
            }
            for message in messages {
                XCTAssertEqual(reader.next(), ByteBuffer(bytes: message), "reads cut at \(cut)")
            }
            XCTAssertNil(reader.next())
            XCTAssertNil(reader.end())
        }
    }

    func testAFrameCutAcrossReadsIsWholeWhileEarlierMessagesAreStillHeld() throws {
        // The first read's messages are slices of its buffer; the frame it
        // ends inside must be gathered without changing them.
        let reader = Reader()
        var first = frame(Array("first".utf8))
        var second = frame(Array("second message".utf8))
        var head = second.readSlice(length: 7)!
        first.writeBuffer(&head)
        try reader.read(first)
        let held = reader.next()
        try reader.read(second)
        XCTAssertEqual(held, ByteBuffer(string: "first"))
        XCTAssertEqual(reader.next(), ByteBuffer(string: "second message"))
        XCTAssertNil(reader.end())
    }

    func testNothingIsReadAfterABadFrame() throws {
        let reader = Reader()
        XCTAssertThrowsError(try reader.read(frame([1], flags: 0x04)))
        // A well-formed frame after it: the stream is out of step, so it is dropped.
        try reader.read(frame(Array("after".utf8)))
        XCTAssertNil(reader.next())
    }

    func testPartialFrameWaitsForTheRest() throws {
        let reader = Reader()
        var whole = frame(Array("partial".utf8))
        let head = whole.readSlice(length: 3)!
        try reader.read(head)
        XCTAssertNil(reader.next())
        try reader.read(whole)
        XCTAssertEqual(reader.next(), ByteBuffer(string: "partial"))
        XCTAssertNil(reader.end())
    }

    func testManyFramesInOneReadComeOutInOrder() throws {
        let reader = Reader()
        var all = ByteBuffer()
        for index in 0..<50 {
            var one = frame(Array("m\(index)".utf8))
            all.writeBuffer(&one)
        }
        try reader.read(all)
        for index in 0..<50 {
            XCTAssertEqual(reader.next(), ByteBuffer(string: "m\(index)"))
        }
        XCTAssertNil(reader.end())
    }

    func testZeroLengthMessageIsAFrame() throws {
        let reader = Reader()
        try reader.read(frame([]))
        XCTAssertEqual(reader.next()?.readableBytes, 0)
        XCTAssertNil(reader.end())
    }

    func testCompressedMessageIsInflated() throws {
        let reader = Reader()
        let message = Array(String(repeating: "سلام CX ", count: 500).utf8)
        try reader.read(try compressed(message))
        XCTAssertEqual(reader.next(), ByteBuffer(bytes: message))
        XCTAssertNil(reader.end())
    }

    func testTruncatedCompressedMessageIsRefusedNotCutShort() throws {
        // zlib inflates a stream cut short to a prefix without complaint; the
        // checksum at the stream's end is what catches it.
        let reader = Reader()
        var input = ByteBuffer(bytes: Array(String(repeating: "truncate me ", count: 400).utf8))
        let deflated = try input.compress(with: .zlib())
        let cut = Array(deflated.readableBytesView.dropLast(4))
        XCTAssertThrowsError(try reader.read(frame(cut, flags: 1))) { error in
            XCTAssertEqual(error as? FrameError, .corruptCompressedMessage)
        }
    }

    func testReservedFlagBitsAreRefused() throws {
        let reader = Reader()
        XCTAssertThrowsError(try reader.read(frame([1, 2, 3], flags: 0x02))) { error in
            XCTAssertEqual(error as? FrameError, .reservedFlagsSet(flags: 0x02))
        }
    }

    func testLengthOverTheLimitIsRefusedFromTheHeaderAlone() throws {
        let reader = Reader(maxMessageSize: 1_024)
        var header = ByteBuffer()
        header.writeInteger(UInt8(0))
        header.writeInteger(UInt32(1_025))
        // Only the header has arrived: the decoder must not wait for (and buffer) 1,025 bytes.
        XCTAssertThrowsError(try reader.read(header)) { error in
            XCTAssertEqual(error as? FrameError, .messageTooLarge(length: 1_025, limit: 1_024))
        }
    }

    func testMessageExactlyAtTheLimitIsAccepted() throws {
        let reader = Reader(maxMessageSize: 1_024)
        try reader.read(frame(Array(repeating: 1, count: 1_024)))
        XCTAssertEqual(reader.next()?.readableBytes, 1_024)
        XCTAssertNil(reader.end())
    }

    func testZipBombIsRefused() throws {
        // 64 KiB of zeros compresses to ~80 bytes; the limit is 4 KiB.
        let reader = Reader(maxMessageSize: 4_096)
        let bomb = try compressed([UInt8](repeating: 0, count: 64 << 10))
        XCTAssertLessThan(bomb.readableBytes, 4_096)
        XCTAssertThrowsError(try reader.read(bomb)) { error in
            XCTAssertEqual(error as? FrameError, .inflatedTooLarge(limit: 4_096))
        }
    }

    func testCorruptCompressedMessageIsRefused() throws {
        let reader = Reader()
        XCTAssertThrowsError(try reader.read(frame([0xde, 0xad, 0xbe, 0xef, 0x00], flags: 1))) { error in
            XCTAssertEqual(error as? FrameError, .corruptCompressedMessage)
        }
    }

    func testGarbageAfterAValidFrameYieldsTheFrameThenAnError() throws {
        let reader = Reader(maxMessageSize: 1_024)
        var input = frame(Array("valid".utf8))
        input.writeBytes([0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
        XCTAssertThrowsError(try reader.read(input)) { error in
            XCTAssertEqual(error as? FrameError, .reservedFlagsSet(flags: 0xff))
        }
        XCTAssertEqual(reader.next(), ByteBuffer(string: "valid"))
    }

    func testConnectionEndingInsideAFrameIsReported() throws {
        let reader = Reader()
        var whole = frame(Array("truncated".utf8))
        try reader.read(whole.readSlice(length: 8)!)
        XCTAssertEqual(reader.end(), .truncatedFrame(received: 8, expected: 14))
        // Over is over: nothing read after the end, and it is reported once.
        try reader.read(frame(Array("late".utf8)))
        XCTAssertNil(reader.next())
        XCTAssertNil(reader.end())
    }

    func testAStreamStoppedByABadFrameDoesNotReportItsRestAsTruncated() throws {
        let reader = Reader()
        var input = frame(Array("valid".utf8))
        input.writeBytes([0x04, 0, 0, 0, 9, 1])  // a reserved flag, and the message not all there
        XCTAssertThrowsError(try reader.read(input))
        XCTAssertEqual(reader.next(), ByteBuffer(string: "valid"))
        XCTAssertNil(reader.end())
    }

    func testOutboundFramesAreCompressedFromTheThresholdOnly() throws {
        let stream = FrameStream(limits: WireLimits(compressionThreshold: 1_024))
        func framed(_ text: String) -> ByteBuffer { frame(Array(text.utf8)) }
        let small = framed(String(repeating: "کم", count: 100))
        XCTAssertEqual(stream.outbound(small, allocator: ByteBufferAllocator()), small, "under the threshold: untouched")
        let large = framed(String(repeating: "بسیار ", count: 400))
        var out = stream.outbound(large, allocator: ByteBufferAllocator())
        XCTAssertEqual(out.getInteger(at: out.readerIndex, as: UInt8.self), FrameParser.compressedFlag)
        XCTAssertLessThan(out.readableBytes, large.readableBytes / 4)
        XCTAssertEqual(try FrameParser().nextMessage(from: &out), ByteBuffer(string: String(repeating: "بسیار ", count: 400)))
        let never = FrameStream(limits: WireLimits(compressionThreshold: nil))
        XCTAssertEqual(never.outbound(large, allocator: ByteBufferAllocator()), large, "no threshold: never compressed")
    }

    func testSmallFramesAreGatheredInOrderAndABatchHandedOutIsNeverWrittenOver() throws {
        var stream = FrameStream(limits: .default)
        let allocator = ByteBufferAllocator()
        XCTAssertNil(stream.takeGathered(), "nothing gathered yet")
        for text in ["یک", "two", "سه"] { XCTAssertTrue(stream.gather(frame(Array(text.utf8)), allocator: allocator)) }
        let first = try XCTUnwrap(stream.takeGathered())
        XCTAssertNil(stream.takeGathered(), "taken once")
        // NIO still holds the first batch: the next frames must not land in its bytes.
        let held = Array(first.readableBytesView)
        XCTAssertTrue(stream.gather(frame(Array("four".utf8)), allocator: allocator))
        XCTAssertEqual(Array(first.readableBytesView), held)
        var messages = first
        var texts: [String] = []
        while let message = try FrameParser().nextMessage(from: &messages) { texts.append(String(buffer: message)) }
        XCTAssertEqual(texts, ["یک", "two", "سه"])
        var second = try XCTUnwrap(stream.takeGathered())
        XCTAssertEqual(try FrameParser().nextMessage(from: &second), ByteBuffer(string: "four"))
        XCTAssertEqual(second.readableBytes, 0, "only what was gathered since the last batch")

        // A frame over the limit is not copied: the handler writes it after the batch.
        XCTAssertFalse(stream.gather(frame(Array(repeating: 7, count: FrameStream.gatherLimit)), allocator: allocator))
        XCTAssertNil(stream.takeGathered())
        // Once the connection ends, what was gathered is dropped.
        XCTAssertTrue(stream.gather(frame([1]), allocator: allocator))
        _ = stream.end()
        XCTAssertNil(stream.takeGathered())
    }

    func testFlushesInsideAReadWaitForItsEndAndOthersForTheEndOfTheTick() {
        var stream = FrameStream(limits: .default)
        // Inside a read: held for its end, however many are asked for.
        stream.receive(ByteBuffer())
        XCTAssertFalse(stream.flushRequested())
        XCTAssertFalse(stream.flushRequested())
        XCTAssertTrue(stream.readComplete())
        // A read that asked for none does not flush.
        stream.receive(ByteBuffer())
        XCTAssertFalse(stream.readComplete())
        // Outside a read: the first asks for a flush at the end of the tick; the rest join it.
        XCTAssertTrue(stream.flushRequested())
        XCTAssertFalse(stream.flushRequested())
        // A read meanwhile flushes what it asked for at its end; the scheduled flush still stands.
        stream.receive(ByteBuffer())
        XCTAssertFalse(stream.flushRequested())
        XCTAssertTrue(stream.readComplete())
        XCTAssertFalse(stream.flushRequested())
        stream.scheduledFlushIsDue()
        XCTAssertTrue(stream.flushRequested(), "the next one is scheduled afresh")
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
