import GRDB
import Synchronization

/// Runs concurrent callers' writes in shared transactions, so that durable
/// commits (one fsync each) do not limit throughput to one write per fsync.
///
/// There is no background task: the first caller to find no batch running
/// leads. It takes up to ``StoreOptions/maxBatchSize`` waiting operations,
/// runs them in one transaction, commits, and hands each caller its own
/// result; then it passes the lead to the oldest operation still waiting,
/// whose caller runs the next batch. When an operation throws, the batch
/// is rolled back and run again with a savepoint per operation, so only the
/// throwing operations are undone and only their callers fail; if the
/// commit itself fails, every operation of the batch fails with it.
final class GroupCommit: Sendable {
    /// One caller's operation and where its outcome goes.
    final class Ticket: Sendable {
        enum Event: Sendable {
            case done(Result<any Sendable, any Error>)
            case lead
        }

        let operation: @Sendable (Database) throws -> any Sendable
        private let state = Mutex<(events: [Event], waiter: CheckedContinuation<Event, Never>?)>(([], nil))

        init(_ operation: @escaping @Sendable (Database) throws -> any Sendable) {
            self.operation = operation
        }

        func post(_ event: Event) {
            let waiter = state.withLock { state -> CheckedContinuation<Event, Never>? in
                if let waiter = state.waiter {
                    state.waiter = nil
                    return waiter
                }
                state.events.append(event)
                return nil
            }
            waiter?.resume(returning: event)
        }

        func next() async -> Event {
            await withCheckedContinuation { continuation in
                let ready = state.withLock { state -> Event? in
                    if !state.events.isEmpty { return state.events.removeFirst() }
                    state.waiter = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        }
    }

    private struct State {
        var waiting: [Ticket] = []
        var leading = false
    }

    private let writer: DatabasePool
    private let maxBatchSize: Int
    private let state = Mutex(State())
    private let counters = Mutex((transactions: 0, operations: 0))

    /// Transactions committed and operations they carried, since opening.
    var statistics: (transactions: Int, operations: Int) { counters.withLock { $0 } }

    init(writer: DatabasePool, maxBatchSize: Int) {
        self.writer = writer
        self.maxBatchSize = maxBatchSize
    }

    /// Runs `operation` in a shared transaction; returns once that
    /// transaction has committed (or throws what `operation` or the commit threw).
    func write<T: Sendable>(_ operation: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let ticket = Ticket { try operation($0) }
        var lead = state.withLock { state in
            state.waiting.append(ticket)
            if state.leading { return false }
            state.leading = true
            return true
        }
        while true {
            if lead {
                await runBatch()
                lead = false
            }
            switch await ticket.next() {
            case .done(let result):
                return try result.get() as! T
            case .lead:
                lead = true
            }
        }
    }

    private func runBatch() async {
        let batch = state.withLock { state in
            let batch = Array(state.waiting.prefix(maxBatchSize))
            state.waiting.removeFirst(batch.count)
            return batch
        }
        // GRDB's callback write, not its async one: the async one gives up on
        // a cancelled task's write, and the leader's cancellation must not
        // fail the other callers' operations in its batch.
        let outcomes = await withCheckedContinuation { (continuation: CheckedContinuation<[Result<any Sendable, any Error>], Never>) in
            writer.asyncWriteWithoutTransaction { db in
                do {
                    continuation.resume(returning: try Self.execute(batch, in: db))
                } catch {
                    continuation.resume(returning: Array(repeating: .failure(error), count: batch.count))
                }
            }
        }
        handOut(batch, outcomes)
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
        outcomes.removeAll(keepingCapacity: true)
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

    /// Passes the lead to the oldest waiting operation (before waking anyone,
    /// so a batch is always running while operations wait), then gives each
    /// caller of `batch` its outcome.
    private func handOut(_ batch: [Ticket], _ outcomes: [Result<any Sendable, any Error>]) {
        counters.withLock {
            $0.transactions += 1
            $0.operations += batch.count
        }
        let next = state.withLock { state -> Ticket? in
            if let first = state.waiting.first { return first }
            state.leading = false
            return nil
        }
        next?.post(.lead)
        for (ticket, outcome) in zip(batch, outcomes) { ticket.post(.done(outcome)) }
    }
}
