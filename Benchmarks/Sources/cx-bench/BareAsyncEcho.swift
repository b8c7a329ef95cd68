import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// The bare SwiftNIO echo server of ``BareEcho`` driven the way CXWire's
/// own client is: `connections x inFlight` Swift tasks, each awaiting one
/// call at a time, every call a continuation resumed when its echo comes
/// back. No envelope, no call ids (echoes return in order on a connection,
/// so a FIFO of continuations matches them), no dispatch.
///
/// ``BareEcho``'s client keeps its calls in flight inside one channel
/// handler and never leaves the event loop; no Swift program that awaits
/// its calls pays so little. This reference pays what any async caller
/// pays on bare NIO (a task, a continuation, a resumption per call), so
/// CXWire / this is what CXWire's envelope, call ids, deadlines, dispatch
/// and handler tasks cost on top of that.
enum BareAsyncEcho {
    /// One connection's client: writes frames, resumes the oldest waiting
    /// caller per echo. Lives on its channel's event loop.
    final class ClientHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        private var waiting: CircularBuffer<CheckedContinuation<Void, any Error>> = []
        private var context: ChannelHandlerContext?

        func handlerAdded(context: ChannelHandlerContext) { self.context = context }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            waiting.popFirst()?.resume()
        }

        func channelInactive(context: ChannelHandlerContext) {
            while let continuation = waiting.popFirst() { continuation.resume(throwing: ChannelError.ioOnClosedChannel) }
        }

        /// Sends `frame` and arranges for `continuation` to resume with its echo.
        func send(_ frame: ByteBuffer, _ continuation: CheckedContinuation<Void, any Error>) {
            guard let context else { return continuation.resume(throwing: ChannelError.ioOnClosedChannel) }
            waiting.append(continuation)
            context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
        }
    }

    /// A connection and its handler, callable from any task.
    final class Connection: Sendable {
        let channel: any Channel
        private let handler: NIOLoopBound<ClientHandler>

        init(channel: any Channel, handler: NIOLoopBound<ClientHandler>) {
            self.channel = channel
            self.handler = handler
        }

        func call(_ frame: ByteBuffer) async throws {
            try await withCheckedThrowingContinuation { continuation in
                if channel.eventLoop.inEventLoop {
                    handler.value.send(frame, continuation)
                } else {
                    channel.eventLoop.execute { self.handler.value.send(frame, continuation) }
                }
            }
        }
    }

    static func run(concurrency: Concurrency, payloadSize: Int, window: Window) async throws -> LoadResult {
        let group = MultiThreadedEventLoopGroup.singleton
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(BareEcho.Decoder()))
                    try channel.pipeline.syncOperations.addHandler(BareEcho.ServerHandler())
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = server.localAddress!.port!

        var buffer = ByteBuffer()
        buffer.writeInteger(UInt8(0))
        buffer.writeInteger(UInt32(payloadSize))
        buffer.writeRepeatingByte(0x61, count: payloadSize)
        let frame = buffer

        var connections: [Connection] = []
        for _ in 0..<concurrency.connections {
            let eventLoop = group.next()
            let handler = try await eventLoop.submit { NIOLoopBound(ClientHandler(), eventLoop: eventLoop) }.get()
            let channel = try await ClientBootstrap(group: eventLoop)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(BareEcho.Decoder()))
                        try channel.pipeline.syncOperations.addHandler(handler.value)
                    }
                }
                .connect(host: "127.0.0.1", port: port).get()
            connections.append(Connection(channel: channel, handler: handler))
        }

        // Callers spread over connections and, as in CXWireEcho, each starts on
        // the event loop of its connection, where Swift Concurrency runs here.
        let total = await withTaskGroup(of: LoadResult.self) { group in
            for index in 0..<(concurrency.connections * concurrency.inFlight) {
                let connection = connections[index % connections.count]
                group.addTask {
                    let worker = try? await connection.channel.eventLoop.submit {
                        Task { await callInLoop(connection: connection, frame: frame, window: window) }
                    }.get()
                    return await worker?.value ?? LoadResult()
                }
            }
            var total = LoadResult()
            for await result in group { total.merge(result) }
            return total
        }
        for connection in connections { try? await connection.channel.close() }
        try await server.close()
        var result = total
        result.seconds = window.seconds
        return result
    }

    static func callInLoop(connection: Connection, frame: ByteBuffer, window: Window) async -> LoadResult {
        var result = LoadResult()
        while true {
            let sent = now()
            if window.isOver(sent) { break }
            do {
                try await connection.call(frame)
                let time = now()
                if window.contains(time) {
                    result.calls += 1
                    result.latency.record(time - sent)
                }
            } catch {
                result.errors += 1
            }
        }
        return result
    }
}
