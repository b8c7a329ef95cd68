import Foundation
import Logging
import ServiceLifecycle

/// Runs the loyalty batches on a schedule: every `interval` it evaluates
/// every account's tier (downgrades fall due at anniversaries) and expires
/// points past their expiry, page by page so that purchases keep flowing.
public struct LoyaltyClock: Service {
    private let service: LoyaltyService
    private let interval: Duration
    private let logger: Logger

    public init(service: LoyaltyService, interval: Duration = .seconds(3_600), logger: Logger) {
        self.service = service
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                while !Task.isCancelled {
                    do {
                        let started = ContinuousClock.now
                        let totals = try await service.runBatches()
                        logger.info("loyalty batches ran", metadata: [
                            "accounts": "\(totals.evaluated)", "up": "\(totals.up)", "down": "\(totals.down)",
                            "grace": "\(totals.grace)", "points_expired": "\(totals.expired)",
                            "took": "\(ContinuousClock.now - started)",
                        ])
                    } catch is CancellationError {
                        throw CancellationError()
                    } catch {
                        logger.error("loyalty batches failed; will try again", metadata: ["error": "\(error)"])
                    }
                    try await Task.sleep(for: interval)
                }
            }
        } catch is CancellationError {}
    }
}
