import Foundation

/// Ends the process, naming the run, when a benchmark run has not finished
/// long after its window: a run that never returns would otherwise leave
/// `compare` waiting forever, with nothing said.
///
/// Why it exists: one `cx-bench compare` run stopped after about three of
/// its 1x1 runs and waited for 17 minutes with every thread idle and no
/// socket open, and its output, buffered, was lost with it. Fifty-four
/// runs since did not do it again, so where it stopped is not known; the
/// next time, this says which run it was.
///
/// The timer runs on a Dispatch queue of its own, not on NIO's loops or
/// Swift's executor, which a stuck run may be holding.
enum RunWatchdog {
    static func guarding<T>(_ name: String, within limit: Duration, _ body: () async throws -> T) async rethrows -> T {
        let alarm = DispatchWorkItem {
            let message = "cx-bench: \(name) has not finished \(limit) after it started; it is stuck, so cx-bench stops here (exit 3)\n"
            FileHandle.standardError.write(Data(message.utf8))
            exit(3)
        }
        let (seconds, attoseconds) = limit.components
        DispatchQueue.global().asyncAfter(deadline: .now() + Double(seconds) + Double(attoseconds) / 1e18, execute: alarm)
        defer { alarm.cancel() }
        return try await body()
    }
}
