import CXStore
import CXWire

extension StoreError: RPCErrorConvertible {
    /// How a store error reaches a client: a reused idempotency key is the
    /// caller's mistake (FAILED_PRECONDITION); an unreadable record is
    /// DATA_LOSS, naming the record; a closed store is UNAVAILABLE, and so is
    /// a failed log flush (the write may or may not have reached the disk: a
    /// retry with the same idempotency key, once the service is restarted,
    /// returns the first answer or applies it once).
    public var rpcError: RPCError {
        switch self {
        case .idempotencyKeyReused(let scope, let key):
            RPCError(
                code: .failedPrecondition,
                message: "idempotency key \"\(key)\" was already used for a different \(scope) request; use a new key for a new request",
                fieldViolations: [.init(field: "idempotency_key", description: "already used for a different request")],
                reason: "IDEMPOTENCY_KEY_REUSED")
        case .corruptBody:
            RPCError(code: .dataLoss, message: description, reason: "CORRUPT_RECORD")
        case .closed:
            RPCError(code: .unavailable, message: description)
        case .syncFailed:
            RPCError(code: .unavailable, message: description, reason: "STORE_SYNC_FAILED")
        }
    }
}
