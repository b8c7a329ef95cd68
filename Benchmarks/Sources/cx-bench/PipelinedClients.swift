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
        let group = MultiThreadedEventLoopGroup.singleton
        var clients: [(any Channel, NIOLoopBound<Handler>, EventLoopFuture<Void>)] = []
        for index in 0..<connections {
            let eventLoop = group.loop(index)
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

extension EventLoopGroup {
    /// The group's loop number `index`, counted round its loops: how the
    /// benchmarks spread callers and connections, evenly in every run.
    ///
    /// Not `next()`: Swift's tasks on NIO's loops take turns of that same
    /// counter as a benchmark sets up (each resumption of the setting-up
    /// task may), so consecutive `next()` calls with awaits between them
    /// skipped loops, and in some runs put most callers on one loop while
    /// the other idled (per-thread CPU of `cx-bench wire --implementations
    /// cxwire-loop`: 200 and 100 ticks in 2 s in two of six runs).
    func loop(_ index: Int) -> any EventLoop {
        var loops: [any EventLoop] = []
        var iterator = makeIterator()
        while let loop = iterator.next() { loops.append(loop) }
        return loops[index % loops.count]
    }
}
