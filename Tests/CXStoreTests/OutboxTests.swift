import CXModel
import Foundation
import GRDB
import XCTest

@testable import CXStore

final class OutboxTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws { directory = try temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    private static func event(_ id: String, key: String, destination: String = "profiles") -> OutboxEvent {
        OutboxEvent(
            eventID: id, destination: destination, method: "/cx.test.v1.Test/Apply", orderingKey: key,
            payload: try! note(id).serializedBytes())
    }

    func testAnEventCommitsOrVanishesWithTheChangeThatCausedIt() async throws {
        let store = try openTestStore(directory)
        try await store.write { db in
            try insertNote(db, id: "purchase-1", writer: 0, text: "bought")
            try Outbox.enqueue(db, Self.event("e1", key: "c1"))
        }
        do {
            try await store.write { db in
                try insertNote(db, id: "purchase-2", writer: 0, text: "bought")
                try Outbox.enqueue(db, Self.event("e2", key: "c1"))
                throw Refused(id: "purchase-2")
            }
        } catch {}
        let due = try await store.outboxDue()
        XCTAssertEqual(due.map(\.event.eventID), ["e1"])
        XCTAssertEqual(try Cx_Wire_V1_EchoRequest(serializedBytes: due[0].event.payload).text, "e1")
        let notes = try await countNotes(store)
        XCTAssertEqual(notes, 1)
    }

    func testOnlyTheOldestEventPerKeyIsDueAndFailuresWait() async throws {
        let store = try openTestStore(directory)
        try await store.write { db in
            for (id, key) in [("a1", "alice"), ("b1", "bob"), ("a2", "alice"), ("b2", "bob"), ("c1", "carol")] {
                try Outbox.enqueue(db, Self.event(id, key: key))
            }
        }
        var due = try await store.outboxDue()
        XCTAssertEqual(due.map(\.event.eventID), ["a1", "b1", "c1"])

        // a1 fails: alice's later events wait behind it; bob's go on.
        let a1 = due[0].sequence
        try await store.outboxFailed(sequence: a1, error: "peer down", retryAt: Date().addingTimeInterval(60))
        try await store.outboxDelivered(sequence: due[1].sequence)
        due = try await store.outboxDue()
        XCTAssertEqual(due.map(\.event.eventID), ["b2", "c1"])

        let backlog = try await store.outboxBacklog()
        XCTAssertEqual(backlog.map(\.destination), ["profiles"])
        XCTAssertEqual(backlog.first?.pending, 4)
        XCTAssertEqual(backlog.first?.lastError, "peer down")

        // After the retry time, a1 is due again, with its attempt counted.
        due = try await store.outboxDue(now: Date().addingTimeInterval(61))
        XCTAssertEqual(due.first?.event.eventID, "a1")
        XCTAssertEqual(due.first?.attempts, 1)
    }

    func testEachDestinationKeepsItsOwnOrderAndADownPeerHoldsUpNoOtherDestination() async throws {
        let store = try openTestStore(directory)
        try await store.write { db in
            for (id, key, destination) in [
                ("p1", "alice", "profiles"), ("j1", "alice", "journey"), ("p2", "alice", "profiles"),
                ("j2", "bob", "journey"), ("j3", "alice", "journey"),
            ] {
                try Outbox.enqueue(db, Self.event(id, key: key, destination: destination))
            }
        }
        var due = try await store.outboxDue()
        XCTAssertEqual(due.map(\.event.eventID), ["p1", "j1", "j2"], "the oldest per (destination, key), oldest first")
        let limited = try await store.outboxDue(limit: 2)
        XCTAssertEqual(limited.map(\.event.eventID), ["p1", "j1"])

        // Journey is down: its events wait; profiles' go on in order.
        for event in due where event.event.destination == "journey" {
            try await store.outboxFailed(sequence: event.sequence, error: "connection refused", retryAt: Date().addingTimeInterval(60))
        }
        try await store.outboxDelivered(sequence: due[0].sequence)
        due = try await store.outboxDue()
        XCTAssertEqual(due.map(\.event.eventID), ["p2"])
    }

    func testTheOutboxSurvivesClosingAndReopening() async throws {
        do {
            let store = try openTestStore(directory)
            try await store.write { db in try Outbox.enqueue(db, Self.event("kept", key: "k")) }
            try store.close()
        }
        let reopened = try openTestStore(directory)
        let due = try await reopened.outboxDue()
        XCTAssertEqual(due.map(\.event.eventID), ["kept"])
    }

    func testEventIDsAreUnique() async throws {
        let store = try openTestStore(directory)
        try await store.write { db in try Outbox.enqueue(db, Self.event("same", key: "k")) }
        do {
            try await store.write { db in try Outbox.enqueue(db, Self.event("same", key: "k")) }
            XCTFail("a second event with the same id was accepted")
        } catch {
            XCTAssertEqual((error as? DatabaseError)?.resultCode, .SQLITE_CONSTRAINT)
        }
    }
}
