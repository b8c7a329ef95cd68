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
        pool = (0..<max(1, configuration.connections)).map { _ in
            ClientConnection(host: host, port: port, configuration: configuration, group: group)
        }
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
        let index = nextConnection.add(1, ordering: .relaxed).newValue
        let connection = pool[index % pool.count]
        let channel = try await connection.channel()

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
        let response = channel.eventLoop.makePromise(of: Cx_Wire_V1_Response.self)
        let written = channel.eventLoop.makePromise(of: Void.self)
        let peer = connection.peer
        written.futureResult.whenFailure { error in
            response.fail(error as? RPCError ?? RPCError(code: .unavailable, message: "cannot send to \(peer): \(error)"))
        }
        channel.writeAndFlush(
            ClientOutbound.call(id: id, request: request, deadline: .now() + timeout, response: response),
            promise: written)

        let answer: Cx_Wire_V1_Response
        do {
            answer = try await withTaskCancellationHandler {
                try await response.futureResult.get()
            } onCancel: {
                channel.writeAndFlush(ClientOutbound.cancel(id: id), promise: nil)
            }
        } catch let error as RPCError {
            throw error
        } catch {
            throw RPCError(code: .unavailable, message: "call to \(peer) failed: \(error)")
        }
        guard answer.status.code == .ok else { throw RPCError(wireStatus: answer.status) }
        return answer.payload
    }

    /// Closes every connection; calls in flight fail with UNAVAILABLE.
    public func close() async {
        for connection in pool { await connection.close() }
    }
}
