import CXModel
import Foundation
import NIOCore
import NIOPosix
import SwiftProtobuf

/// The bare echo plus the one thing any protobuf RPC must do: the client
/// encodes an `EchoRequest` per call and decodes the `EchoResponse`; the
/// server decodes the request and encodes the response, each straight
/// into or out of a `ByteBuffer` as CXWire does. No envelope, no call ids,
/// no dispatch, no deadlines: a floor for CXWire, not a competitor, showing
/// how much of the distance to the bare echo is swift-protobuf's alone.
enum BareProtobufEcho {
    /// A message serialized into a `ByteBuffer` with room for the 5-byte
    /// frame header in front, or parsed out of one, without a copy.
    struct FramedBytes: SwiftProtobufContiguousBytes {
        var buffer: ByteBuffer

        init(_ buffer: ByteBuffer) { self.buffer = buffer }

        init(repeating: UInt8, count: Int) {
            buffer = ByteBufferAllocator().buffer(capacity: count + 5)
            buffer.moveWriterIndex(forwardBy: 5)
            buffer.moveReaderIndex(forwardBy: 5)
            buffer.writeRepeatingByte(repeating, count: count)
        }

        init<S: Sequence>(_ sequence: S) where S.Element == UInt8 {
            buffer = ByteBuffer(bytes: sequence)
        }

        var count: Int { buffer.readableBytes }

        func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
            try buffer.withUnsafeReadableBytes(body)
        }

        mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
            try buffer.withUnsafeMutableReadableBytes(body)
        }

        /// `message` as a whole frame: the header written into the room in front.
        static func frame(_ message: some SwiftProtobuf.Message) throws -> ByteBuffer {
            var buffer = (try message.serializedBytes() as FramedBytes).buffer
            let length = buffer.readableBytes
            buffer.moveReaderIndex(to: buffer.readerIndex - 5)
            buffer.setInteger(UInt8(0), at: buffer.readerIndex)
            buffer.setInteger(UInt32(length), at: buffer.readerIndex + 1)
            return buffer
        }

        /// The message in a whole frame, header included.
        static func message<M: SwiftProtobuf.Message>(_ type: M.Type, in frame: ByteBuffer) throws -> M {
            try M(serializedBytes: FramedBytes(frame.getSlice(at: frame.readerIndex + 5, length: frame.readableBytes - 5)!))
        }
    }

    final class ServerHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            do {
                let request = try FramedBytes.message(Cx_Wire_V1_EchoRequest.self, in: unwrapInboundIn(data))
                var response = Cx_Wire_V1_EchoResponse()
                response.payload = request.payload
                response.text = request.text
                context.write(wrapOutboundOut(try FramedBytes.frame(response)), promise: nil)
            } catch {
                context.close(promise: nil)
            }
        }
        func channelReadComplete(context: ChannelHandlerContext) {
            context.flush()
        }
    }

    /// The bare echo's client, with a request encoded per call and each answer decoded.
    final class ClientHandler: PipelinedClientHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        let request: Cx_Wire_V1_EchoRequest
        let inFlight: Int
        let window: Window
        var sentAt: [UInt64] = []
        var head = 0
        var result = LoadResult()
        let done: EventLoopPromise<Void>

        init(request: Cx_Wire_V1_EchoRequest, inFlight: Int, window: Window, done: EventLoopPromise<Void>) {
            self.request = request
            self.inFlight = inFlight
            self.window = window
            self.done = done
        }

        func channelActive(context: ChannelHandlerContext) {
            for _ in 0..<inFlight { send(context: context) }
            context.flush()
        }

        private func send(context: ChannelHandlerContext) {
            sentAt.append(now())
            context.write(wrapOutboundOut(try! FramedBytes.frame(request)), promise: nil)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let sent = sentAt[head]
            head += 1
            if head > 4_096 {
                sentAt.removeFirst(head)
                head = 0
            }
            let time = now()
            if window.contains(time) {
                if (try? FramedBytes.message(Cx_Wire_V1_EchoResponse.self, in: unwrapInboundIn(data))) != nil {
                    result.calls += 1
                    result.latency.record(time - sent)
                } else {
                    result.errors += 1
                }
            }
            if !window.isOver(time) {
                send(context: context)
            } else if head == sentAt.count {
                done.succeed()
            }
        }

        func channelReadComplete(context: ChannelHandlerContext) {
            context.flush()
        }
    }

    static func run(concurrency: Concurrency, payloadSize: Int, window: Window) async throws -> LoadResult {
        let group = BenchLoops.server
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(BareEcho.Decoder()))
                    try channel.pipeline.syncOperations.addHandler(ServerHandler())
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        var request = Cx_Wire_V1_EchoRequest()
        request.payload = Data(repeating: 0x61, count: payloadSize)
        let echo = request
        let total = try await PipelinedClients.run(port: server.localAddress!.port!, connections: concurrency.connections, window: window) { done in
            ClientHandler(request: echo, inFlight: concurrency.inFlight, window: window, done: done)
        }
        try await server.close()
        return total
    }
}
