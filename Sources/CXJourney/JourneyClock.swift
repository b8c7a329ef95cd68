import CXService
import Foundation
import Logging
import ServiceLifecycle

/// Marks quiet customers LOST on a schedule, a page at a time so that
/// events keep flowing.
public struct JourneyClock: Service {
    private let periodic: PeriodicService

    public init(service: JourneyService, interval: Duration = .seconds(300), logger: Logger) {
        periodic = PeriodicService(name: "lost detection", interval: interval, logger: logger) {
            let started = ContinuousClock.now
            let marked = try await service.markQuietCustomersLost()
            if marked > 0 {
                logger.info("customers went quiet and are LOST", metadata: [
                    "customers": "\(marked)", "took": "\(ContinuousClock.now - started)",
                ])
            }
        }
    }

    public func run() async throws { try await periodic.run() }
}
