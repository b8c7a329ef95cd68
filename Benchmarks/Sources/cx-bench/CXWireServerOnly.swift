import CXModel
import CXWire
import Foundation
import NIOCore
import NIOPosix
import SwiftProtobuf

/// CXWire's server driven by a pipelined NIO client that writes CX frames
/// itself (no tasks, no continuations): what the server costs, apart from
/// the async client API's own cost.
enum CXWireServerOnly {
    final class ClientHandler: PipelinedClientHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        let payload: Data
        let inFlight: Int
        let window: Window
        let done: EventLoopPromise<Void>
        var sentAt: [UInt64: UInt64] = [:]
        var nextID: UInt64 = 1
        var result = LoadResult()

        init(payload: Data, inFlight: Int, window: Window, done: EventLoopPromise<Void>) {
            self.payload = payload
            self.inFlight = inFlight
            self.window = window
            self.done = done
        }

        func channelActive(context: ChannelHandlerContext) {
            for _ in 0..<inFlight { send(context: context) }
            context.flush()
        }

        private func send(context: ChannelHandlerContext) {
            var request = Cx_Wire_V1_EchoRequest()
            request.payload = payload
            var frame = Cx_Wire_V1_Frame()
            frame.callID = nextID
            frame.request.method = Cx_Wire_V1_Echo.echo.fullName
            frame.request.payload = try! request.serializedBytes()
            frame.request.timeoutMicros = 30_000_000
            let message: [UInt8] = try! frame.serializedBytes()
            var buffer = context.channel.allocator.buffer(capacity: message.count + 5)
            buffer.writeInteger(UInt8(0))
            buffer.writeInteger(UInt32(message.count))
            buffer.writeBytes(message)
            sentAt[nextID] = now()
            nextID += 1
            context.write(wrapOutboundOut(buffer), promise: nil)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            buffer.moveReaderIndex(forwardBy: 5)
            let frame = try! Cx_Wire_V1_Frame(serializedBytes: Array(buffer.readableBytesView))
            _ = try! Cx_Wire_V1_EchoResponse(serializedBytes: frame.response.payload)
            let sent = sentAt.removeValue(forKey: frame.callID) ?? 0
            let time = now()
            if window.contains(time) {
                result.calls += 1
                result.latency.record(time - sent)
            }
            if !window.isOver(time) {
                send(context: context)
            } else if sentAt.isEmpty {
                done.succeed()
            }
        }

        func channelReadComplete(context: ChannelHandlerContext) { context.flush() }
    }

    static func run(concurrency: Concurrency, payloadSize: Int, window: Window) async throws -> LoadResult {
        let server = try await startEchoServer()
        let port = server.localAddress!.port!
        let payload = Data(repeating: 0x61, count: payloadSize)
        let total = try await PipelinedClients.run(port: port, connections: concurrency.connections, window: window) { done in
            ClientHandler(payload: payload, inFlight: concurrency.inFlight, window: window, done: done)
        }
        server.close()
        try await server.waitUntilClosed()
        return total
    }
}
