import CXWire
import Foundation
import Logging
import Synchronization

extension ServiceRunner {
    /// Runs Swift Concurrency's tasks on NIO's event loops instead of a
    /// separate thread pool, so a handler that awaits storage and the
    /// connection it answers on share threads and no call pays a thread hop
    /// each way (see ``EventLoopConcurrency``, which also says why this is
    /// not NIO's own take-over). `cx-bench wire` measures CXWire this way.
    ///
    /// Call first thing in an executable's `main`, before any task starts.
    /// The cost: a handler that computes for long without awaiting holds up
    /// the connections of its loop, so long work belongs behind an `await`.
    /// `CX_EXECUTOR=default` keeps Swift's own pool.
    public static func runConcurrencyOnEventLoops(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let executor: TaskExecutorChoice =
            if environment["CX_EXECUTOR"] == "default" {
                .swiftPool(asked: true)
            } else if EventLoopConcurrency.install() {
                .eventLoops
            } else {
                .swiftPool(asked: false)
            }
        TaskExecutorChoice.current.withLock { $0 = executor }
    }
}

/// Where a service's tasks run, as `ServiceRunner.run` logs it at start.
enum TaskExecutorChoice: Sendable {
    case eventLoops
    /// Swift's own pool: asked for with `CX_EXECUTOR=default`, or the
    /// event loops could not take the tasks over.
    case swiftPool(asked: Bool)

    /// Set by `runConcurrencyOnEventLoops`; nil when it was not called.
    static let current = Mutex<TaskExecutorChoice?>(nil)

    /// Logs where tasks run, for `ServiceRunner.run`; nothing when
    /// `runConcurrencyOnEventLoops` was not called.
    static func logged(to logger: Logger) {
        switch current.withLock({ $0 }) {
        case .eventLoops: logger.info("tasks run on the event loops")
        case .swiftPool(asked: true): logger.info("tasks run on Swift's own pool (CX_EXECUTOR=default)")
        case .swiftPool(asked: false):
            logger.warning("tasks run on Swift's own pool: this Swift runtime has no global executor hook, or another one is installed")
        case nil: break
        }
    }
}
