import CXModel
import CXStore
import CXTestSupport
import CXWire
import Foundation
import GRDB
import XCTest

@testable import CXJourney

/// EraseCustomer: profiles erased a customer, journey deletes what it keeps
/// under the id and keeps the aggregates that name no one.
final class JourneyEraseTests: XCTestCase {
    typealias J = Cx_Journey_V1_Journey

    func day(_ days: Double) -> Date { Date(timeIntervalSince1970: 1_767_225_600 + days * 86_400) }

    func erase(_ h: JourneyHarness, _ id: String, key: String? = nil) async throws -> UInt64 {
        try await h.client.call(
            J.eraseCustomer, .with { $0.customerID = id },
            options: CallOptions(metadata: key.map { ["idempotency-key": $0] } ?? [:])
        ).recordsErased
    }

    /// Rows per table held under `id` (the outbox by ordering key), and
    /// whether stage_count still sums to the customer rows.
    func held(_ h: JourneyHarness, _ id: String) async throws -> (rows: [String: Int], countsAgree: Bool) {
        try await h.service.store.read { db in
            var rows: [String: Int] = [:]
            for table in ["customer", "event", "stage_change", "task"] {
                rows[table] = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table) WHERE customer_id = ?", arguments: [id])
            }
            for table in ["cx_outbox", "cx_outbox_refused"] {
                rows[table] = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table) WHERE ordering_key = ?", arguments: [id])
            }
            let counted = try Int.fetchOne(db, sql: "SELECT COALESCE(SUM(customers), 0) FROM stage_count")
            let customers = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM customer")
            return (rows, counted == customers)
        }
    }

    func testEraseDeletesTheCustomersRecordsAndOnlyTheirs() async throws {
        let h = try await JourneyHarness.start(destinations: [.profiles], clock: ManualClock(day(10)))
        addTeardownBlock { await h.stop() }
        // a: ASSESSMENT then ADMISSION (9 tasks); b: on to ACCEPTANCE.
        try await h.event("a", "visit", at: day(5))
        try await h.event("a", "first_purchase", touchpoint: "store", at: day(6))
        try await h.event("b", "visit", at: day(5))
        try await h.event("b", "first_purchase", touchpoint: "store", at: day(6))
        try await h.event("b", "repeat_purchase", touchpoint: "store", at: day(7))
        // One of a's trait events was refused by profiles and set aside.
        let due = try await h.service.store.outboxDue(now: Date().addingTimeInterval(60), limit: 100)
        let refused = try XCTUnwrap(due.first { $0.event.orderingKey == "a" })
        try await h.service.store.outboxRefused(sequence: refused.sequence, error: "test")

        let before = try await h.funnel()
        XCTAssertEqual(before.stage(.admission).customersNow, 1)
        XCTAssertEqual(before.customers, 2)
        let activityBefore = try await h.client.call(J.touchpointActivity, .init())
        let bBefore = try await h.journey("b")
        let bTasksBefore = try await h.tasks { $0.customerID = "b" }
        let heldBefore = try await held(h, "a")
        XCTAssertEqual(heldBefore.rows, ["customer": 1, "event": 2, "stage_change": 2, "task": 9, "cx_outbox": 1, "cx_outbox_refused": 1])

        let erased = try await erase(h, "a", key: "profiles:erase:a:journey")
        XCTAssertEqual(erased, 16, "1 customer, 2 events, 2 stage changes, 9 tasks, 2 outbox events")

        await assertRPCError(.notFound, reason: "CUSTOMER_NOT_FOUND") { try await h.journey("a") }
        await assertRPCError(.notFound, reason: "CUSTOMER_NOT_FOUND") {
            try await h.client.call(J.listEvents, .with { $0.customerID = "a" })
        }
        let aTasks = try await h.tasks { $0.customerID = "a" }
        XCTAssertEqual(aTasks, [])
        let after = try await held(h, "a")
        XCTAssertEqual(after.rows.values.reduce(0, +), 0, "\(after.rows)")
        XCTAssertTrue(after.countsAgree, "stage_count sums to the customer rows")

        // b is untouched.
        let bAfter = try await h.journey("b")
        XCTAssertEqual(bAfter, bBefore)
        let bTasksAfter = try await h.tasks { $0.customerID = "b" }
        XCTAssertEqual(bTasksAfter, bTasksBefore)
        let bOutbox = try await held(h, "b").rows["cx_outbox"]
        XCTAssertEqual(bOutbox, 3)

        // a no longer counts in ADMISSION; what happened stays in the day aggregates.
        let funnel = try await h.funnel()
        XCTAssertEqual(funnel.stage(.admission).customersNow, 0)
        XCTAssertEqual(funnel.stage(.acceptance).customersNow, 1)
        XCTAssertEqual(funnel.customers, 1)
        for stage in [Cx_Journey_V1_Stage.assessment, .admission, .acceptance] {
            XCTAssertEqual(funnel.stage(stage).entered, before.stage(stage).entered)
            XCTAssertEqual(funnel.stage(stage).advanced, before.stage(stage).advanced)
            XCTAssertEqual(funnel.stage(stage).staysEnded, before.stage(stage).staysEnded)
        }
        let activityAfter = try await h.client.call(J.touchpointActivity, .init())
        XCTAssertEqual(activityAfter, activityBefore)

        // A redelivery gets the first answer; a new request finds nothing.
        let redelivered = try await erase(h, "a", key: "profiles:erase:a:journey")
        XCTAssertEqual(redelivered, 16)
        let again = try await erase(h, "a")
        XCTAssertEqual(again, 0)
        let unknown = try await erase(h, "never-seen", key: "profiles:erase:never-seen:journey")
        XCTAssertEqual(unknown, 0)

        await assertRPCError(.invalidArgument, field: "customer_id") { try await self.erase(h, "a b") }
        await assertRPCError(.invalidArgument, field: "customer_id") { try await self.erase(h, "") }

        // An event for the id afterwards starts a new journey, counted again.
        let fresh = try await h.event("a", "visit")
        XCTAssertEqual(fresh.stage, .assessment)
        let journey = try await h.journey("a")
        XCTAssertEqual(journey.eventCount, 1)
        let last = try await held(h, "a")
        XCTAssertTrue(last.countsAgree)
    }
}
