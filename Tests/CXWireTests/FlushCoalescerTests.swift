import NIOCore
import NIOEmbedded
import XCTest

@testable import CXWire

final class FlushCoalescerTests: XCTestCase {
    /// Counts the flushes that get past the coalescer to the socket.
    private final class FlushCounter: ChannelOutboundHandler {
        typealias OutboundIn = ByteBuffer
        var flushes = 0
        func flush(context: ChannelHandlerContext) {
            flushes += 1
            context.flush()
        }
    }

    /// Answers each frame at once and flushes after it, as a connection
    /// handler with a synchronous method does.
    private final class FlushingEcho: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            context.write(data, promise: nil)
            context.flush()
        }
    }

    /// A channel laid out as CX's: the coalescer next to the socket, with a
    /// flush counter between them.
    private func channel(answering: Bool = true) throws -> (EmbeddedChannel, FlushCounter) {
        let counter = FlushCounter()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(counter)
        try channel.pipeline.syncOperations.addHandler(FlushCoalescer())
        if answering { try channel.pipeline.syncOperations.addHandler(FlushingEcho()) }
        return (channel, counter)
    }

    private func outbound(_ channel: EmbeddedChannel) throws -> [String] {
        var out: [String] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { out.append(String(buffer: buffer)) }
        return out
    }

    func testTheAnswersOfOneReadLeaveInOneFlushAtItsEnd() throws {
        let (channel, counter) = try channel()
        for text in ["یک", "two", "سه"] { channel.pipeline.syncOperations.fireChannelRead(NIOAny(ByteBuffer(string: text))) }
        XCTAssertEqual(counter.flushes, 0, "flushed inside the read")
        XCTAssertEqual(try outbound(channel), [])
        channel.pipeline.syncOperations.fireChannelReadComplete()
        XCTAssertEqual(counter.flushes, 1)
        XCTAssertEqual(try outbound(channel), ["یک", "two", "سه"])
        // Nothing was left scheduled for the end of the tick.
        channel.embeddedEventLoop.run()
        XCTAssertEqual(counter.flushes, 1)
        XCTAssertTrue(try channel.finish().isClean)
    }

    func testAReadThatAnswersNothingDoesNotFlush() throws {
        let (channel, counter) = try channel(answering: false)
        channel.pipeline.syncOperations.fireChannelRead(NIOAny(ByteBuffer(string: "kept")))
        channel.pipeline.syncOperations.fireChannelReadComplete()
        channel.embeddedEventLoop.run()
        XCTAssertEqual(counter.flushes, 0)
        _ = try channel.finish()
    }

    func testFlushesOutsideAReadLeaveOnceAtTheEndOfTheTick() throws {
        let (channel, counter) = try channel()
        // As an async handler's answers come back, or calls started from a task.
        channel.pipeline.syncOperations.write(NIOAny(ByteBuffer(string: "a")), promise: nil)
        channel.pipeline.syncOperations.flush()
        channel.pipeline.syncOperations.write(NIOAny(ByteBuffer(string: "b")), promise: nil)
        channel.pipeline.syncOperations.flush()
        XCTAssertEqual(counter.flushes, 0, "flushed before the end of the tick")
        channel.embeddedEventLoop.run()
        XCTAssertEqual(counter.flushes, 1)
        XCTAssertEqual(try outbound(channel), ["a", "b"])
        // The next flush is scheduled afresh.
        channel.pipeline.syncOperations.write(NIOAny(ByteBuffer(string: "c")), promise: nil)
        channel.pipeline.syncOperations.flush()
        channel.embeddedEventLoop.run()
        XCTAssertEqual(counter.flushes, 2)
        XCTAssertEqual(try outbound(channel), ["c"])
        XCTAssertTrue(try channel.finish().isClean)
    }

    func testAFlushAfterTheReadEndedIsNotHeldForTheNextRead() throws {
        let (channel, counter) = try channel()
        channel.pipeline.syncOperations.fireChannelRead(NIOAny(ByteBuffer(string: "first")))
        channel.pipeline.syncOperations.fireChannelReadComplete()
        XCTAssertEqual(counter.flushes, 1)
        channel.pipeline.syncOperations.write(NIOAny(ByteBuffer(string: "later")), promise: nil)
        channel.pipeline.syncOperations.flush()
        channel.embeddedEventLoop.run()
        XCTAssertEqual(counter.flushes, 2)
        XCTAssertEqual(try outbound(channel), ["first", "later"])
        XCTAssertTrue(try channel.finish().isClean)
    }
}
