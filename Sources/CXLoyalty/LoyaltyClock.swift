import CXService
import Foundation
import Logging
import ServiceLifecycle

/// Runs the loyalty batches on a schedule: every `interval` it evaluates
/// every account's tier (downgrades fall due at anniversaries) and expires
/// points past their expiry, page by page so that purchases keep flowing.
public struct LoyaltyClock: Service {
    private let periodic: PeriodicService

    public init(service: LoyaltyService, interval: Duration = .seconds(3_600), logger: Logger) {
        periodic = PeriodicService(name: "loyalty batches", interval: interval, logger: logger) {
            let started = ContinuousClock.now
            let totals = try await service.runBatches()
            logger.info("loyalty batches ran", metadata: [
                "accounts": "\(totals.evaluated)", "up": "\(totals.up)", "down": "\(totals.down)",
                "grace": "\(totals.grace)", "points_expired": "\(totals.expired)", "took": "\(ContinuousClock.now - started)",
            ])
        }
    }

    public func run() async throws { try await periodic.run() }
}
