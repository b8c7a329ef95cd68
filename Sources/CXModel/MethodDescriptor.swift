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
    /// Who may call it: the method's `(cx.common.v1.access)` option.
    public let access: MethodAccess

    /// - Parameter access: defaults to admin, so a descriptor made by hand
    ///   is closed to all but admins until it says otherwise.
    public init(service: String, method: String, access: MethodAccess = .admin) {
        self.service = service
        self.method = method
        self.fullName = "/\(service)/\(method)"
        self.access = access
    }
}

/// Who may call a method (`cx.common.v1.Access` in proto-spec): each role
/// may call the methods of its own level and below.
/// The raw values are the proto enum's numbers; the order is reach.
public enum MethodAccess: Int, Sendable, Hashable, Comparable, CaseIterable, CustomStringConvertible {
    /// No token needed (health checks, for probes).
    case `public` = 1
    /// Any known token.
    case read = 2
    /// The service, peer and admin roles.
    case write = 3
    /// What only another CX service sends: the peer and admin roles.
    case peer = 5
    /// The admin role only.
    case admin = 4

    private var rank: Int {
        switch self {
        case .public: 0
        case .read: 1
        case .write: 2
        case .peer: 3
        case .admin: 4
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rank < rhs.rank }

    public var description: String {
        switch self {
        case .public: "public"
        case .read: "read"
        case .write: "write"
        case .peer: "peer"
        case .admin: "admin"
        }
    }
}

/// A method descriptor with its types erased, for registries, reflection and
/// tools that pick a method at run time (`cxctl call`).
public struct AnyMethodDescriptor: Sendable, Hashable, CustomStringConvertible {
    public let service: String
    public let method: String
    public let fullName: String
    public let access: MethodAccess
    /// The request's protobuf message type, for decoding JSON or bytes at run time.
    public let requestType: any CXMessage.Type
    public let responseType: any CXMessage.Type

    public init<Request, Response>(_ descriptor: MethodDescriptor<Request, Response>) {
        self.service = descriptor.service
        self.method = descriptor.method
        self.fullName = descriptor.fullName
        self.access = descriptor.access
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
