import Foundation
import GRDB
import Synchronization

/// Runs concurrent callers' writes in shared transactions, so that durable
/// commits (one fsync each) do not limit throughput to one write per fsync.
///
/// Callers queue their operations and wait. While any are queued, one drain
/// loop runs on the database's writer (GRDB's serial writer queue, never a
/// caller's or an event loop's thread): it takes up to
/// ``StoreOptions/maxBatchSize`` waiting operations, runs them in one
/// transaction, commits, hands each caller its own result, and goes on to
/// the next batch; it ends when nothing waits. After a few batches it
/// queues itself again behind the writer's other work (``Store/writeAlone``,
/// backups), so that work is never starved by a steady stream of writes.
///
/// Before each batch the loop waits, for at most ``StoreOptions/maxBatchWait``,
/// until as many operations are queued as there are callers inside
/// ``write(_:)``, or as the last batch carried: without that, n concurrent
/// writers settle into two alternating batches of n/2 (one commits while the
/// other gathers), and each fsync carries half the rows it could. The callers
/// it waits for are mostly those whose operations just committed, on their
/// way out and back in, so the wait lasts about as long as waking them. A lone
/// writer never waits; when concurrency drops, one batch waits the whole
/// `maxBatchWait` and the next expects fewer.
///
/// When an operation throws, the batch is rolled back and run again with a
/// savepoint per operation, so only the throwing operations are undone and
/// only their callers fail; if the commit itself fails, every operation of
/// the batch fails with it.
///
/// With a ``WALSync`` (the default for durable stores) commits do not wait
/// for the disk and the loop is `drainPipelined`: one transaction stays
/// open, running operations as they arrive, and commits whenever the flush
/// thread is free; its callers are resumed after the flush that covers it.
/// The writer then never sits idle while the disk flushes, which was worth
/// 8–27% more durable writes/s to the loyalty and feedback services, whose
/// writer is the busy thread; one-row writes gain nothing (the store
/// benchmark measures both ways, see ``StoreOptions/Flush``).
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
        /// The size of the last batch: the writers expected back. A caller
        /// between leaving `write` and calling it again is not active, so
        /// `active` alone would start a batch one short of them.
        var lastBatchSize = 0
        var maxBatchSize = 0
        /// Active callers whose batch committed and waits for its flush
        /// (with a ``WALSync``): they cannot hand in anything before it ends.
        var flushing = 0
        /// Set by `close()`: new operations fail with ``StoreError/closed``.
        var closed = false
        /// Operations run so far in the open transaction (pipelined only).
        var running = 0
        /// Whether the open transaction should commit now (pipelined only):
        /// every caller that is not waiting for a flush is in it, or the
        /// flush thread is idle, or the transaction is full.
        func readyToCommit(flusherIdle: Bool) -> Bool {
            running > 0 && (flusherIdle || running + waiting.count >= min(maxBatchSize, active - flushing))
        }
        /// Whether the pipelined writer, asleep with an open transaction,
        /// should wake: enough have arrived to be worth a wake-up, or it is
        /// time to commit.
        func wakesRunner(flusherIdle: Bool) -> Bool {
            waiting.count >= 8 || readyToCommit(flusherIdle: flusherIdle) || (running == 0 && !waiting.isEmpty)
        }

        /// Whether the batch being gathered is complete: every active caller's
        /// operation (or as many as the last batch carried) is queued, or the
        /// batch is full. Callers wake the gathering drain loop only then, not
        /// on every arrival: a wake-up is a futex call and a context switch,
        /// and dozens per batch cost the writer more than its inserts.
        /// (Without a ``WALSync`` only; `drainPipelined` has `readyToCommit`.)
        var gathered: Bool {
            waiting.count >= min(maxBatchSize, max(active, lastBatchSize))
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
    /// Time the pipelined writer spent running operations and committing,
    /// waits for arrivals left out.
    private let busyTime = Mutex(Duration.zero)

    /// Transactions committed and operations they carried, since opening.
    var statistics: (transactions: Int, operations: Int) { counters.withLock { $0 } }

    /// How long the writer has worked for group commit since opening
    /// (pipelined only: with a ``WALSync``): what the operations and their
    /// commits cost the one thread every write goes through.
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
        let startDrain = !state.draining
        state.draining = true
        if state.gathering && wakes { condition.signal() }
        condition.unlock()
        if startDrain { scheduleDrain() }
    }

    /// Refuses new operations, then waits until every queued one has run and
    /// every committed batch's callers have been resumed (after their flush).
    func close() {
        condition.lock()
        state.closed = true
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
    private var wakes: Bool {
        if let sync { return state.wakesRunner(flusherIdle: sync.isIdle) }
        return state.gathered
    }

    /// The flush thread has nothing left to flush: a pipelined writer with
    /// operations in its open transaction commits them now.
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

    /// Runs batches until nothing waits, or for one turn.
    private func drain(_ db: Database) {
        if let sync {
            drainPipelined(db, sync: sync)
            return
        }
        for _ in 0..<Self.batchesPerTurn {
            let batch = nextBatch()
            if batch.isEmpty { return }
            let outcomes: [Result<any Sendable, any Error>]
            do {
                outcomes = try Self.execute(batch, in: db)
            } catch {
                outcomes = Array(repeating: .failure(error), count: batch.count)
            }
            counters.withLock {
                $0.transactions += 1
                $0.operations += batch.count
            }
            for (ticket, outcome) in zip(batch, outcomes) { ticket.continuation.resume(returning: outcome) }
        }
        scheduleDrain()
    }

    /// The drain loop when a ``WALSync`` flushes: a transaction stays open
    /// and runs operations as they arrive, while the flush thread writes the
    /// previous transactions to disk; it commits when the flush thread is
    /// idle (so that the disk never waits for the writer), when every caller
    /// not waiting for a flush is in it, when it is full, or after
    /// `maxBatchWait`. Then its callers wait for the flush that covers it.
    ///
    /// Running operations while the others are still on their way keeps the
    /// writer's work off the path from one flush to the next: with the
    /// batch-then-run loop, the flush thread sat idle for a third of the time
    /// waiting for the writer to run the batch it had just gathered.
    private func drainPipelined(_ db: Database, sync: WALSync) {
        for _ in 0..<Self.batchesPerTurn {
            condition.lock()
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
            if let failure = sync.failure {
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
            condition.unlock()
            counters.withLock {
                $0.transactions += 1
                $0.operations += batch.count
            }
            let worked = ContinuousClock.now - started - waited
            busyTime.withLock { $0 += worked }
            handToFlush(batch, outcomes, sync: sync)
        }
        scheduleDrain()
    }

    /// Takes the operations that have arrived, waiting when none have; returns
    /// none when the open transaction should commit (see `readyToCommit`) or
    /// `deadline` has passed.
    private func nextArrivals(deadline: ContinuousClock.Instant, sync: WALSync, waited: inout Duration) -> [Ticket] {
        condition.lock()
        defer { condition.unlock() }
        while true {
            let flusherIdle = sync.isIdle
            // An idle disk is worth more than a fuller transaction.
            if state.running > 0 && flusherIdle { return [] }
            if !state.waiting.isEmpty { break }
            if state.readyToCommit(flusherIdle: flusherIdle) { return [] }
            let left = ContinuousClock.now.duration(to: deadline)
            guard left > .zero else { return [] }
            state.gathering = true
            let asleep = ContinuousClock.now
            _ = condition.wait(until: Date(after: left))
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
            self.condition.unlock()
            for (ticket, outcome) in zip(batch, outcomes) {
                ticket.continuation.resume(returning: failure.map { Result.failure($0) } ?? outcome)
            }
        }
    }

    /// Waits until every active caller's operation is queued, the batch is
    /// full, or `maxBatchWait` has passed; then takes the batch. Returns an
    /// empty batch, and ends the drain, when nothing is queued.
    private func nextBatch() -> [Ticket] {
        condition.lock()
        defer { condition.unlock() }
        if state.waiting.isEmpty {
            state.draining = false
            return []
        }
        if maxBatchWait > .zero {
            let deadline = Date(after: maxBatchWait)
            state.gathering = true
            while !state.gathered, condition.wait(until: deadline) {}
            state.gathering = false
        }
        let batch = Array(state.waiting.prefix(maxBatchSize))
        state.waiting.removeFirst(batch.count)
        state.lastBatchSize = batch.count
        return batch
    }

    /// Runs a batch in one transaction and commits. The fast path uses no
    /// savepoints (a savepoint per operation costs about a third of the
    /// throughput); if an operation throws, its changes are mixed with the
    /// others', so the transaction is rolled back and the batch runs again
    /// with a savepoint per operation, undoing only the throwing ones.
    ///
    /// - Throws: only what beginning or committing the transaction throws.
    private static func execute(_ batch: [Ticket], in db: Database) throws -> [Result<any Sendable, any Error>] {
        var outcomes: [Result<any Sendable, any Error>] = []
        outcomes.reserveCapacity(batch.count)
        var someFailed = false
        try db.inTransaction {
            for ticket in batch {
                do {
                    outcomes.append(.success(try ticket.operation(db)))
                } catch {
                    someFailed = true
                    return .rollback
                }
            }
            return .commit
        }
        guard someFailed else { return outcomes }
        return try withSavepoints(batch, in: db)
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
