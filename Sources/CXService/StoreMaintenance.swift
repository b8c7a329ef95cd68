import CXStore
import Foundation
import Logging
import ServiceLifecycle

/// Keeps a store's bookkeeping bounded: every `interval` it forgets
/// idempotent answers past their retention (see
/// ``StoreOptions/idempotencyRetention``). Run it beside the server.
public struct StoreMaintenance: Service {
    private let periodic: PeriodicService

    /// - Parameter interval: how often to prune. Default 1 hour.
    public init(store: Store, interval: Duration = .seconds(3_600), logger: Logger) {
        periodic = PeriodicService(name: "store maintenance", interval: interval, logger: logger) {
            let removed = try await store.pruneIdempotency()
            if removed > 0 { logger.info("pruned idempotency keys", metadata: ["removed": "\(removed)"]) }
        }
    }

    public func run() async throws { try await periodic.run() }
}
