import CXModel
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import XCTest

@testable import CXWire

/// When the connection handlers' writes reach the socket: a socket read's
/// answers in one flush at its end, other writes in one flush at the end
/// of the event loop's tick (see ``FrameStream``).
final class ConnectionFlushTests: XCTestCase {
    /// Counts the flushes that leave the handler for the socket.
    private final class FlushCounter: ChannelOutboundHandler {
        typealias OutboundIn = ByteBuffer
        var flushes = 0
        func flush(context: ChannelHandlerContext) {
            flushes += 1
            context.flush()
        }
    }

    private func echoRequest(callID: UInt64, text: String) throws -> ByteBuffer {
        var request = Cx_Wire_V1_EchoRequest()
        request.text = text
        var payload = try request.serializedRequestBuffer()
        return FastFrames.requestFrame(
            callID: callID, method: Cx_Wire_V1_Echo.echo.fullName, payload: &payload, timeoutMicros: 5_000_000,
            metadata: [:], allocator: ByteBufferAllocator())
    }

    /// A server connection with the built-in methods (Echo answers inline),
    /// a flush counter between it and the socket.
    private func serverChannel() throws -> (EmbeddedChannel, FlushCounter) {
        let configuration = RPCServerConfiguration(name: "flush-test", idleTimeout: nil)
        let stats = ServerStats()
        var router = RPCRouter()
        BuiltinMethods.register(into: &router, configuration: configuration, stats: stats, state: { false })
        let counter = FlushCounter()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(counter)
        try channel.pipeline.syncOperations.addHandler(ServerConnectionHandler(
            router: router, configuration: configuration, stats: stats, logger: Logger(label: "flush-test"), rejection: nil))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 7101)).wait()
        return (channel, counter)
    }

    /// The Echo texts of the OK responses written so far, in order.
    private func answers(_ channel: EmbeddedChannel) throws -> [String] {
        var texts: [String] = []
        while var frame = try channel.readOutbound(as: ByteBuffer.self) {
            while let message = try FrameParser().nextMessage(from: &frame) {
                let (_, payload) = try XCTUnwrap(FastFrames.parseOKResponse(message), "not an OK response")
                texts.append(try Cx_Wire_V1_EchoResponse(buffer: payload).text)
            }
        }
        return texts
    }

    func testTheAnswersOfOneReadLeaveInOneFlushAtItsEnd() throws {
        let (channel, counter) = try serverChannel()
        // Three requests in one socket read, the last split across a second.
        var bytes = ByteBuffer()
        for (id, text) in [(1, "یک"), (2, "two"), (3, "سه")] as [(UInt64, String)] {
            var frame = try echoRequest(callID: id, text: text)
            bytes.writeBuffer(&frame)
        }
        let tail = bytes.readSlice(length: bytes.readableBytes - 3)!
        channel.pipeline.syncOperations.fireChannelRead(NIOAny(tail))
        XCTAssertEqual(counter.flushes, 0, "flushed inside the read")
        XCTAssertEqual(try answers(channel), [])
        channel.pipeline.syncOperations.fireChannelReadComplete()
        XCTAssertEqual(counter.flushes, 1)
        XCTAssertEqual(try answers(channel), ["یک", "two"])
        channel.pipeline.syncOperations.fireChannelRead(NIOAny(bytes))
        channel.pipeline.syncOperations.fireChannelReadComplete()
        XCTAssertEqual(counter.flushes, 2)
        XCTAssertEqual(try answers(channel), ["سه"])
        // Nothing was left scheduled for the end of the tick.
        channel.embeddedEventLoop.run()
        XCTAssertEqual(counter.flushes, 2)
        _ = try channel.finish()
    }

    func testAReadThatCompletesNoFrameDoesNotFlush() throws {
        let (channel, counter) = try serverChannel()
        var frame = try echoRequest(callID: 1, text: "half")
        channel.pipeline.syncOperations.fireChannelRead(NIOAny(frame.readSlice(length: 6)!))
        channel.pipeline.syncOperations.fireChannelReadComplete()
        channel.embeddedEventLoop.run()
        XCTAssertEqual(counter.flushes, 0)
        channel.pipeline.syncOperations.fireChannelRead(NIOAny(frame))
        channel.pipeline.syncOperations.fireChannelReadComplete()
        XCTAssertEqual(counter.flushes, 1)
        XCTAssertEqual(try answers(channel), ["half"])
        _ = try channel.finish()
    }

    /// A client connection and its handler, a flush counter between it and the socket.
    private func clientChannel() throws -> (EmbeddedChannel, ClientConnectionHandler, FlushCounter) {
        let counter = FlushCounter()
        let handler = ClientConnectionHandler(
            peer: "127.0.0.1:7101", limits: .default, answering: AnsweringMark.Slot(owner: AnsweringMark(), index: 0),
            onGoAway: { _ in })
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(counter)
        try channel.pipeline.syncOperations.addHandler(handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 7101)).wait()
        return (channel, handler, counter)
    }

    /// Notes the ids of the calls answered OK.
    private struct Answered: ClientConnectionHandler.AnswerCallback {
        let id: UInt64
        let answered: NIOLockedValueBox<[UInt64]>
        func answered(_ result: Result<ByteBuffer, RPCError>) {
            if case .success = result { answered.withLockedValue { $0.append(id) } }
        }
    }

    private func start(_ handler: ClientConnectionHandler, id: UInt64, answered: NIOLockedValueBox<[UInt64]>) throws {
        handler.startCall(
            id: id, frame: try echoRequest(callID: id, text: "call \(id)"), deadline: .now() + .seconds(5),
            waiter: .callback(Answered(id: id, answered: answered)))
    }

    private func requestCount(_ channel: EmbeddedChannel) throws -> Int {
        var count = 0
        while var frame = try channel.readOutbound(as: ByteBuffer.self) {
            while try FrameParser().nextMessage(from: &frame) != nil { count += 1 }
        }
        return count
    }

    func testCallsStartedOutsideAReadLeaveInOneFlushAtTheEndOfTheTick() throws {
        let (channel, handler, counter) = try clientChannel()
        let answered = NIOLockedValueBox<[UInt64]>([])
        // As calls started from tasks are.
        try start(handler, id: 1, answered: answered)
        try start(handler, id: 2, answered: answered)
        XCTAssertEqual(counter.flushes, 0, "flushed before the end of the tick")
        channel.embeddedEventLoop.run()
        XCTAssertEqual(counter.flushes, 1)
        XCTAssertEqual(try requestCount(channel), 2)
        // The next flush is scheduled afresh.
        try start(handler, id: 3, answered: answered)
        channel.embeddedEventLoop.run()
        XCTAssertEqual(counter.flushes, 2)
        XCTAssertEqual(try requestCount(channel), 1)

        // An answer read, and a call started from it: sent at the read's end.
        var response = Cx_Wire_V1_EchoResponse()
        response.text = "one"
        var payload = try response.serializedBuffer()
        channel.pipeline.syncOperations.fireChannelRead(NIOAny(FastFrames.responseFrame(callID: 1, payload: &payload)))
        try start(handler, id: 4, answered: answered)
        XCTAssertEqual(counter.flushes, 2)
        channel.pipeline.syncOperations.fireChannelReadComplete()
        XCTAssertEqual(counter.flushes, 3)
        XCTAssertEqual(try requestCount(channel), 1)
        XCTAssertEqual(answered.withLockedValue { $0 }, [1])
        // A flush asked for after the read ended is not held for the next read.
        try start(handler, id: 5, answered: answered)
        channel.embeddedEventLoop.run()
        XCTAssertEqual(counter.flushes, 4)
        XCTAssertEqual(try requestCount(channel), 1)
        _ = try channel.finish()
    }
}
