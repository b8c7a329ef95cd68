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
                // Not in the leader's own task: GRDB gives up on a cancelled
                // task's write, and the leader's cancellation must not fail
                // the other callers' operations in its batch.
                await Task.detached { await self.runBatch() }.value
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
        var outcomes: [Result<any Sendable, any Error>] = []
        do {
            outcomes = try await writer.writeWithoutTransaction { db in
                // Fast path: the whole batch in one transaction, no savepoints
                // (a savepoint per operation costs about a third of the throughput).
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
                // An operation failed, its changes mixed with the others': roll
                // back and run the batch again, each operation in a savepoint
                // of its own, so only the failing ones are undone.
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
        } catch {
            outcomes = Array(repeating: .failure(error), count: batch.count)
        }
        counters.withLock {
            $0.transactions += 1
            $0.operations += batch.count
        }
        // Pass the lead before waking anyone, so a batch is always running
        // while operations wait.
        let next = state.withLock { state -> Ticket? in
            if let first = state.waiting.first { return first }
            state.leading = false
            return nil
        }
        next?.post(.lead)
        for (ticket, outcome) in zip(batch, outcomes) { ticket.post(.done(outcome)) }
    }
}
