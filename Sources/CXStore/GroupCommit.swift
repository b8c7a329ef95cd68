import Foundation
import GRDB
import Synchronization

/// Runs concurrent callers' writes in shared transactions, so that durable
/// commits (one fsync each) do not limit throughput to one write per fsync.
///
/// Callers queue their operations and wait. While any are queued (or are
/// expected back: see below), one drain loop runs on the database's writer
/// (GRDB's serial writer queue, never a caller's or an event loop's thread).
/// It keeps a transaction open and runs operations as they arrive, up to
/// ``StoreOptions/maxBatchSize`` of them; it commits when the transaction
/// holds every caller it is waiting for, or when ``StoreOptions/maxBatchWait``
/// has passed, and hands each caller its own result once the commit is on
/// disk. After a few transactions it queues itself again behind the writer's
/// other work (``Store/writeAlone``, backups), so that work is never starved
/// by a steady stream of writes.
///
/// Running operations as they arrive, rather than gathering a batch and then
/// running it, keeps the writer's work off the path from one commit to the
/// next: the callers of the last commit come back one by one over tens of
/// microseconds, and their operations run in that time. With waiting for
/// the callers still on their way back (below), it gave 64 one-row writers
/// 12–38% more writes/s flushing in each commit, and 7–26% more off the
/// writer, in three paired runs of `cx-bench store`.
///
/// Which callers it waits for: every caller inside ``write(_:)`` that is not
/// waiting for a flush, and every caller it resumed that has not come back
/// yet (`returning`). Without the second, the transaction would commit as
/// soon as the callers already queued were in, and n concurrent writers
/// would settle into ever smaller batches. A caller that does not come back
/// costs one transaction `maxBatchWait`; a lone writer never waits.
///
/// When an operation throws, the transaction is rolled back and its
/// operations run again with a savepoint per operation, so only the throwing
/// operations are undone and only their callers fail; if the commit itself
/// fails, every operation of the transaction fails with it.
///
/// With a ``WALSync`` (the default for durable stores) commits do not wait
/// for the disk: the flush thread writes committed transactions to disk and
/// resumes their callers, while the writer runs the next operations in a new
/// transaction. The writer also commits whenever the flush thread is idle, so
/// that the disk never waits for it. That is worth 8–27% more durable
/// writes/s to the loyalty and feedback services, whose writer is the busy
/// thread (their log flushes take about a millisecond). One-row writes did
/// better flushing in each commit (``StoreOptions/Flush/inCommit``) until
/// the writer flushed their transactions itself (below): the store
/// benchmark measures both ways.
///
/// When a transaction holds every caller that could write (none queued, none
/// on its way back, none waiting for an earlier flush), nothing can arrive
/// for the writer to run while it is flushed, and the writer flushes it
/// itself if the flush thread is idle (``WALSync/flushHereIfIdle()``), then
/// gathers the next transaction as when it flushes in each commit: it does
/// not commit early for the idle flush thread while those callers come back,
/// unless none has come for ``returnLull`` (callers that write once per
/// request do not come back).
/// Handing the flush over would only add the flush thread's wake-up (84–99
/// µs here) and its resuming from afar to every transaction. 64 one-row
/// writers (`cx-bench store`, which reports the flushes the writer did:
/// about four in five) went from 0.34–0.46 of raw SQLite (median 0.415) to
/// 0.37–0.50 (median 0.44) in ten interleaved pairs of `--rounds 3` runs,
/// and their transactions from 28–61 writes to 54–64; of the loyalty
/// benchmark's 599 flushes the writer did 7, its 128 purchases in flight
/// hardly ever fitting in one transaction.
final class GroupCommit: Sendable {
    /// One caller's operation and where its outcome goes.
    private struct Ticket: @unchecked Sendable {
        let operation: @Sendable (Database) throws -> any Sendable
        let continuation: UnsafeContinuation<Result<any Sendable, any Error>, Never>
    }

    /// Guarded by `condition`.
    private struct State {
        var waiting: [Ticket] = []
        /// Whether a drain loop is running or queued on the writer.
        var draining = false
        /// Whether the drain loop is blocked in `condition.wait`.
        var gathering = false
        /// Callers inside `write`: queued, in the running batch, or holding
        /// their outcome but not yet returned.
        var active = 0
        var maxBatchSize = 0
        /// Active callers whose batch committed and waits for its flush
        /// (with a ``WALSync``): they cannot hand in anything before it ends.
        var flushing = 0
        /// Set by `close()`: new operations fail with ``StoreError/closed``.
        var closed = false
        /// Operations run so far in the open transaction.
        var running = 0
        /// Callers resumed with their outcome and not yet back with their
        /// next operation; any arrival counts as one of them. A caller
        /// between leaving `write` and calling it again is not `active`, so
        /// without this the open transaction would commit while most of the
        /// last one's callers are on their way back. Reset when
        /// `maxBatchWait` passes without them: they are gone.
        var returning = 0
        /// Whether the writer flushed the last transaction itself (every
        /// caller that could write was in it): it will flush the next one
        /// too, so an idle flush thread is no reason to commit early.
        var writerFlushes = false
        /// Whether the open transaction should commit now: the flush thread
        /// is idle (so the disk never waits for the writer), or every active
        /// caller not waiting for a flush is in it and none is on its way
        /// back.
        func readyToCommit(flusherIdle: Bool) -> Bool {
            running > 0 && (flusherIdle || (returning == 0 && running + waiting.count >= min(maxBatchSize, active - flushing)))
        }
        /// Whether the writer, asleep with an open transaction, should wake:
        /// enough have arrived to be worth a wake-up (a wake-up is a futex
        /// call and a context switch, and one per arrival would cost the
        /// writer more than one-row operations), it is time to commit, or
        /// the first operation of a transaction has arrived.
        func wakesRunner(flusherIdle: Bool) -> Bool {
            waiting.count >= 8 || readyToCommit(flusherIdle: flusherIdle) || (running == 0 && !waiting.isEmpty)
        }
    }

    private let writer: DatabasePool
    private let maxBatchSize: Int
    private let maxBatchWait: Duration
    /// Batches one drain loop runs before queueing itself again.
    private static let batchesPerTurn = 16
    private let condition = NSCondition()
    private nonisolated(unsafe) var state = State()
    private let counters = Mutex((transactions: 0, operations: 0))
    /// Time the writer spent running operations and committing (with a
    /// ``WALSync``: without flushes, its own included), waits for arrivals
    /// left out.
    private let busyTime = Mutex(Duration.zero)

    /// Transactions committed and operations they carried, since opening.
    var statistics: (transactions: Int, operations: Int) { counters.withLock { $0 } }

    /// How long the writer has worked for group commit since opening: what
    /// the operations and their commits cost the one thread every write goes
    /// through.
    var busy: Duration { busyTime.withLock { $0 } }

    /// Flushes committed batches off the writer, or nil when each commit
    /// flushes for itself (or nothing flushes: `synchronous=NORMAL`).
    private let sync: WALSync?

    /// The writer connection's WAL hook calls into it: kept as long as
    /// anything may still commit through `writer` (a queued drain holds
    /// this object, not the store).
    let logZeroFill: LogZeroFill?

    init(writer: DatabasePool, maxBatchSize: Int, maxBatchWait: Duration, sync: WALSync?, logZeroFill: LogZeroFill? = nil) {
        self.logZeroFill = logZeroFill
        self.writer = writer
        self.maxBatchSize = maxBatchSize
        self.maxBatchWait = maxBatchWait
        self.sync = sync
        state.maxBatchSize = maxBatchSize
        sync?.whenIdle { [weak self] in self?.flusherWentIdle() }
    }

    /// Runs `operation` in a shared transaction; returns once that
    /// transaction has committed and, with a ``WALSync``, been flushed (or
    /// throws what `operation`, the commit or the flush threw).
    func write<T: Sendable>(_ operation: @escaping @Sendable (Database) throws -> T) async throws -> T {
        // Not cancellable on purpose: once queued, the operation may already
        // be in a running transaction, and its caller must learn whether it
        // committed.
        let result = await withUnsafeContinuation { continuation in
            enqueue(Ticket(operation: { try operation($0) }, continuation: continuation))
        }
        leave()
        return try result.get() as! T
    }

    private func enqueue(_ ticket: Ticket) {
        condition.lock()
        guard !state.closed else {
            state.active += 1  // `write` leaves after any outcome
            condition.unlock()
            ticket.continuation.resume(returning: .failure(StoreError.closed))
            return
        }
        state.waiting.append(ticket)
        state.active += 1
        if state.returning > 0 { state.returning -= 1 }
        let startDrain = !state.draining
        state.draining = true
        if state.gathering && wakes { condition.signal() }
        condition.unlock()
        if startDrain { scheduleDrain() }
    }

    /// Refuses new operations, then waits until every queued one has run and
    /// every committed batch's callers have their outcome (after their
    /// flush): resumed, or in a resuming job already queued.
    func close() {
        condition.lock()
        state.closed = true
        condition.broadcast()  // a drain loop waiting for callers to come back: none will
        while state.draining || state.flushing > 0 {
            // Woken by nothing in particular: a close is rare, so it looks again every millisecond.
            _ = condition.wait(until: Date(timeIntervalSinceNow: 0.001))
        }
        condition.unlock()
    }

    private func leave() {
        condition.lock()
        state.active -= 1
        if state.gathering && wakes { condition.signal() }
        condition.unlock()
    }

    /// Whether the gathering drain loop should wake now. Call under `condition`.
    private var wakes: Bool { state.wakesRunner(flusherIdle: flusherIdle) }

    /// Whether a commit now would be flushed at once by an idle flush
    /// thread. Call under `condition`.
    private var flusherIdle: Bool { !state.writerFlushes && (sync?.isIdle ?? false) }

    /// After a flush of its own, how long the writer waits for more of that
    /// flush's callers with no operation arriving before it commits what it
    /// has (and hands that to the idle flush thread) rather than wait up to
    /// `maxBatchWait` for the rest. Callers that write once per request
    /// (a service's handlers) do not come back as the store benchmark's
    /// writers do: without this, a burst the writer flushed itself would
    /// make the next request wait a whole `maxBatchWait`, where the idle
    /// flush thread used to take it at once. The store benchmark's writers
    /// come back a few microseconds apart.
    static let returnLull = Duration.microseconds(200)

    /// The flush thread has nothing left to flush: a writer with operations
    /// in its open transaction commits them now.
    private func flusherWentIdle() {
        condition.lock()
        if state.gathering && wakes { condition.signal() }
        condition.unlock()
    }

    private func scheduleDrain() {
        // GRDB's callback write, not its async one: the async one gives up on
        // a cancelled task's write, and no caller's cancellation may fail the
        // other callers' operations.
        writer.asyncWriteWithoutTransaction { db in self.drain(db) }
    }

    /// Runs transactions until nothing waits and no caller is expected
    /// back, or for one turn.
    private func drain(_ db: Database) {
        for _ in 0..<Self.batchesPerTurn {
            condition.lock()
            if state.waiting.isEmpty && (state.flushing > 0 || state.returning > 0) {
                // Callers are on their way back (or will be, after their
                // flush): wait for them here, as ending the loop now would
                // cost them a queue hop to start it again.
                let deadline = Date(after: maxBatchWait)
                state.gathering = true
                while state.waiting.isEmpty && !state.closed && (state.flushing > 0 || state.returning > 0), condition.wait(until: deadline) {}
                state.gathering = false
                if state.waiting.isEmpty { state.returning = 0 }
            }
            if state.waiting.isEmpty {
                state.draining = false
                condition.unlock()
                return
            }
            condition.unlock()
            var batch: [Ticket] = []
            var outcomes: [Result<any Sendable, any Error>] = []
            var someFailed = false
            let started = ContinuousClock.now
            let deadline = started + maxBatchWait
            var waited = Duration.zero
            /// Takes arrivals into the batch until it should commit, running
            /// them unless `run` is false or one has thrown.
            func gather(run: Bool) {
                while batch.count < maxBatchSize {
                    let arrivals = nextArrivals(deadline: deadline, sync: sync, waited: &waited)
                    if arrivals.isEmpty { return }
                    batch += arrivals
                    guard run && !someFailed else { continue }
                    for ticket in arrivals {
                        do {
                            outcomes.append(.success(try ticket.operation(db)))
                        } catch {
                            someFailed = true
                            break
                        }
                    }
                }
            }
            if let failure = sync?.failure {
                gather(run: false)
                outcomes = Array(repeating: .failure(failure), count: batch.count)
            } else {
                do {
                    // GRDB's transaction block, not bare BEGIN/COMMIT: it
                    // refuses to run statements after SQLite rolled the
                    // transaction back by itself (an operation that caught a
                    // disk-full error and went on would otherwise write
                    // outside any transaction).
                    try db.inTransaction {
                        gather(run: true)
                        return someFailed ? .rollback : .commit
                    }
                    if someFailed {
                        // Mixed changes, rolled back: run the batch again, a
                        // savepoint per operation.
                        outcomes = try Self.withSavepoints(batch, in: db)
                    }
                } catch {
                    outcomes = Array(repeating: .failure(error), count: batch.count)
                }
            }
            condition.lock()
            state.running = 0
            // Whether every caller that could hand in an operation while
            // this batch is flushed is in it: then the writer has nothing
            // to do until the flush ends, and flushes it itself.
            let onlyThisBatch = !batch.isEmpty && state.waiting.isEmpty && state.returning == 0 && state.active - state.flushing == batch.count
            condition.unlock()
            counters.withLock {
                $0.transactions += 1
                $0.operations += batch.count
            }
            let worked = ContinuousClock.now - started - waited
            busyTime.withLock { $0 += worked }
            if let sync {
                guard onlyThisBatch, let flushed = sync.flushHereIfIdle() else {
                    condition.lock()
                    state.writerFlushes = false
                    condition.unlock()
                    handToFlush(batch, outcomes, sync: sync)
                    continue
                }
                if case .failure(let failure) = flushed { outcomes = Array(repeating: .failure(failure), count: batch.count) }
            }
            condition.lock()
            state.returning += batch.count
            // Here with a flush thread only after a flush of the writer's own.
            state.writerFlushes = sync != nil
            condition.unlock()
            Self.resume(batch, outcomes, by: .writer)
        }
        scheduleDrain()
    }

    /// Takes the operations that have arrived, waiting when none have; returns
    /// none when the open transaction should commit (see `readyToCommit`) or
    /// `deadline` has passed.
    private func nextArrivals(deadline: ContinuousClock.Instant, sync: WALSync?, waited: inout Duration) -> [Ticket] {
        condition.lock()
        defer { condition.unlock() }
        let lullEnds = ContinuousClock.now + Self.returnLull
        while true {
            let flusherIdle = self.flusherIdle
            // An idle disk is worth more than a fuller transaction.
            if state.running > 0 && flusherIdle { return [] }
            if !state.waiting.isEmpty { break }
            if state.readyToCommit(flusherIdle: flusherIdle) { return [] }
            let now = ContinuousClock.now
            // Waiting for the callers of the writer's own flush to come back,
            // with the flush thread idle: not through a lull (see `returnLull`).
            let inLull = state.running > 0 && state.writerFlushes && (sync?.isIdle ?? false)
            if inLull && now >= lullEnds { return [] }
            let left = now.duration(to: deadline)
            guard left > .zero && !state.closed else {
                // Whoever was expected back did not come (or cannot, the
                // store closing): they are gone.
                state.returning = 0
                return []
            }
            state.gathering = true
            let asleep = ContinuousClock.now
            _ = condition.wait(until: Date(after: inLull ? min(left, now.duration(to: lullEnds)) : left))
            waited += ContinuousClock.now - asleep
            state.gathering = false
        }
        let room = maxBatchSize - state.running
        let arrivals: [Ticket]
        if state.waiting.count <= room {
            arrivals = state.waiting
            state.waiting.removeAll(keepingCapacity: true)
        } else {
            arrivals = Array(state.waiting.prefix(room))
            state.waiting.removeFirst(room)
        }
        state.running += arrivals.count
        return arrivals
    }

    /// Queues a committed batch's callers to be resumed after the flush that
    /// covers it. Failed operations wait for it too: what made them fail may
    /// be a batch that is not on disk yet.
    private func handToFlush(_ batch: [Ticket], _ outcomes: [Result<any Sendable, any Error>], sync: WALSync) {
        guard !batch.isEmpty else { return }
        condition.lock()
        state.flushing += batch.count
        condition.unlock()
        sync.afterFlush { failure in
            self.condition.lock()
            self.state.flushing -= batch.count
            self.state.returning += batch.count
            self.condition.unlock()
            Self.resume(batch, failure.map { failure in Array(repeating: .failure(failure), count: batch.count) } ?? outcomes, by: .flushThread)
        }
    }

    /// Batches of this many callers or more are resumed by jobs of their own
    /// on Swift Concurrency's global executor, not by the committing thread.
    ///
    /// Resuming a caller from a thread outside the executor enqueues it from
    /// afar: with the service executables' NIO executor, a locked enqueue on
    /// some event loop and often a wake-up, about 1.7 µs of the writer's time
    /// each, 108–138 µs for 64 callers. A job costs one enqueue and wake-up
    /// (28–35 µs), and from it every caller is enqueued on the job's own loop
    /// at the price of a local queue push. Timed in `GroupCommit.drain` (not
    /// kept) over three `cx-bench store` runs flushing in each commit.
    static let callersResumedDirectly = 16

    /// Who hands a batch's callers their outcomes, which decides how many
    /// callers one resuming job takes. Either way more than a job's share of
    /// callers are spread over up to a job per core.
    enum Resumer {
        /// The writer, after a commit that flushed (``StoreOptions/Flush/inCommit``)
        /// or a flush of its own. It has nothing to do until these callers
        /// come back with their next operations, so their way back is what
        /// the next commit waits for:
        /// a job per 32 callers, so that on 2 cores two loops resume and run
        /// half the callers each, and the first is back after 32 resumes
        /// rather than 64. In `cx-bench store` (timed in `drain`, not kept)
        /// the first operation came back 137–177 µs after the commit's
        /// resume rather than 316–369, for 50–60 µs more of the writer's time
        /// in starting the second job; ten interleaved pairs of
        /// `--rounds 3` runs moved flushing in each commit from 0.30–0.47 of
        /// raw SQLite (median 0.40) to 0.39–0.61 (median 0.47).
        case writer
        /// The flush thread (a ``WALSync``): one job per 64 callers. Callers
        /// resumed from two loops come back spread out; the writer commits
        /// those back first as soon as the flush thread is idle, and the rest
        /// while that flush runs (transactions of 34 writes on average rather
        /// than 52). On this machine's disk a write to the log while it is
        /// being flushed waits for the flush (pages under writeback), and the
        /// flushes went from about 400 to about 610 µs: 0.375 of raw against
        /// 0.40 in the same pairs.
        case flushThread

        var callersPerJob: Int {
            switch self {
            case .writer: 32
            case .flushThread: 64
            }
        }
    }
    private static let cores = ProcessInfo.processInfo.activeProcessorCount

    /// Hands each caller of `batch` its outcome: directly for a few, from
    /// jobs on the global executor for more (see ``callersResumedDirectly``).
    private static func resume(_ batch: [Ticket], _ outcomes: [Result<any Sendable, any Error>], by resumer: Resumer) {
        let count = batch.count
        guard count >= callersResumedDirectly else {
            for (ticket, outcome) in zip(batch, outcomes) { ticket.continuation.resume(returning: outcome) }
            return
        }
        let perJob = resumer.callersPerJob
        let jobs = min(cores, (count + perJob - 1) / perJob)
        for job in 0..<jobs {
            let callers = (count * job / jobs)..<(count * (job + 1) / jobs)
            Task.detached {
                for index in callers { batch[index].continuation.resume(returning: outcomes[index]) }
            }
        }
    }

    /// Runs a batch in one transaction, a savepoint per operation, and commits
    /// what did not throw.
    ///
    /// - Throws: only what beginning or committing the transaction throws.
    private static func withSavepoints(_ batch: [Ticket], in db: Database) throws -> [Result<any Sendable, any Error>] {
        var outcomes: [Result<any Sendable, any Error>] = []
        outcomes.reserveCapacity(batch.count)
        try db.inTransaction {
            for ticket in batch {
                var outcome: Result<any Sendable, any Error> = .failure(CancellationError())
                do {
                    try db.inSavepoint {
                        do {
                            outcome = .success(try ticket.operation(db))
                            return .commit
                        } catch {
                            outcome = .failure(error)
                            return .rollback
                        }
                    }
                } catch {
                    outcome = .failure(error)
                }
                outcomes.append(outcome)
            }
            return .commit
        }
        return outcomes
    }
}

extension Date {
    /// Now plus `duration`: what NSCondition's timed wait takes.
    fileprivate init(after duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self.init(timeIntervalSinceNow: Double(seconds) + Double(attoseconds) / 1e18)
    }
}
