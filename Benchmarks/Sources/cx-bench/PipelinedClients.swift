import NIOCore
import NIOPosix

/// A closed-loop load client written as a channel handler: it keeps its
/// calls in flight itself, records them in `result`, and completes the
/// promise it was made with once the window is over and all are answered.
protocol PipelinedClientHandler: ChannelInboundHandler, SendableMetatype where InboundIn == ByteBuffer {
    var result: LoadResult { get }
}

enum PipelinedClients {
    /// Connects `connections` clients to 127.0.0.1:`port`, one handler each
    /// (made on its event loop with its completion promise), waits for all
    /// to finish, and sums their results.
    static func run<Handler: PipelinedClientHandler>(
        port: Int, connections: Int, window: Window,
        makeHandler: @escaping @Sendable (EventLoopPromise<Void>) -> Handler
    ) async throws -> LoadResult {
        let group = BenchLoops.client
        var clients: [(any Channel, NIOLoopBound<Handler>, EventLoopFuture<Void>)] = []
        for _ in 0..<connections {
            let eventLoop = group.next()
            let done = eventLoop.makePromise(of: Void.self)
            let handler = try await eventLoop.submit { NIOLoopBound(makeHandler(done), eventLoop: eventLoop) }.get()
            let channel = try await ClientBootstrap(group: eventLoop)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(BareEcho.Decoder()))
                        try channel.pipeline.syncOperations.addHandler(handler.value)
                    }
                }
                .connect(host: "127.0.0.1", port: port).get()
            clients.append((channel, handler, done.futureResult))
        }
        var total = LoadResult()
        for (channel, handler, done) in clients {
            try await done.get()
            total.merge(try await channel.eventLoop.submit { handler.value.result }.get())
            try await channel.close()
        }
        total.seconds = window.seconds
        return total
    }
}
