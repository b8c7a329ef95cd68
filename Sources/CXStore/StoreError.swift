/// What the store reports. Services turn these into wire statuses
/// (CXService maps them), so a caller sees which record or key was at fault.
public enum StoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stored body could not be decoded: unknown codec tag, a corrupt zlib
    /// stream, or bytes that are not the expected message.
    case corruptBody(table: String, key: String, reason: String)
    /// The idempotency key was used before with a different request.
    case idempotencyKeyReused(scope: String, key: String)
    /// The store is closed.
    case closed
    /// Flushing the write-ahead log to disk failed. The writes waiting for
    /// that flush, and every write after it, fail with this until the store
    /// is reopened: the kernel may have dropped what it could not write.
    case syncFailed(reason: String)

    public var description: String {
        switch self {
        case .corruptBody(let table, let key, let reason):
            "\(table) \(key): stored body is unreadable: \(reason)"
        case .idempotencyKeyReused(let scope, let key):
            "idempotency key \"\(key)\" was already used for a different \(scope) request"
        case .closed:
            "the store is closed"
        case .syncFailed(let reason):
            "the store stopped taking writes: flushing its log to disk failed (\(reason)); restart the service"
        }
    }
}
