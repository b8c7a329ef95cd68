import Foundation
import Logging
import ServiceLifecycle

/// Runs `work` every `interval` beside the server until a graceful
/// shutdown: the loop every clock-driven companion of a service shares
/// (store maintenance, segment flips, loyalty batches). A failed round is
/// logged and tried again next time; it never stops the service.
public struct PeriodicService: Service {
    private let name: String
    private let interval: Duration
    private let logger: Logger
    private let work: @Sendable () async throws -> Void

    /// - Parameters:
    ///   - name: what the log says failed ("store maintenance").
    ///   - work: one round; it logs what it did itself.
    public init(name: String, interval: Duration, logger: Logger, work: @escaping @Sendable () async throws -> Void) {
        self.name = name
        self.interval = interval
        self.logger = logger
        self.work = work
    }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                while !Task.isCancelled {
                    do {
                        try await work()
                    } catch is CancellationError {
                        throw CancellationError()
                    } catch {
                        logger.error("\(name) failed; will try again", metadata: ["error": "\(error)"])
                    }
                    try await Task.sleep(for: interval)
                }
            }
        } catch is CancellationError {}
    }
}
