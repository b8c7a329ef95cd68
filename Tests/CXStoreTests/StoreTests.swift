import CXModel
import Foundation
import GRDB
import XCTest

@testable import CXStore

final class StoreTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = try temporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func testOpensInWALWithFullSyncAndForeignKeys() async throws {
        // Durable by default, with the log flushed off the writer: its
        // commits do not flush (NORMAL), and every write waits for a flush.
        let store = try openTestStore(directory)
        // Checked on the writer connection, which is the one whose commits count.
        let (journal, synchronous, foreignKeys) = try await store.writeAlone { db in
            (
                try String.fetchOne(db, sql: "PRAGMA journal_mode")!,
                try Int.fetchOne(db, sql: "PRAGMA synchronous")!,
                try Bool.fetchOne(db, sql: "PRAGMA foreign_keys")!
            )
        }
        XCTAssertEqual(journal, "wal")
        XCTAssertEqual(synchronous, 1)  // NORMAL: WALSync flushes instead
        XCTAssertTrue(foreignKeys)
        let flushesBefore = store.flushStatistics.flushes
        XCTAssertGreaterThan(flushesBefore, 0, "the migrations and writeAlone were flushed")
        try await store.write { db in try insertNote(db, id: "n", writer: 0, text: "flushed") }
        XCTAssertGreaterThan(store.flushStatistics.flushes, flushesBefore, "the write was acknowledged after a flush")
        let busyBefore = store.writerBusy
        try await store.write { db in
            // Long enough to show in the writer's busy time whatever the clock's grain.
            Thread.sleep(forTimeInterval: 0.005)
            try insertNote(db, id: "busy", writer: 0, text: "timed")
        }
        XCTAssertGreaterThanOrEqual(store.writerBusy - busyBefore, .milliseconds(5), "the operation's time counts as the writer's work")

        let inCommit = try Store(directory: directory, name: "in-commit", options: StoreOptions(flush: .inCommit))
        let inCommitSync = try await inCommit.writeAlone { db in try Int.fetchOne(db, sql: "PRAGMA synchronous")! }
        XCTAssertEqual(inCommitSync, 2)  // FULL: SQLite flushes in each commit
        try await inCommit.write { _ in Thread.sleep(forTimeInterval: 0.005) }
        XCTAssertEqual(inCommit.flushStatistics.flushes, 0)
        XCTAssertGreaterThanOrEqual(inCommit.writerBusy, .milliseconds(5), "the writer's work counts in either mode")

        let normal = try Store(directory: directory, name: "other", options: StoreOptions(durability: .normal))
        let normalSync = try await normal.writeAlone { db in try Int.fetchOne(db, sql: "PRAGMA synchronous")! }
        XCTAssertEqual(normalSync, 1)
        try await normal.write { _ in }
        XCTAssertEqual(normal.flushStatistics.flushes, 0, "NORMAL durability never flushes for a write")
        // Closed before tearDown removes the directory: an open store's threads
        // could still write into it, and the directory would be left behind.
        for opened in [store, inCommit, normal] { try opened.close() }
    }

    /// A flush that fails may have lost what it was flushing (the kernel can
    /// drop pages it could not write): the writes waiting for it fail, and
    /// so does every later one, until the store is opened again. The WAL
    /// file vanishing (here: unlinked under the open store) is such a failure.
    ///
    /// A lone writer's transactions are flushed by the writer itself; with
    /// transactions of one write and a second writer queued, the first
    /// transaction is handed to the flush thread. Both fail the same way.
    func testAFailedFlushFailsItsWritesAndEveryLaterOne() async throws {
        var handingOff = StoreOptions()
        handingOff.maxBatchSize = 1
        for (name, options, writers) in [("lone writer", StoreOptions(), 1), ("two writers", handingOff, 2)] {
            let directory = self.directory.appendingPathComponent(name)
            let store = try openTestStore(directory, options: options)
            try await store.write { db in try insertNote(db, id: "before", writer: 0, text: "before") }
            try FileManager.default.removeItem(atPath: store.path + "-wal")
            for attempt in 0..<3 {
                let failures = await withTaskGroup(of: String?.self) { group in
                    for writer in 0..<writers {
                        group.addTask {
                            do {
                                try await store.write { db in try insertNote(db, id: "after\(attempt)-\(writer)", writer: writer, text: "after") }
                                return "\(name): a write after a failed flush was acknowledged"
                            } catch StoreError.syncFailed(let reason) {
                                return reason.contains("-wal") ? nil : "\(name): \(reason)"
                            } catch {
                                return "\(name): \(error)"
                            }
                        }
                    }
                    return await group.reduce(into: [String]()) { if let failure = $1 { $0.append(failure) } }
                }
                XCTAssertEqual(failures, [])
            }
            do {
                try await store.writeAlone { db in try insertNote(db, id: "alone", writer: 0, text: "alone") }
                XCTFail("\(name): writeAlone after a failed flush was acknowledged")
            } catch StoreError.syncFailed {}
            try? store.close()
            let reopened = try openTestStore(directory)
            try await reopened.write { db in try insertNote(db, id: "reopened", writer: 0, text: "again") }
            let verdict = try await reopened.integrityCheck()
            XCTAssertEqual(verdict, ["ok"])
            try reopened.close()
        }
        XCTAssertTrue(StoreError.syncFailed(reason: "x").description.contains("restart"))
    }

    /// Callers that write once (a service's request handlers) do not come
    /// back after a transaction the writer flushed itself: the next write
    /// waits a lull for them (`GroupCommit.returnLull`), not `maxBatchWait`.
    func testAfterABurstTheWriterFlushedTheNextWriteIsNotHeldForItsCallers() async throws {
        var options = StoreOptions()
        options.maxBatchWait = .seconds(1)
        let store = try openTestStore(directory, options: options)
        let before = store.flushStatistics
        let held = await holdWriter(of: store, for: 0.2)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<3 {
                group.addTask { try await store.write { db in try insertNote(db, id: "burst\(index)", writer: index, text: "") } }
            }
            try await group.waitForAll()
        }
        try await held.value
        XCTAssertEqual(store.flushStatistics.byWriter - before.byWriter, 1, "the burst was one transaction, flushed by the writer")
        let clock = ContinuousClock()
        let took = try await clock.measure {
            try await store.write { db in try insertNote(db, id: "next", writer: 9, text: "") }
        }
        XCTAssertLessThan(took, .milliseconds(500), "the write waited for the burst's callers")
        let stored = try await countNotes(store)
        XCTAssertEqual(stored, 4)
        try store.close()
    }

    /// A writer that writes alone flushes its transactions itself, and its
    /// writes are on disk when acknowledged: the flush thread stays idle.
    func testALoneWritersTransactionsAreFlushedByTheWriter() async throws {
        let store = try openTestStore(directory)
        let before = store.flushStatistics
        for index in 0..<10 {
            try await store.write { db in try insertNote(db, id: "n\(index)", writer: 0, text: "") }
        }
        let after = store.flushStatistics
        XCTAssertEqual(after.byWriter - before.byWriter, 10)
        XCTAssertEqual(after.flushes - before.flushes, 10)
        let stored = try await countNotes(store)
        XCTAssertEqual(stored, 10)
        try store.close()
    }

    /// Closing while writes are in flight: each write either succeeded and
    /// is there after reopening, or failed with `closed` and is not: a
    /// write that committed is never reported as failed.
    func testClosingDuringWritesNeverFailsAWriteThatCommitted() async throws {
        for flush in [StoreOptions.Flush.offWriter, .inCommit] {
            let directory = self.directory.appendingPathComponent(flush.rawValue)
            let store = try openTestStore(directory, options: StoreOptions(flush: flush))
            let outcomes = await withTaskGroup(of: (String, Bool).self) { group in
                for writer in 0..<32 {
                    group.addTask {
                        var index = 0
                        while true {
                            let id = "w\(writer)-\(index)"
                            do {
                                if index % 5 == 4 {
                                    try await store.writeAlone { db in try insertNote(db, id: id, writer: writer, text: "alone") }
                                } else {
                                    try await store.write { db in try insertNote(db, id: id, writer: writer, text: "grouped") }
                                }
                            } catch {
                                return (id, false)
                            }
                            index += 1
                        }
                    }
                }
                try? await Task.sleep(for: .milliseconds(100))
                // Close from a thread of its own: it waits for the writes in flight.
                await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                    Thread { try? store.close(); done.resume() }.start()
                }
                return await group.reduce(into: [(String, Bool)]()) { $0.append($1) }
            }
            let reopened = try openTestStore(directory, options: StoreOptions(flush: flush))
            let stored = Set(try await reopened.read { db in try String.fetchAll(db, sql: "SELECT id FROM note") })
            XCTAssertGreaterThan(stored.count, 32, "\(flush): writes went on for 100 ms")
            for (id, succeeded) in outcomes {
                XCTAssertFalse(succeeded)
                XCTAssertFalse(stored.contains(id), "\(flush): \(id) failed at close but was committed")
            }
            // Every writer's earlier writes were acknowledged, so they are all there.
            for (id, _) in outcomes {
                let parts = id.dropFirst().split(separator: "-")
                let writer = Int(parts[0])!
                let failedAt = Int(parts[1])!
                for index in 0..<failedAt { XCTAssertTrue(stored.contains("w\(writer)-\(index)"), "\(flush): w\(writer)-\(index)") }
            }
            try reopened.close()
        }
    }

    func testSixtyFourConcurrentWritersEachAcknowledgedWriteIsThereExactlyOnce() async throws {
        for flush in [StoreOptions.Flush.offWriter, .inCommit] {
            let directory = self.directory.appendingPathComponent(flush.rawValue)
            try await sixtyFourConcurrentWriters(try openTestStore(directory, options: StoreOptions(flush: flush)))
        }
    }

    private func sixtyFourConcurrentWriters(_ store: Store) async throws {
        let acknowledged = try await withThrowingTaskGroup(of: [String].self) { group in
            for writer in 0..<64 {
                group.addTask {
                    var ids: [String] = []
                    for index in 0..<25 {
                        let id = "w\(writer)-\(index)"
                        try await store.write { db in try insertNote(db, id: id, writer: writer, text: "note \(index)") }
                        ids.append(id)
                    }
                    return ids
                }
            }
            return try await group.reduce(into: [String]()) { $0 += $1 }
        }
        XCTAssertEqual(acknowledged.count, 64 * 25)
        let stored = try await store.read { db in try String.fetchAll(db, sql: "SELECT id FROM note") }
        XCTAssertEqual(stored.count, acknowledged.count)
        XCTAssertEqual(Set(stored), Set(acknowledged))
        // They shared transactions: a commit as each writer came back would
        // carry one or two writes.
        let (transactions, operations) = store.groupCommitStatistics
        XCTAssertGreaterThan(operations, 4 * transactions, "\(operations) writes in \(transactions) transactions")
    }

    /// A transaction waits for the callers of the last one to come back, but
    /// a caller that does not come back costs at most one wait: the next
    /// transactions do not expect it.
    func testAWriterThatStopsDelaysAtMostOneTransaction() async throws {
        for flush in [StoreOptions.Flush.offWriter, .inCommit] {
            var options = StoreOptions(flush: flush)
            options.maxBatchWait = .seconds(1)
            let store = try openTestStore(directory.appendingPathComponent(flush.rawValue), options: options)
            // Two writers in one transaction (the second queued while the first runs), then one of them stops.
            async let first: Void = store.write { db in
                Thread.sleep(forTimeInterval: 0.05)
                try insertNote(db, id: "first", writer: 0, text: "")
            }
            async let second: Void = store.write { db in try insertNote(db, id: "second", writer: 1, text: "") }
            _ = try await (first, second)
            let started = ContinuousClock.now
            for index in 0..<10 {
                try await store.write { db in try insertNote(db, id: "alone-\(index)", writer: 0, text: "") }
            }
            let took = ContinuousClock.now - started
            // Waiting for the stopped writer each time would take 10 s.
            XCTAssertLessThan(took, .seconds(5), "\(flush): ten writes took \(took)")
            let count = try await countNotes(store)
            XCTAssertEqual(count, 12)
            try store.close()
        }
    }

    func testAFailedOperationLeavesNoTraceAndItsGroupCommits() async throws {
        for flush in [StoreOptions.Flush.offWriter, .inCommit] {
            let directory = self.directory.appendingPathComponent(flush.rawValue)
            try await failedOperationLeavesNoTrace(try openTestStore(directory, options: StoreOptions(flush: flush)))
        }
    }

    private func failedOperationLeavesNoTrace(_ store: Store) async throws {
        try await store.write { db in try insertNote(db, id: "taken", writer: 0, text: "first") }
        let outcomes = await withTaskGroup(of: (String, Bool).self) { group in
            for index in 0..<200 {
                group.addTask {
                    let id = "n\(index)"
                    do {
                        try await store.write { db in
                            try insertNote(db, id: id, writer: 1, text: "ok")
                            if index % 10 == 3 { throw Refused(id: id) }  // after its insert: must be undone
                            if index % 10 == 7 { try insertNote(db, id: "taken", writer: 1, text: "clash") }  // constraint
                        }
                        return (id, true)
                    } catch {
                        if index % 10 == 3 { XCTAssertEqual(error as? Refused, Refused(id: id)) }
                        if index % 10 == 7 { XCTAssertEqual((error as? DatabaseError)?.resultCode, .SQLITE_CONSTRAINT) }
                        return (id, false)
                    }
                }
            }
            return await group.reduce(into: [String: Bool]()) { $0[$1.0] = $1.1 }
        }
        let stored = Set(try await store.read { db in try String.fetchAll(db, sql: "SELECT id FROM note") })
        for (id, succeeded) in outcomes {
            XCTAssertEqual(stored.contains(id), succeeded, id)
        }
        XCTAssertEqual(outcomes.values.filter { $0 }.count, 160)
        let first = try await store.read { db in try RecordBody.fetchOne(db, sql: "SELECT body FROM note WHERE id = 'taken'")! }
        XCTAssertEqual(try first.decode(Cx_Wire_V1_EchoRequest.self, table: "note", key: "taken").text, "first")
    }

    /// Callers of a large batch are resumed by jobs on the global executor
    /// (`GroupCommit.resume`), not by the writer: each must still get its
    /// own answer or its own error.
    /// Three ways a large batch ends: flushed by the writer itself (every
    /// caller is in its one transaction), handed to the flush thread
    /// (transactions of 100 leave callers queued), or flushed by SQLite in
    /// the commit.
    func testEveryCallerOfALargeBatchGetsItsOwnOutcome() async throws {
        var handingOff = StoreOptions(flush: .offWriter)
        handingOff.maxBatchSize = 100
        let configurations = [
            ("writer flushes", StoreOptions(flush: .offWriter)), ("flush thread", handingOff), ("in commit", StoreOptions(flush: .inCommit)),
        ]
        for (flush, options) in configurations {
            let store = try openTestStore(directory.appendingPathComponent(flush), options: options)
            // The others queue while the writer is held, so that group
            // commit finds them all waiting.
            let flushesBefore = store.flushStatistics
            let held = await holdWriter(of: store, for: 0.3)
            let outcomes = await withTaskGroup(of: (Int, Result<String, any Error>).self) { group in
                for index in 0..<300 {
                    group.addTask {
                        let id = "n\(index)"
                        do {
                            return (index, .success(try await store.write { db in
                                try insertNote(db, id: id, writer: 1, text: "")
                                if index % 10 == 3 { throw Refused(id: id) }
                                return id
                            }))
                        } catch {
                            return (index, .failure(error))
                        }
                    }
                }
                return await group.reduce(into: [Int: Result<String, any Error>]()) { $0[$1.0] = $1.1 }
            }
            try await held.value
            XCTAssertEqual(outcomes.count, 300)
            for (index, outcome) in outcomes {
                switch outcome {
                case .success(let answer):
                    XCTAssertNotEqual(index % 10, 3, "\(flush): n\(index) should have failed")
                    XCTAssertEqual(answer, "n\(index)", "\(flush)")
                case .failure(let error):
                    XCTAssertEqual(index % 10, 3, "\(flush): n\(index) failed: \(error)")
                    XCTAssertEqual(error as? Refused, Refused(id: "n\(index)"), "\(flush)")
                }
            }
            let stored = try await countNotes(store)
            XCTAssertEqual(stored, 270)
            // Batches of at least 16 on average: resumed by jobs, not one by one.
            let (transactions, operations) = store.groupCommitStatistics
            XCTAssertEqual(operations, 300)
            XCTAssertLessThanOrEqual(transactions * 16, operations, "\(flush): \(operations) writes in \(transactions) transactions")
            let flushes = store.flushStatistics
            let byWriter = flushes.byWriter - flushesBefore.byWriter
            let byFlushThread = flushes.flushes - flushesBefore.flushes - byWriter
            switch flush {
            case "writer flushes":
                XCTAssertEqual(transactions, 1)
                XCTAssertEqual(byWriter, 1)
                XCTAssertEqual(byFlushThread, 0)
            case "flush thread":
                XCTAssertGreaterThanOrEqual(transactions, 3)
                XCTAssertEqual(byWriter, 0, "callers were left queued or on their way back at every commit")
                XCTAssertGreaterThan(byFlushThread, 0)
            default:
                XCTAssertEqual(flushes.flushes, 0)
            }
            try store.close()
        }
    }

    func testCancellingTheLeaderDoesNotFailTheOthersInItsBatch() async throws {
        let store = try openTestStore(directory)
        // X leads a batch of its own for 300 ms; meanwhile A queues first, then
        // twenty others, so A leads the next batch with all of them in it.
        let x = Task { try await store.write { db in Thread.sleep(forTimeInterval: 0.3); try insertNote(db, id: "x", writer: 0, text: "x") } }
        try await Task.sleep(for: .milliseconds(50))
        let a = Task { try await store.write { db in Thread.sleep(forTimeInterval: 0.3); try insertNote(db, id: "a", writer: 0, text: "a") } }
        try await Task.sleep(for: .milliseconds(50))
        let others = (0..<20).map { index in
            Task { try await store.write { db in try insertNote(db, id: "o\(index)", writer: 1, text: "other") } }
        }
        try await x.value
        try await Task.sleep(for: .milliseconds(100))  // A's batch is running
        a.cancel()
        for other in others { try await other.value }  // none of them fails
        _ = try? await a.value
        let count = try await countNotes(store)
        XCTAssertGreaterThanOrEqual(count, 21)
    }

    func testBackupIsAConsistentCopyAndRefusesToOverwrite() async throws {
        let store = try openTestStore(directory)
        for index in 0..<100 {
            try await store.write { db in try insertNote(db, id: "b\(index)", writer: 0, text: "backup me") }
        }
        let copy = directory.appendingPathComponent("backup.sqlite")
        // Writes go on during the backup.
        async let more: Void = {
            for index in 100..<200 {
                try await store.write { db in try insertNote(db, id: "b\(index)", writer: 0, text: "later") }
            }
        }()
        try await store.backup(to: copy)
        try await more
        let restored = try Store(directory: directory, name: "backup", migrator: testMigrator)
        let count = try await countNotes(restored)
        XCTAssertGreaterThanOrEqual(count, 100)
        XCTAssertLessThanOrEqual(count, 200)
        let integrity = try await restored.integrityCheck()
        XCTAssertEqual(integrity, ["ok"])
        do {
            try await store.backup(to: copy)
            XCTFail("backup over an existing file succeeded")
        } catch {}
    }

    func testMigrationsRunOnceAndReopenKeepsData() async throws {
        do {
            let store = try openTestStore(directory)
            try await store.write { db in try insertNote(db, id: "kept", writer: 0, text: "across reopen") }
            try store.close()
        }
        let reopened = try openTestStore(directory)
        let count = try await countNotes(reopened)
        XCTAssertEqual(count, 1)
        let applied = try await reopened.read { db in try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations") }
        XCTAssertEqual(
            applied,
            [
                "cxstore v1 idempotency", "cxstore v1 outbox", "cxstore v2 idempotency by age", "cxstore v3 outbox by destination", "cxstore v4 outbox refused",
                "cxstore v5 idempotency subjects", "test v1 notes",
            ])
    }
}

final class IdempotencyTests: XCTestCase {
    /// Erasing a customer forgets the stored answers that name them, and
    /// only those: an id that merely starts like theirs is someone else.
    func testForgettingASubjectRemovesOnlyTheAnswersNamingIt() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try openTestStore(directory)
        @Sendable func keyed(_ key: String, subjects: [String]) async throws -> String {
            try await store.write { db in
                try Idempotency.run(db, scope: "s", key: key, request: note(key), subjects: { (_: Database, _: Cx_Wire_V1_EchoResponse) in subjects }) {
                    var response = Cx_Wire_V1_EchoResponse()
                    response.text = "answer \(key) \(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM cx_idempotency")!)"
                    return response
                }.text
            }
        }
        let first = try await keyed("a", subjects: ["c1"])
        _ = try await keyed("b", subjects: ["c12", "c1"])
        _ = try await keyed("c", subjects: ["c12"])
        _ = try await keyed("d", subjects: [])
        _ = try await keyed("e", subjects: ["xc1"])
        let forgotten = try await store.write { db in try Idempotency.forget(db, subject: "c1") }
        XCTAssertEqual(forgotten, 2)
        let left = try await store.read { db in try String.fetchAll(db, sql: "SELECT key FROM cx_idempotency ORDER BY key") }
        XCTAssertEqual(left, ["c", "d", "e"])
        // A retry of a forgotten write runs again (and is stored again).
        let again = try await keyed("a", subjects: ["c1"])
        XCTAssertNotEqual(again, first)
        let none = try await store.write { db in try Idempotency.forget(db, subject: "") }
        XCTAssertEqual(none, 0)
    }

    func testRetryReturnsTheFirstAnswerAndChangesNothing() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try openTestStore(directory)

        @Sendable func purchase(key: String, text: String) async throws -> Cx_Wire_V1_EchoResponse {
            try await store.write { db in
                try Idempotency.run(db, scope: "purchase", key: key, request: note(text)) {
                    let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM note")!
                    try insertNote(db, id: "order-\(count)", writer: 0, text: text)
                    var response = Cx_Wire_V1_EchoResponse()
                    response.text = "order-\(count)"
                    return response
                }
            }
        }
        let first = try await purchase(key: "k1", text: "100 points")
        // Retried concurrently, many times.
        let retries = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<20 { group.addTask { try await purchase(key: "k1", text: "100 points").text } }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        XCTAssertEqual(Set(retries), [first.text])
        let count = try await countNotes(store)
        XCTAssertEqual(count, 1)

        do {
            _ = try await purchase(key: "k1", text: "999 points")
            XCTFail("a reused key with another request succeeded")
        } catch {
            XCTAssertEqual(error as? StoreError, .idempotencyKeyReused(scope: "purchase", key: "k1"))
        }
        let after = try await countNotes(store)
        XCTAssertEqual(after, 1)

        // The same key in another scope is another operation.
        let other = try await store.write { db in
            try Idempotency.run(db, scope: "refund", key: "k1", request: note("100 points")) { Cx_Wire_V1_EchoResponse.with { $0.text = "refund" } }
        }
        XCTAssertEqual(other.text, "refund")
    }

    func testOldAnswersArePrunedAfterTheRetention() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try openTestStore(directory, options: StoreOptions(idempotencyRetention: 86_400))
        for key in ["k1", "k2", "k3"] {
            _ = try await store.write { db in
                try Idempotency.run(db, scope: "s", key: key, request: note(key)) { Cx_Wire_V1_EchoResponse() }
            }
        }
        let none = try await store.pruneIdempotency(now: Date().addingTimeInterval(3_600))
        XCTAssertEqual(none, 0, "within the retention nothing goes")
        let all = try await store.pruneIdempotency(now: Date().addingTimeInterval(2 * 86_400))
        XCTAssertEqual(all, 3)
        let left = try await store.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM cx_idempotency")! }
        XCTAssertEqual(left, 0)
        XCTAssertEqual(StoreOptions().idempotencyRetention, 7 * 86_400)
    }

    func testAFailedWriteRecordsNothingSoARetryRuns() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try openTestStore(directory)
        do {
            _ = try await store.write { db in
                try Idempotency.run(db, scope: "s", key: "k", request: note("x")) { () -> Cx_Wire_V1_EchoResponse in
                    throw Refused(id: "k")
                }
            }
            XCTFail("expected the failure")
        } catch {}
        let answer = try await store.write { db in
            try Idempotency.run(db, scope: "s", key: "k", request: note("x")) { Cx_Wire_V1_EchoResponse.with { $0.text = "ran" } }
        }
        XCTAssertEqual(answer.text, "ran")
    }
}
