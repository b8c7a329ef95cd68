import NIOCore
import NIOPosix

/// The reference: a bare SwiftNIO length-prefixed echo. Same framing as CX
/// (1 flag byte + 4-byte length), but no envelope, no dispatch, no tasks:
/// the server writes each frame back as it arrived.
enum BareEcho {
    /// Splits the stream into whole frames, header included.
    struct Decoder: ByteToMessageDecoder {
        typealias InboundOut = ByteBuffer
        mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
            guard let length = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt32.self),
                buffer.readableBytes >= 5 + Int(length)
            else { return .needMoreData }
            context.fireChannelRead(wrapInboundOut(buffer.readSlice(length: 5 + Int(length))!))
            return .continue
        }
    }

    final class ServerHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            context.write(data, promise: nil)
        }
        func channelReadComplete(context: ChannelHandlerContext) {
            context.flush()
        }
    }

    /// Keeps `inFlight` frames outstanding; echoes come back in order, so a
    /// FIFO of send times gives each one's latency.
    final class ClientHandler: PipelinedClientHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        let frame: ByteBuffer
        let inFlight: Int
        let window: Window
        var sentAt: [UInt64] = []
        var head = 0
        var result = LoadResult()
        let done: EventLoopPromise<Void>

        init(frame: ByteBuffer, inFlight: Int, window: Window, done: EventLoopPromise<Void>) {
            self.frame = frame
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
            context.write(wrapOutboundOut(frame), promise: nil)
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
                result.calls += 1
                result.latency.record(time - sent)
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
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(Decoder()))
                    try channel.pipeline.syncOperations.addHandler(ServerHandler())
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = server.localAddress!.port!

        var buffer = ByteBuffer()
        buffer.writeInteger(UInt8(0))
        buffer.writeInteger(UInt32(payloadSize))
        buffer.writeRepeatingByte(0x61, count: payloadSize)
        let frame = buffer

        let total = try await PipelinedClients.run(port: port, connections: concurrency.connections, window: window) { done in
            ClientHandler(frame: frame, inFlight: concurrency.inFlight, window: window, done: done)
        }
        try await server.close()
        return total
    }
}
