import CXModel
import Foundation
import NIOCore
import SwiftProtobuf

/// The methods a server answers: each a ``MethodDescriptor`` paired with an
/// `async throws` handler.
///
/// Registration is typed; the router decodes the request, encodes the
/// response, and turns a request that does not parse into
/// `INVALID_ARGUMENT`.
public struct RPCRouter: Sendable {
    /// A class: a connection holds its last method's route and takes it
    /// for every call of that method, one reference count instead of one
    /// per string and closure inside.
    final class Route: Sendable {
        enum Handler: Sendable {
            /// Runs as a task; may suspend.
            case async(@Sendable (ByteBuffer, ServerContext) async throws -> ByteBuffer)
            /// Never suspends: runs inline on the connection's event loop, no task.
            case sync(@Sendable (ByteBuffer, ServerContext) throws -> ByteBuffer)
        }

        let descriptor: AnyMethodDescriptor
        let handler: Handler

        init(descriptor: AnyMethodDescriptor, handler: Handler) {
            self.descriptor = descriptor
            self.handler = handler
        }
    }

    private(set) var routes: [String: Route] = [:]

    public init() {}

    /// Serves `method` with `handler`. Registering a method twice replaces
    /// the first handler.
    public mutating func register<Request, Response>(
        _ method: MethodDescriptor<Request, Response>,
        handler: @escaping @Sendable (Request, ServerContext) async throws -> Response
    ) {
        routes[method.fullName] = Route(descriptor: AnyMethodDescriptor(method), handler: .async { payload, context in
            let response = try await handler(try Self.decode(Request.self, from: payload), context)
            return try response.serializedBuffer()
        })
    }

    /// Serves `method` with a handler that never suspends: it runs inline on
    /// the event loop that read the request, with no task at all, which
    /// makes it the cheapest kind of call (health, echo, lookups in memory).
    /// It must not block or compute for long: the connections of its loop
    /// wait meanwhile. Deadlines cannot interrupt it.
    public mutating func register<Request, Response>(
        _ method: MethodDescriptor<Request, Response>,
        synchronousHandler handler: @escaping @Sendable (Request, ServerContext) throws -> Response
    ) {
        routes[method.fullName] = Route(descriptor: AnyMethodDescriptor(method), handler: .sync { payload, context in
            let response = try handler(try Self.decode(Request.self, from: payload), context)
            return try response.serializedBuffer()
        })
    }

    private static func decode<Request: CXMessage>(_ type: Request.Type, from payload: ByteBuffer) throws -> Request {
        do {
            return try Request(buffer: payload)
        } catch {
            throw RPCError(
                code: .invalidArgument,
                message: "request: not a valid \(Request.protoMessageName) (\(error))",
                reason: "MALFORMED_REQUEST"
            )
        }
    }

    /// Every registered method, sorted by full name.
    public var methods: [AnyMethodDescriptor] {
        routes.values.map(\.descriptor).sorted { $0.fullName < $1.fullName }
    }

    func route(for fullName: String) -> Route? { routes[fullName] }
}
