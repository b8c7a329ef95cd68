import CXService
import Foundation
import Logging
import ServiceLifecycle

/// Moves segment memberships that depend on time alone (`now - 30d`): every
/// `interval` it re-evaluates the memberships whose flip time has come.
/// No nightly rescan: the flip times are an index.
public struct SegmentClock: Service {
    private let periodic: PeriodicService

    public init(service: ProfilesService, interval: Duration = .seconds(1), logger: Logger) {
        periodic = PeriodicService(name: "segment clock", interval: interval, logger: logger) {
            let handled = try await service.processDueSegmentFlips()
            if handled > 0 { logger.debug("segment memberships re-evaluated", metadata: ["count": "\(handled)"]) }
        }
    }

    public func run() async throws { try await periodic.run() }
}
