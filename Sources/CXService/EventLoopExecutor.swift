import Foundation
import NIOCore
import NIOPosix

extension ServiceRunner {
    /// Runs Swift Concurrency's tasks on NIO's event loops instead of a
    /// separate thread pool, so a handler that awaits storage and the
    /// connection it answers on share threads and no call pays a thread hop
    /// each way. `cx-bench wire` measures CXWire this way.
    ///
    /// Call first thing in an executable's `main`, before any task starts.
    /// The cost: a handler that computes for long without awaiting holds up
    /// the connections of its loop, so long work belongs behind an `await`.
    /// `CX_EXECUTOR=default` keeps Swift's own pool.
    public static func runConcurrencyOnEventLoops(environment: [String: String] = ProcessInfo.processInfo.environment) {
        guard environment["CX_EXECUTOR"] != "default" else { return }
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
    }
}
