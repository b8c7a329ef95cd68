import CCXStore
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
/// Closes a descriptor (the WAL files this module opens besides SQLite).
func closeDescriptor(_ fd: Int32) { _ = Glibc.close(fd) }
#elseif canImport(Darwin)
import Darwin
func closeDescriptor(_ fd: Int32) { _ = Darwin.close(fd) }
private func fdatasync(_ fd: Int32) -> Int32 { fsync(fd) }
#endif

/// Makes committed group-commit batches durable on a thread of its own, so
/// that the writer starts the next batch while the disk flushes this one.
///
/// With ``StoreOptions/Durability/full``, SQLite flushes the WAL inside each
/// commit: the writer thread, and every write behind it, waits for the disk.
/// Instead, group commit runs its transactions with `synchronous=NORMAL` (a
/// commit writes its WAL frames, no flush) and hands each committed batch
/// here; this thread flushes the WAL file (`fdatasync`) and only then resumes
/// the batch's callers. One flush covers every batch committed before it
/// began, so while it runs the writer's next batches pile up for the next.
/// Nothing is acknowledged before its frames are on disk: the durability of
/// an acknowledged write is that of `synchronous=FULL`.
///
/// What differs from FULL: another connection can read a committed batch
/// before its flush ends. If the machine loses power in that window the
/// batch is gone, after someone read it, but its callers were never told it
/// succeeded, and their retries (with idempotency keys) apply it again.
///
/// A failed flush leaves the kernel free to have dropped the pages it could
/// not write (so a later flush that succeeds proves nothing): the batch's
/// callers and every later write fail with ``StoreError/syncFailed(reason:)``
/// until the store is reopened, when SQLite recovers from what is on disk.
final class WALSync: Sendable {
    typealias Resume = @Sendable (_ failure: (any Error)?) -> Void

    private struct State {
        var pending: [Resume] = []
        var stopping = false
        /// The loop has ended: nothing queued from now on would be run.
        var ended = false
        /// The thread is done: its descriptor closed, every batch resumed.
        var finished = false
        /// Asked for a flush after the loop ended: answered by ``finish(_:)``.
        var late: [Resume] = []
        /// What ``finish(_:)`` answered: later askers get it at once.
        var outcome: Result<Void, StoreError>?
        var failure: StoreError?
        /// A caller of ``flushHereIfIdle()`` is flushing on its own thread:
        /// the flush thread leaves the file alone until it is done.
        var flushingHere = false
    }

    private final class Loop: Sendable {
        let condition = NSCondition()
        nonisolated(unsafe) var state = State()
        let file: WALFile
        let counter = Mutex((flushes: 0, time: Duration.zero, byCaller: 0))
        /// Nothing queued and no flush running. Changed under `condition`.
        let idle = Atomic<Bool>(true)
        /// A class, not the closure itself: `withLock` hands its value over
        /// `inout`, and a closure stored in a generic `Mutex` comes back from
        /// that wrapped in two more reabstraction thunks each time. Read at
        /// every idle turn, the handler became a chain of thunks that grew
        /// by two per flush: the flush thread spent ever longer calling it,
        /// and would in the end have run out of stack.
        let idleHandler = Mutex<IdleHandler?>(nil)
        init(file: WALFile) { self.file = file }

        /// Flushes the file and counts it; on failure, records it as the
        /// store's and returns it. Only one thread at a time may call it:
        /// the flush thread, or a ``flushHereIfIdle()`` caller while
        /// `flushingHere` keeps the flush thread off.
        func flush(byCaller: Bool = false) -> StoreError? {
            do {
                let started = ContinuousClock.now
                try file.sync()
                let took = ContinuousClock.now - started
                counter.withLock {
                    $0.flushes += 1
                    $0.time += took
                    if byCaller { $0.byCaller += 1 }
                }
                return nil
            } catch {
                let failed = StoreError.syncFailed(reason: "\(error)")
                condition.lock()
                state.failure = failed
                condition.unlock()
                return failed
            }
        }

        func run() {
            while true {
                condition.lock()
                if state.pending.isEmpty && !state.stopping {
                    idle.store(true, ordering: .releasing)
                    condition.unlock()
                    idleHandler.withLock { $0 }?.call()
                    condition.lock()
                }
                while (state.pending.isEmpty && !state.stopping) || state.flushingHere { condition.wait() }
                let batch = state.pending
                state.pending.removeAll(keepingCapacity: true)
                if batch.isEmpty && state.stopping {
                    state.ended = true
                    condition.unlock()
                    break
                }
                var failure = state.failure
                condition.unlock()
                if failure == nil { failure = flush() }
                // Called here: group commit hands a large batch's callers to
                // a job on the global executor and resumes only a few itself
                // (GroupCommit.resume), so this thread starts the next flush
                // after about one enqueue per batch. A dispatch queue here
                // cost as much to wake, then resumed every caller from afar.
                for resume in batch { resume(failure) }
            }
            file.close()
            condition.lock()
            state.finished = true
            condition.broadcast()
            condition.unlock()
        }
    }

    private let loop: Loop

    /// - Parameter databasePath: the database file; its WAL is `<path>-wal`.
    init(databasePath: String) {
        let loop = Loop(file: WALFile(databasePath: databasePath))
        self.loop = loop
        let thread = Thread { loop.run() }
        thread.name = "cx-store-sync"
        thread.start()
    }

    deinit {
        loop.condition.lock()
        loop.state.stopping = true
        loop.condition.broadcast()
        loop.condition.unlock()
    }

    /// Whether nothing waits to be flushed and no flush is running.
    var isIdle: Bool { loop.idle.load(ordering: .acquiring) }

    /// Sets what to call each time the flush thread runs out of work (on
    /// that thread, holding no lock of its own).
    func whenIdle(_ handler: @escaping @Sendable () -> Void) {
        loop.idleHandler.withLock { $0 = IdleHandler(call: handler) }
    }

    private final class IdleHandler: Sendable {
        let call: @Sendable () -> Void
        init(call: @escaping @Sendable () -> Void) { self.call = call }
    }

    /// Flushes done since opening (each covers one or more batches), the
    /// time they took, and how many of them ``flushHereIfIdle()`` did on
    /// its caller's thread.
    var statistics: (flushes: Int, time: Duration, byCaller: Int) { loop.counter.withLock { $0 } }

    /// The failure that stopped the store's writes, if a flush failed.
    var failure: StoreError? {
        loop.condition.lock()
        defer { loop.condition.unlock() }
        return loop.state.failure
    }

    /// Queues `resume`, to be called once everything committed so far is on
    /// disk (with nil), or with the error that kept it from getting there.
    /// Call it after the commit. It is called on the flush thread, before
    /// the next flush starts: it should hand its work on, not do it.
    ///
    /// After ``stop()`` it waits for ``finish(_:)``: the store closing its
    /// database checkpoints the log into the database file and flushes it,
    /// so what committed until then is on disk once that succeeded.
    func afterFlush(_ resume: @escaping Resume) {
        loop.condition.lock()
        if let outcome = loop.state.outcome {
            loop.condition.unlock()
            if case .failure(let error) = outcome { resume(error) } else { resume(nil) }
            return
        }
        guard !loop.state.ended else {
            loop.state.late.append(resume)
            loop.condition.unlock()
            return
        }
        loop.idle.store(false, ordering: .releasing)
        loop.state.pending.append(resume)
        loop.condition.broadcast()
        loop.condition.unlock()
    }

    /// Flushes everything committed so far on the calling thread, unless
    /// the flush thread has a flush queued or running (or is stopping).
    ///
    /// For a caller that has nothing to do until the flush ends: handing the
    /// flush over would only add the flush thread's wake-up, and its
    /// resumption from afar, to the wait (see `GroupCommit`).
    ///
    /// - Returns: nil when the flush thread is busy (queue with
    ///   ``afterFlush(_:)`` instead); otherwise whether everything committed
    ///   so far is on disk: `.success`, or the failure that stops the store
    ///   (this flush's, or an earlier one's).
    func flushHereIfIdle() -> Result<Void, StoreError>? {
        loop.condition.lock()
        guard loop.state.pending.isEmpty, loop.idle.load(ordering: .relaxed), !loop.state.stopping, !loop.state.ended, !loop.state.flushingHere else {
            loop.condition.unlock()
            return nil
        }
        if let failure = loop.state.failure {
            loop.condition.unlock()
            return .failure(failure)
        }
        loop.state.flushingHere = true
        loop.condition.unlock()
        let failure = loop.flush(byCaller: true)
        loop.condition.lock()
        loop.state.flushingHere = false
        // Only the flush thread waits on this, and it goes on only with
        // something queued or a stop asked for meanwhile: waking it after
        // every flush of the writer's own cost it a turn (about 12 µs) and
        // the writer a futex wake, for nothing.
        if !loop.state.pending.isEmpty || loop.state.stopping { loop.condition.broadcast() }
        loop.condition.unlock()
        return failure.map { .failure($0) } ?? .success(())
    }

    /// Flushes everything committed so far, waiting on the calling thread.
    func flushAndWait() throws {
        let done = DispatchSemaphore(value: 0)
        let outcome = Mutex<(any Error)?>(nil)
        afterFlush { failure in
            outcome.withLock { $0 = failure }
            done.signal()
        }
        done.wait()
        if let failure = outcome.withLock({ $0 }) { throw failure }
    }

    /// Answers the flushes asked for after ``stop()``, now and from now on:
    /// nil once the database closed cleanly (everything is on disk), or the
    /// error that kept it from closing.
    func finish(_ failure: StoreError?) {
        loop.condition.lock()
        let outcome: Result<Void, StoreError> = failure.map { .failure($0) } ?? .success(())
        if loop.state.outcome == nil { loop.state.outcome = outcome }
        let late = loop.state.late
        loop.state.late = []
        loop.condition.unlock()
        for resume in late { resume(failure) }
    }

    /// Flushes and resumes what is queued, then ends the thread; returns
    /// once it has ended (whoever else is stopping it too).
    func stop() {
        loop.condition.lock()
        loop.state.stopping = true
        loop.condition.broadcast()
        while !loop.state.finished { loop.condition.wait() }
        loop.condition.unlock()
    }
}

/// The WAL file of one database, opened read-only just to flush it.
///
/// SQLite keeps the WAL while any connection is open (the store's writer
/// always is), and truncates or rewrites it in place, so one descriptor
/// serves for the store's life; it is still checked against the path before
/// each flush and opened again should the file have been replaced. SQLite
/// takes no locks on the WAL file itself (its locks are on the database and
/// `-shm` files), so closing this descriptor releases none of SQLite's.
///
/// The check asks for the file's inode number only (`statx`, see
/// `CCXStore.h`), never `stat`: on Linux 6.13 and later a file whose times
/// were looked at gets a fine-grained modification time at its next write,
/// so every commit changed the inode, and ext4 without a journal (this
/// machine's disk) then writes the inode table block synchronously in every
/// `fdatasync`. Flushing an 8 KiB write took 303–357 µs with a `stat` before
/// each flush, 227–274 µs without (4 alternating runs of 3,000 flushes),
/// and in `cx-bench store` the writer's flushes went from a median of about
/// 470 µs to about 400 (three interleaved pairs of `--rounds 3` runs).
final class WALFile: @unchecked Sendable {
    private let walPath: String
    private let directoryPath: String
    /// Used by one thread at a time (see `WALSync.Loop.flush()`).
    private var descriptor: Int32 = -1
    /// Which file `descriptor` has open.
    private var opened = ccxstore_file_identity()

    init(databasePath: String) {
        walPath = databasePath + "-wal"
        directoryPath = (databasePath as NSString).deletingLastPathComponent
    }

    struct SyncError: Error, CustomStringConvertible {
        let path: String
        let call: String
        let code: Int32
        var description: String { "\(call) \(path): \(String(cString: strerror(code)))" }
    }

    /// Makes the WAL's written frames durable.
    ///
    /// The database file itself is never opened here: closing any descriptor
    /// of it would release SQLite's POSIX locks on it. The WAL cannot be
    /// missing while the writer's connection is open, so its absence is an
    /// error, not a reason to flush something else.
    func sync() throws {
        var onDisk = ccxstore_file_identity()
        guard ccxstore_path_identity(walPath, &onDisk) == 0 else { throw SyncError(path: walPath, call: "statx", code: errno) }
        if descriptor >= 0 && (opened.device != onDisk.device || opened.inode != onDisk.inode) { close() }
        if descriptor < 0 {
            descriptor = open(walPath, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { throw SyncError(path: walPath, call: "open", code: errno) }
            guard ccxstore_descriptor_identity(descriptor, &opened) == 0 else {
                let code = errno
                close()
                throw SyncError(path: walPath, call: "statx", code: code)
            }
            // A new WAL's name must survive a power loss too.
            try flush(path: directoryPath)
        }
        guard fdatasync(descriptor) == 0 else { throw SyncError(path: walPath, call: "fdatasync", code: errno) }
    }

    /// Flushes a directory (never the database file: see ``sync()``).
    private func flush(path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SyncError(path: path, call: "open", code: errno) }
        defer { closeDescriptor(fd) }
        guard fsync(fd) == 0 else { throw SyncError(path: path, call: "fsync", code: errno) }
    }

    func close() {
        if descriptor >= 0 { closeDescriptor(descriptor) }
        descriptor = -1
    }
}
