import CXModel
import CXWire
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

/// Runs an ``RPCServer`` as a swift-service-lifecycle service: serves until
/// a graceful shutdown, then drains (no new calls, accepted calls finish)
/// and returns; cancellation closes at once.
public struct RPCServerService: Service {
    public let server: RPCServer
    private let addressFile: URL?

    public init(server: RPCServer, addressFile: URL? = nil) {
        self.server = server
        self.addressFile = addressFile
    }

    public func run() async throws {
        try await server.start()
        if let addressFile, let address = server.localAddress {
            let text = "\(address.ipAddress ?? server.configuration.host):\(address.port ?? 0)\n"
            try Data(text.utf8).write(to: addressFile, options: .atomic)
        }
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await server.waitUntilClosed()
            } onGracefulShutdown: {
                server.beginGracefulShutdown()
            }
        } onCancel: {
            server.close()
        }
    }
}

/// What a service executable does: resolve its options, set up logging,
/// build its router, and serve until SIGTERM or SIGINT, then drain and
/// return (exit status 0).
public enum ServiceRunner {
    /// - Parameters:
    ///   - register: adds the service's own methods; it gets the resolved
    ///     options (for the data directory) and the service's logger.
    ///   - services: more lifecycle services to run beside the server (an
    ///     outbox relay, say), started before it and stopped after it.
    ///   - sendsToPeers: the service tells peers through its outbox; with
    ///     access control on and no peer token it says, once, that they will
    ///     refuse it.
    public static func run(
        _ service: CXServiceName,
        options: ServiceOptions,
        sendsToPeers: Bool = false,
        register: (inout RPCRouter, ResolvedServiceOptions, Logger) async throws -> [any Service] = { _, _, _ in [] }
    ) async throws {
        let resolved = try options.resolve(service: service)
        bootstrapLogging(level: resolved.logLevel, format: resolved.logFormat)
        var logger = Logger(label: "cx.\(service.rawValue)")
        logger.logLevel = resolved.logLevel
        for notice in resolved.notices {
            logger.log(level: resolved.server.accessControl == nil ? .warning : .notice, "\(notice)")
        }
        TaskExecutorChoice.logged(to: logger)
        if sendsToPeers, resolved.server.accessControl != nil, try options.peerToken() == nil {
            logger.warning(
                "no peer token ($CX_PEER_TOKEN or a peer line in the tokens file): peers with access control on will refuse this service's events, which wait in its outbox")
        }
        try FileManager.default.createDirectory(at: resolved.dataDirectory, withIntermediateDirectories: true)

        var router = RPCRouter()
        let companions = try await register(&router, resolved, logger)
        let server = RPCServer(configuration: resolved.server, router: router, logger: logger)
        let group = ServiceGroup(
            services: companions + [RPCServerService(server: server, addressFile: resolved.addressFile)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        try await group.run()
    }

    /// Installs ``CXLogHandler`` for every logger in the process, once.
    public static func bootstrapLogging(level: Logger.Level, format: LogFormat) {
        LoggingBootstrap.once.withLock { done in
            guard !done else { return }
            done = true
            LoggingSystem.bootstrap { label in CXLogHandler(label: label, level: level, format: format) }
        }
    }
}

private enum LoggingBootstrap {
    static let once = Mutex(false)
}
