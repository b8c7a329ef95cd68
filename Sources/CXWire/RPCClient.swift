import CXModel
import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// Calls the methods of one CX server.
///
/// ```swift
/// let client = RPCClient(host: "127.0.0.1", port: 7101)
/// let health = try await client.call(Cx_Wire_V1_Health.check, .init())
/// ```
///
/// Keeps a small pool of connections (``RPCClientConfiguration/connections``),
/// each carrying many calls at once. Connects lazily, reconnects with backoff,
/// and every failure reaches the caller as an ``RPCError``: `UNAVAILABLE` when
/// the peer cannot be reached, `DEADLINE_EXCEEDED` past the call's timeout,
/// `CANCELLED` when the calling task is cancelled, or the status the server
/// answered with.
public final class RPCClient: Sendable {
    public let host: String
    public let port: Int
    public let configuration: RPCClientConfiguration
    private let pool: [ClientConnection]
    /// The pool's connections grouped by event loop: a caller running on a
    /// loop (Swift Concurrency on NIO's loops) uses a connection of its own
    /// loop, so writing the request and resuming on the answer hop no thread.
    private let poolByLoop: [(loop: any EventLoop, connections: [ClientConnection])]
    private let nextConnection = Atomic<Int>(0)

    public init(
        host: String,
        port: Int,
        configuration: RPCClientConfiguration = RPCClientConfiguration(),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.host = host
        self.port = port
        self.configuration = configuration
        let pool = (0..<max(1, configuration.connections)).map { _ in
            ClientConnection(host: host, port: port, configuration: configuration, eventLoop: group.next())
        }
        self.pool = pool
        poolByLoop = Dictionary(grouping: pool) { ObjectIdentifier($0.eventLoop) }.values.map { ($0[0].eventLoop, $0) }
    }

    /// A client for `"host:port"` (`[::1]:7101` for IPv6).
    ///
    /// - Throws: ``RPCError`` `INVALID_ARGUMENT` naming the address when it
    ///   is not of that form.
    public convenience init(
        address: String,
        configuration: RPCClientConfiguration = RPCClientConfiguration(),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) throws {
        let (host, port) = try Self.parse(address: address)
        self.init(host: host, port: port, configuration: configuration, group: group)
    }

    /// Splits `"host:port"` or `"[v6]:port"`.
    public static func parse(address: String) throws -> (host: String, port: Int) {
        let invalid = RPCError.invalidArgument(field: "address", "\"\(address)\" is not host:port (for example 127.0.0.1:7101)")
        guard let colon = address.lastIndex(of: ":") else { throw invalid }
        var host = String(address[..<colon])
        guard let port = Int(address[address.index(after: colon)...]), (1...65_535).contains(port), !host.isEmpty else {
            throw invalid
        }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host, port)
    }

    /// Calls `method` with `request` and returns its response.
    ///
    /// - Throws: ``RPCError``, always.
    public func call<Request, Response>(
        _ method: MethodDescriptor<Request, Response>,
        _ request: Request,
        options: CallOptions = CallOptions()
    ) async throws -> Response {
        let payload: Data
        do {
            payload = try request.serializedBytes()
        } catch {
            throw RPCError(code: .invalidArgument, message: "request: cannot be encoded as \(Request.protoMessageName): \(error)")
        }
        let responsePayload = try await call(method: method.fullName, payload: payload, options: options)
        do {
            return try Response(serializedBytes: responsePayload)
        } catch {
            throw RPCError(code: .internal, message: "response from \(host):\(port) is not a valid \(Response.protoMessageName): \(error)")
        }
    }

    /// Calls a method by its full name with an encoded request; returns the
    /// encoded response. For tools that choose the method at run time.
    ///
    /// - Throws: ``RPCError``, always.
    public func call(method: String, payload: Data, options: CallOptions = CallOptions()) async throws -> Data {
        if Task.isCancelled { throw RPCError(code: .cancelled, message: "call cancelled by the caller") }
        // The limit covers the whole frame; the envelope around the payload
        // is the method, the metadata and a few dozen bytes of framing.
        let envelope = method.utf8.count + options.metadata.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count + 8 }
            + configuration.metadata.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count + 8 } + 64
        if payload.count + envelope > configuration.limits.maxMessageSize {
            throw RPCError(
                code: .resourceExhausted,
                message: "request of \(payload.count) bytes is over the \(configuration.limits.maxMessageSize)-byte message limit (the frame's envelope counts too); nothing was sent")
        }
        let index = nextConnection.add(1, ordering: .relaxed).newValue
        let connection: ClientConnection
        if let local = poolByLoop.first(where: { $0.loop.inEventLoop })?.connections {
            connection = local[index % local.count]
        } else {
            connection = pool[index % pool.count]
        }
        let ready = try await connection.ready()

        let timeout = options.timeout ?? configuration.defaultTimeout
        var request = Cx_Wire_V1_Request()
        request.method = method
        request.payload = payload
        request.timeoutMicros = UInt64(max(1, timeout.nanoseconds / 1_000))
        if configuration.metadata.isEmpty {
            request.metadata = options.metadata
        } else {
            request.metadata = configuration.metadata.merging(options.metadata) { _, call in call }
        }

        let id = connection.nextCallID()
        let deadline = NIODeadline.now() + timeout
        let eventLoop = ready.channel.eventLoop
        let handler = ready.handler
        let sendable = request
        let answer: Cx_Wire_V1_Response = try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { continuation in
                if eventLoop.inEventLoop {
                    handler.value.startCall(id: id, request: sendable, deadline: deadline, continuation: continuation)
                } else {
                    eventLoop.execute {
                        handler.value.startCall(id: id, request: sendable, deadline: deadline, continuation: continuation)
                    }
                }
            }
        } onCancel: {
            eventLoop.execute { handler.value.cancelCall(id: id) }
        }
        guard answer.status.code == .ok else { throw RPCError(wireStatus: answer.status) }
        return answer.payload
    }

    /// Closes every connection; calls in flight fail with UNAVAILABLE.
    public func close() async {
        for connection in pool { await connection.close() }
    }
}
