import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs Swift Concurrency's global jobs on NIO's event loops (the
/// singleton group), so a handler that awaits storage and the connection it
/// answers on share threads, and no call pays a thread hop each way.
///
/// NIO's own take-over (`NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor`)
/// runs every global job as if isolated to its loop (the loop as the job's
/// serial executor). Swift then sees every nonisolated async function, which
/// must run on the generic executor, as a change of executor it cannot make
/// in place (it can give up only the generic executor or a default actor),
/// and re-enqueues the task at each such function's start and at each
/// return into one: a trip to the back of the loop's queue, several per
/// call. Traced in `GroupCommit` (not kept), a store write from the store
/// benchmark's writers ran three times before its next write was queued;
/// 64 writers came back to the writer 145–254 µs after a flush rather than
/// 61–83 µs.
///
/// Here each job runs on the loop as a generic job, as Swift's own pool runs
/// it, so nonisolated async code runs through without re-enqueueing. A job
/// is queued on the loop it was enqueued from (a continuation resumed on a
/// loop, a task started there), or on the next loop from any other thread.
///
/// Call once, first thing in an executable's `main`, before any task starts.
public enum EventLoopConcurrency {
    private typealias EnqueueOriginal = @convention(thin) (UnownedJob) -> Void
    private typealias EnqueueHook = @convention(thin) (UnownedJob, EnqueueOriginal) -> Void

    private struct Job: @unchecked Sendable {
        let job: UnownedJob
    }

    private static let installed = Atomic<Bool>(false)

    /// Swift's generic executor: the null executor reference, as the
    /// runtime's own pool passes it when it runs a job.
    private static let generic = unsafeBitCast((0, 0), to: UnownedSerialExecutor.self)

    /// Installs the hook; false (and nothing changed) when it was already
    /// installed, another hook is in place, or this runtime has no hook.
    @discardableResult
    public static func install() -> Bool {
        // `generic` is two null words: refuse a runtime whose executor
        // reference is laid out otherwise.
        guard MemoryLayout<UnownedSerialExecutor>.size == MemoryLayout<(Int, Int)>.size else { return false }
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "swift_task_enqueueGlobal_hook") else { return false }
        guard installed.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged else { return false }
        let slot = symbol.assumingMemoryBound(to: UnsafeRawPointer?.self)
        guard slot.pointee == nil else { return false }
        // A thin function's address, read as the raw pointer the runtime keeps.
        withUnsafeTemporaryAllocation(of: EnqueueHook.self, capacity: 1) { hook in
            hook.baseAddress!.initialize(to: { job, _ in
                let job = Job(job: job)
                MultiThreadedEventLoopGroup.singleton.any().execute {
                    job.job.runSynchronously(on: EventLoopConcurrency.generic)
                }
            })
            hook.baseAddress!.withMemoryRebound(to: UnsafeRawPointer.self, capacity: 1) { slot.pointee = $0.pointee }
        }
        return true
    }
}
