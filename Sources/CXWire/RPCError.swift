import CXModel

/// The one error type that crosses the wire: a status code, a message for a
/// person, the request fields at fault, and a machine-readable reason.
///
/// Handlers throw it (or any error conforming to ``RPCErrorConvertible``) to
/// answer a call with that status. Any other error is logged in full by the
/// server and answered `INTERNAL` with no internals. Clients receive it for
/// every call that did not end `OK`, including local failures such as an
/// unreachable peer (`UNAVAILABLE`) or an expired deadline
/// (`DEADLINE_EXCEEDED`).
public struct RPCError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct FieldViolation: Sendable, Hashable {
        /// The field's path in the request, proto names: `customer.email`.
        public var field: String
        public var description: String

        public init(field: String, description: String) {
            self.field = field
            self.description = description
        }
    }

    public var code: RPCCode
    public var message: String
    public var fieldViolations: [FieldViolation]
    /// Stable UPPER_SNAKE_CASE reason, e.g. `IDEMPOTENCY_KEY_REUSED`; may be empty.
    public var reason: String

    public init(code: RPCCode, message: String, fieldViolations: [FieldViolation] = [], reason: String = "") {
        self.code = code
        self.message = message
        self.fieldViolations = fieldViolations
        self.reason = reason
    }

    /// `INVALID_ARGUMENT` naming the field: "customer_id: must not be empty".
    public static func invalidArgument(field: String, _ problem: String) -> RPCError {
        RPCError(
            code: .invalidArgument,
            message: "\(field): \(problem)",
            fieldViolations: [FieldViolation(field: field, description: problem)]
        )
    }

    public var description: String {
        message.isEmpty ? code.name : "\(code.name): \(message)"
    }

    /// The status as it travels in a `Response` or `GoAway`.
    public var wireStatus: Cx_Wire_V1_Status {
        var status = Cx_Wire_V1_Status()
        status.code = code.wireValue
        status.message = message
        status.reason = reason
        status.fieldViolations = fieldViolations.map { violation in
            var wire = Cx_Wire_V1_FieldViolation()
            wire.field = violation.field
            wire.description_p = violation.description
            return wire
        }
        return status
    }

    /// The error a non-OK `Status` read off the wire stands for.
    public init(wireStatus status: Cx_Wire_V1_Status) {
        self.init(
            code: RPCCode(wireValue: status.code),
            message: status.message,
            fieldViolations: status.fieldViolations.map { FieldViolation(field: $0.field, description: $0.description_p) },
            reason: status.reason
        )
    }
}

/// A domain error that knows which status it should be answered with.
///
/// Only errors that are ``RPCError`` or conform to this protocol reach a
/// client as they are; everything else becomes `INTERNAL`.
public protocol RPCErrorConvertible: Error {
    var rpcError: RPCError { get }
}

extension RPCError: RPCErrorConvertible {
    public var rpcError: RPCError { self }
}
