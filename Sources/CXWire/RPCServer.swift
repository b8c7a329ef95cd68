import CXModel
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SwiftProtobuf

/// A CX RPC server: listens on TCP, serves the methods of an ``RPCRouter``
/// plus the built-in Health, Reflection and Echo methods.
///
/// ```swift
/// let server = RPCServer(configuration: .init(name: "profiles", port: 7101), router: router)
/// try await server.start()
/// // ... later, from a shutdown signal:
/// server.beginGracefulShutdown()
/// try await server.waitUntilClosed()
/// ```
///
/// Each connection runs its own handler; one bad client (garbage, an
/// oversized frame) loses its connection and nobody else notices.
public final class RPCServer: Sendable {
    private struct State {
        var serverChannel: (any Channel)?
        var connections: [ObjectIdentifier: any Channel] = [:]
        var draining = false
    }

    public let configuration: RPCServerConfiguration
    private let router: RPCRouter
    private let group: any EventLoopGroup
    private let logger: Logger
    private let stats = ServerStats()
    private let state = NIOLockedValueBox(State())

    /// - Parameters:
    ///   - router: the service's methods; Health, Reflection and Echo are added.
    ///   - group: event loops for the listener and connections.
    public init(
        configuration: RPCServerConfiguration,
        router: RPCRouter,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "cx.wire.server")
    ) {
        self.configuration = configuration
        self.group = group
        var logger = logger
        logger[metadataKey: "server"] = "\(configuration.name)"
        self.logger = logger
        var router = router
        BuiltinMethods.register(into: &router, configuration: configuration, stats: stats, state: { [state] in
            state.withLockedValue { $0.draining }
        })
        self.router = router
    }

    /// The address the server listens on, once started: with port 0, the port
    /// the system chose.
    public var localAddress: SocketAddress? {
        state.withLockedValue { $0.serverChannel?.localAddress }
    }

    /// Every method served, built-ins included, sorted by name.
    public var methods: [AnyMethodDescriptor] { router.methods }

    /// Binds and starts accepting connections.
    ///
    /// - Throws: the bind error (address in use, permission) as it is.
    public func start() async throws {
        let router = self.router
        let configuration = self.configuration
        let stats = self.stats
        let logger = self.logger
        let state = self.state
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                var rejection: RPCError?
                if stats.tryOpenConnection(limit: configuration.maxConnections) {
                    let id = ObjectIdentifier(channel)
                    // Registered under the lock that shutdown takes its snapshot
                    // under: a connection accepted as draining began is refused,
                    // not left out of the drain.
                    let draining = state.withLockedValue { state -> Bool in
                        if state.draining { return true }
                        state.connections[id] = channel
                        return false
                    }
                    if draining {
                        stats.connectionClosed()
                        rejection = RPCError(code: .unavailable, message: "server is shutting down")
                    } else {
                        channel.closeFuture.whenComplete { _ in
                            stats.connectionClosed()
                            state.withLockedValue { _ = $0.connections.removeValue(forKey: id) }
                        }
                    }
                } else {
                    rejection = RPCError(
                        code: .resourceExhausted,
                        message: "server has \(configuration.maxConnections) connections open, the limit; try again later")
                }
                return channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(ServerConnectionHandler(
                        router: router, configuration: configuration, stats: stats, logger: logger,
                        rejection: rejection))
                }
            }
            .bind(host: configuration.host, port: configuration.port)
            .get()
        state.withLockedValue { $0.serverChannel = channel }
        logger.info("listening", metadata: [
            "address": "\(channel.localAddress.map(ServerConnectionHandler.describe) ?? "?")",
            "methods": "\(router.methods.count)",
        ])
    }

    /// Stops accepting connections, tells every connection to finish the
    /// calls it has and close, and closes whatever is still open after the
    /// grace period. Returns at once; ``waitUntilClosed()`` waits.
    public func beginGracefulShutdown() {
        let (serverChannel, connections) = state.withLockedValue { state -> ((any Channel)?, [any Channel]) in
            guard !state.draining else { return (nil, []) }
            state.draining = true
            return (state.serverChannel, Array(state.connections.values))
        }
        guard let serverChannel else { return }
        logger.info("draining", metadata: ["connections": "\(connections.count)", "calls_in_flight": "\(stats.callsInFlight)"])
        serverChannel.close(promise: nil)
        for connection in connections {
            connection.pipeline.fireUserInboundEventTriggered(ServerDrainEvent())
        }
        let grace = configuration.shutdownGracePeriod
        let state = self.state
        let logger = self.logger
        serverChannel.eventLoop.scheduleTask(in: grace) {
            let remaining = state.withLockedValue { Array($0.connections.values) }
            if !remaining.isEmpty {
                logger.warning("grace period over; closing connections", metadata: ["connections": "\(remaining.count)"])
            }
            for connection in remaining { connection.close(promise: nil) }
        }
    }

    /// Closes the listener and every connection now; calls in flight are cancelled.
    public func close() {
        let (serverChannel, connections) = state.withLockedValue { state in
            state.draining = true
            return (state.serverChannel, Array(state.connections.values))
        }
        serverChannel?.close(promise: nil)
        for connection in connections { connection.close(promise: nil) }
    }

    /// Returns once the listener and every connection are closed.
    public func waitUntilClosed() async throws {
        guard let serverChannel = state.withLockedValue({ $0.serverChannel }) else { return }
        try await serverChannel.closeFuture.get()
        while let connection = state.withLockedValue({ $0.connections.values.first }) {
            try? await connection.closeFuture.get()
            // closeFuture callbacks remove the connection; wait for that, not just the close.
            let id = ObjectIdentifier(connection)
            while state.withLockedValue({ $0.connections[id] != nil }) { await Task.yield() }
        }
        logger.info("stopped")
    }
}
