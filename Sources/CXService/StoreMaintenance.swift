import CXStore
import Foundation
import Logging
import ServiceLifecycle

/// Keeps a store's bookkeeping bounded: every `interval` it forgets
/// idempotent answers past their retention (see
/// ``StoreOptions/idempotencyRetention``). Run it beside the server.
public struct StoreMaintenance: Service {
    private let store: Store
    private let interval: Duration
    private let logger: Logger

    /// - Parameter interval: how often to prune. Default 1 hour.
    public init(store: Store, interval: Duration = .seconds(3_600), logger: Logger) {
        self.store = store
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                while !Task.isCancelled {
                    do {
                        let removed = try await store.pruneIdempotency()
                        if removed > 0 { logger.info("pruned idempotency keys", metadata: ["removed": "\(removed)"]) }
                    } catch is CancellationError {
                        throw CancellationError()
                    } catch {
                        logger.error("store maintenance failed; will try again", metadata: ["error": "\(error)"])
                    }
                    try await Task.sleep(for: interval)
                }
            }
        } catch is CancellationError {}
    }
}
