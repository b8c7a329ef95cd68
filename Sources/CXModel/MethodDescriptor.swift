import SwiftProtobuf

/// A message CX sends over the wire: any generated protobuf message.
public typealias CXMessage = SwiftProtobuf.Message & Sendable

/// One RPC method: its `/package.Service/Method` name paired with its request
/// and response message types.
///
/// Descriptors are generated for every `rpc` in proto-spec (see
/// ``CXMethods``); services register handlers under them and clients call
/// through them, so a method name is never spelled twice.
public struct MethodDescriptor<Request: CXMessage, Response: CXMessage>: Sendable, Hashable {
    /// The fully qualified service, for example `cx.loyalty.v1.Loyalty`.
    public let service: String
    /// The method's name within the service, for example `RecordPurchase`.
    public let method: String
    /// `/cx.loyalty.v1.Loyalty/RecordPurchase`: what travels in a request.
    public let fullName: String

    public init(service: String, method: String) {
        self.service = service
        self.method = method
        self.fullName = "/\(service)/\(method)"
    }
}

/// A method descriptor with its types erased, for registries, reflection and
/// tools that pick a method at run time (`cxctl call`).
public struct AnyMethodDescriptor: Sendable, Hashable, CustomStringConvertible {
    public let service: String
    public let method: String
    public let fullName: String
    /// The request's protobuf message type, for decoding JSON or bytes at run time.
    public let requestType: any CXMessage.Type
    public let responseType: any CXMessage.Type

    public init<Request, Response>(_ descriptor: MethodDescriptor<Request, Response>) {
        self.service = descriptor.service
        self.method = descriptor.method
        self.fullName = descriptor.fullName
        self.requestType = Request.self
        self.responseType = Response.self
    }

    /// The fully qualified protobuf name of the request, `cx.wire.v1.EchoRequest`.
    public var requestTypeName: String { requestType.protoMessageName }
    /// The fully qualified protobuf name of the response.
    public var responseTypeName: String { responseType.protoMessageName }

    public var description: String { fullName }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.fullName == rhs.fullName }
    public func hash(into hasher: inout Hasher) { hasher.combine(fullName) }
}

extension CXMethods {
    /// The descriptor whose full name is `fullName`, or whose service's short
    /// name and method match `"Service/Method"` or `"Method"` (case-insensitive),
    /// when exactly one does.
    public static func lookup(_ name: String, among methods: [AnyMethodDescriptor] = all) -> AnyMethodDescriptor? {
        if let exact = methods.first(where: { $0.fullName == name }) { return exact }
        let wanted = name.trimmingPrefix("/").lowercased()
        let matches = methods.filter { method in
            let shortService = method.service.split(separator: ".").last.map(String.init) ?? method.service
            return "\(method.service)/\(method.method)".lowercased() == wanted
                || "\(shortService)/\(method.method)".lowercased() == wanted
                || method.method.lowercased() == wanted
        }
        return matches.count == 1 ? matches[0] : nil
    }
}
