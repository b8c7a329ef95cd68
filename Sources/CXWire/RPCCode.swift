import CXModel

/// A call's status code: gRPC's codes with gRPC's numbers.
///
/// A struct over a private enum, so codes can be added without breaking
/// callers that switch over them.
public struct RPCCode: Hashable, Sendable, CustomStringConvertible {
    private enum Wrapped: Int, Sendable {
        case ok = 0, cancelled, unknown, invalidArgument, deadlineExceeded, notFound, alreadyExists,
            permissionDenied, resourceExhausted, failedPrecondition, aborted, outOfRange, unimplemented,
            `internal`, unavailable, dataLoss, unauthenticated
    }

    private let wrapped: Wrapped
    private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

    /// The gRPC number, 0 to 16.
    public var rawValue: Int { wrapped.rawValue }

    /// A code from its gRPC number; nil for numbers gRPC does not define.
    public init?(rawValue: Int) {
        guard let wrapped = Wrapped(rawValue: rawValue) else { return nil }
        self.wrapped = wrapped
    }

    public static let ok = Self(.ok)
    public static let cancelled = Self(.cancelled)
    public static let unknown = Self(.unknown)
    public static let invalidArgument = Self(.invalidArgument)
    public static let deadlineExceeded = Self(.deadlineExceeded)
    public static let notFound = Self(.notFound)
    public static let alreadyExists = Self(.alreadyExists)
    public static let permissionDenied = Self(.permissionDenied)
    public static let resourceExhausted = Self(.resourceExhausted)
    public static let failedPrecondition = Self(.failedPrecondition)
    public static let aborted = Self(.aborted)
    public static let outOfRange = Self(.outOfRange)
    public static let unimplemented = Self(.unimplemented)
    public static let `internal` = Self(.internal)
    public static let unavailable = Self(.unavailable)
    public static let dataLoss = Self(.dataLoss)
    public static let unauthenticated = Self(.unauthenticated)

    /// Every code, in number order.
    public static let allCodes: [RPCCode] = (0...16).compactMap { RPCCode(rawValue: $0) }

    /// gRPC's name for the code: `INVALID_ARGUMENT`.
    public var name: String {
        switch wrapped {
        case .ok: "OK"
        case .cancelled: "CANCELLED"
        case .unknown: "UNKNOWN"
        case .invalidArgument: "INVALID_ARGUMENT"
        case .deadlineExceeded: "DEADLINE_EXCEEDED"
        case .notFound: "NOT_FOUND"
        case .alreadyExists: "ALREADY_EXISTS"
        case .permissionDenied: "PERMISSION_DENIED"
        case .resourceExhausted: "RESOURCE_EXHAUSTED"
        case .failedPrecondition: "FAILED_PRECONDITION"
        case .aborted: "ABORTED"
        case .outOfRange: "OUT_OF_RANGE"
        case .unimplemented: "UNIMPLEMENTED"
        case .internal: "INTERNAL"
        case .unavailable: "UNAVAILABLE"
        case .dataLoss: "DATA_LOSS"
        case .unauthenticated: "UNAUTHENTICATED"
        }
    }

    public var description: String { name }

    /// The code as it travels in a `Status`.
    public var wireValue: Cx_Wire_V1_StatusCode { Cx_Wire_V1_StatusCode(rawValue: rawValue) ?? .unknown }

    /// The code of a `Status` read off the wire; a number gRPC does not
    /// define reads as UNKNOWN.
    public init(wireValue: Cx_Wire_V1_StatusCode) {
        self = RPCCode(rawValue: wireValue.rawValue) ?? .unknown
    }
}
