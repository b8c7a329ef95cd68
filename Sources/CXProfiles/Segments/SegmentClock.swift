import Foundation
import Logging
import ServiceLifecycle

/// Moves segment memberships that depend on time alone (`now - 30d`): every
/// `interval` it re-evaluates the memberships whose flip time has come.
/// No nightly rescan: the flip times are an index.
public struct SegmentClock: Service {
    private let service: ProfilesService
    private let interval: Duration
    private let logger: Logger

    public init(service: ProfilesService, interval: Duration = .seconds(1), logger: Logger) {
        self.service = service
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                while !Task.isCancelled {
                    do {
                        let handled = try await service.processDueSegmentFlips()
                        if handled > 0 { logger.debug("segment memberships re-evaluated", metadata: ["count": "\(handled)"]) }
                    } catch is CancellationError {
                        throw CancellationError()
                    } catch {
                        logger.error("segment clock failed; will try again", metadata: ["error": "\(error)"])
                    }
                    try await Task.sleep(for: interval)
                }
            }
        } catch is CancellationError {}
    }
}
