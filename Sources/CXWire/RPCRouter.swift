import CXModel
import Foundation
import SwiftProtobuf

/// The methods a server answers: each a ``MethodDescriptor`` paired with an
/// `async throws` handler.
///
/// Registration is typed; the router decodes the request, encodes the
/// response, and turns a request that does not parse into
/// `INVALID_ARGUMENT`.
public struct RPCRouter: Sendable {
    struct Route: Sendable {
        let descriptor: AnyMethodDescriptor
        let handle: @Sendable (Data, ServerContext) async throws -> Data
    }

    private(set) var routes: [String: Route] = [:]

    public init() {}

    /// Serves `method` with `handler`. Registering a method twice replaces
    /// the first handler.
    public mutating func register<Request, Response>(
        _ method: MethodDescriptor<Request, Response>,
        handler: @escaping @Sendable (Request, ServerContext) async throws -> Response
    ) {
        routes[method.fullName] = Route(descriptor: AnyMethodDescriptor(method)) { payload, context in
            let request: Request
            do {
                request = try Request(serializedBytes: payload)
            } catch {
                throw RPCError(
                    code: .invalidArgument,
                    message: "request: not a valid \(Request.protoMessageName) (\(error))",
                    reason: "MALFORMED_REQUEST"
                )
            }
            let response = try await handler(request, context)
            return try response.serializedBytes()
        }
    }

    /// Every registered method, sorted by full name.
    public var methods: [AnyMethodDescriptor] {
        routes.values.map(\.descriptor).sorted { $0.fullName < $1.fullName }
    }

    func route(for fullName: String) -> Route? { routes[fullName] }
}
