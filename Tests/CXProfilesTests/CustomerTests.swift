import CXTestSupport
import CXModel
import CXStore
import CXWire
import Foundation
import XCTest

@testable import CXProfiles

final class CustomerTests: XCTestCase {
    func testCreateGetAndTheServerSetsItsOwnFields() async throws {
        let h = try await ProfilesHarness.start()
        addTeardownBlock { await h.stop() }
        let created = try await h.create {
            $0.name = "علی رضایی"
            $0.email = "ali@example.com"
            $0.phone = "+98 912 345 6789"
            $0.country = "ir"
            $0.marketingConsent = .with { $0.given = true; $0.method = "web-form" }
            $0.birthDate = .with { $0.year = 1990; $0.month = 4; $0.day = 21 }
            $0.attributes = ["goal": "save for a house"]
            $0.traits.tier = "gold"  // output only: ignored
            $0.version = 99  // output only: ignored
        }
        XCTAssertTrue(created.id.hasPrefix("c-"))
        XCTAssertEqual(created.version, 1)
        XCTAssertFalse(created.hasTraits)
        XCTAssertEqual(created.createdAt.date, h.clock.now)
        XCTAssertEqual(created.phone, "+989123456789", "stored as digits")
        XCTAssertEqual(created.country, "IR")
        XCTAssertEqual(created.marketingConsent.at.date, h.clock.now, "consent without a time is dated when applied")
        let fetched = try await h.get(created.id)
        XCTAssertEqual(fetched, created)
    }

    func testBadInputNamesTheFieldAndChangesNothing() async throws {
        let h = try await ProfilesHarness.start()
        addTeardownBlock { await h.stop() }
        await assertRPCError(.invalidArgument, field: "customer.email", messageContains: "not-an-email") {
            try await h.create { $0.name = "x"; $0.email = "not-an-email" }
        }
        await assertRPCError(.invalidArgument, field: "customer.phone") {
            try await h.create { $0.name = "x"; $0.phone = "12" }
        }
        await assertRPCError(.invalidArgument, field: "customer.birth_date", messageContains: "not in the past") {
            try await h.create { $0.name = "x"; $0.birthDate = .with { $0.year = 2999; $0.month = 1; $0.day = 1 } }
        }
        await assertRPCError(.invalidArgument, field: "customer.attributes.goal", messageContains: "at most 1024") {
            try await h.create { $0.name = "x"; $0.attributes = ["goal": String(repeating: "a", count: 1025)] }
        }
        await assertRPCError(.invalidArgument, field: "customer.attributes") {
            try await h.create { $0.name = "x"; $0.attributes = ["Bad Key": "v"] }
        }
        await assertRPCError(.notFound, reason: "CUSTOMER_NOT_FOUND") { try await h.get("nobody") }
        await assertRPCError(.invalidArgument, field: "customer_id") { try await h.get("") }
        var list = Cx_Profiles_V1_ListCustomersRequest()
        list.pageSize = 10
        let page = try await h.client.call(Cx_Profiles_V1_Customers.listCustomers, list)
        XCTAssertEqual(page.customers.count, 0, "rejected creates left nothing behind")
    }

    func testThirtyTwoConcurrentPartialUpdatesOfDifferentFieldsAllSurvive() async throws {
        let h = try await ProfilesHarness.start()
        addTeardownBlock { await h.stop() }
        let customer = try await h.create { $0.name = "Sara" }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<32 {
                group.addTask {
                    _ = try await h.update(customer.id, mask: ["attributes.field\(index)"]) {
                        $0.attributes["field\(index)"] = "value \(index)"
                    }
                }
            }
            try await group.waitForAll()
        }
        let after = try await h.get(customer.id)
        XCTAssertEqual(after.attributes.count, 32)
        for index in 0..<32 { XCTAssertEqual(after.attributes["field\(index)"], "value \(index)") }
        XCTAssertEqual(after.version, 33)
        XCTAssertEqual(after.name, "Sara", "fields outside the masks are untouched")
    }

    func testUpdateMaskRulesAndVersionCheck() async throws {
        let h = try await ProfilesHarness.start()
        addTeardownBlock { await h.stop() }
        let customer = try await h.create { $0.name = "Reza"; $0.city = "Tehran" }
        await assertRPCError(.invalidArgument, field: "update_mask") { try await h.update(customer.id, mask: []) { _ in } }
        await assertRPCError(.invalidArgument, field: "update_mask[0]", messageContains: "UpdateTraits") {
            try await h.update(customer.id, mask: ["traits.tier"]) { _ in }
        }
        await assertRPCError(.invalidArgument, field: "update_mask[0]", messageContains: "not a customer field") {
            try await h.update(customer.id, mask: ["shoe_size"]) { _ in }
        }
        let cleared = try await h.update(customer.id, mask: ["city"]) { _ in }
        XCTAssertEqual(cleared.city, "")
        XCTAssertEqual(cleared.version, 2)
        var request = Cx_Profiles_V1_UpdateCustomerRequest()
        request.customerID = customer.id
        request.updateMask = ["name"]
        request.customer.name = "Reza M."
        request.expectedVersion = 1
        await assertRPCError(.aborted, reason: "VERSION_MISMATCH") {
            try await h.client.call(Cx_Profiles_V1_Customers.updateCustomer, request)
        }
        let value1 = try await h.get(customer.id).name
        XCTAssertEqual(value1, "Reza")
    }

    func testIdempotentCreateReturnsTheFirstAnswer() async throws {
        let h = try await ProfilesHarness.start()
        addTeardownBlock { await h.stop() }
        var request = Cx_Profiles_V1_CreateCustomerRequest()
        request.customer.name = "Maryam"
        request.idempotencyKey = "signup-42"
        let first = try await h.client.call(Cx_Profiles_V1_Customers.createCustomer, request)
        let retry = try await h.client.call(Cx_Profiles_V1_Customers.createCustomer, request)
        XCTAssertEqual(first, retry)
        var list = Cx_Profiles_V1_ListCustomersRequest()
        list.pageSize = 10
        let value2 = try await h.client.call(Cx_Profiles_V1_Customers.listCustomers, list).customers.count
        XCTAssertEqual(value2, 1)
        request.customer.name = "Someone else"
        await assertRPCError(.failedPrecondition, reason: "IDEMPOTENCY_KEY_REUSED") {
            try await h.client.call(Cx_Profiles_V1_Customers.createCustomer, request)
        }
    }

    func testDeleteErasesAndLateEventsAreDropped() async throws {
        let h = try await ProfilesHarness.start()
        addTeardownBlock { await h.stop() }
        let customer = try await h.create { $0.id = "cust-1"; $0.name = "Nima"; $0.email = "nima@example.com" }
        var delete = Cx_Profiles_V1_DeleteCustomerRequest()
        delete.customerID = customer.id
        let erased = try await h.client.call(Cx_Profiles_V1_Customers.deleteCustomer, delete)
        XCTAssertTrue(erased.erased)
        await assertRPCError(.notFound, reason: "CUSTOMER_ERASED") { try await h.get("cust-1") }
        await assertRPCError(.alreadyExists, reason: "CUSTOMER_ERASED") {
            try await h.create { $0.id = "cust-1"; $0.name = "Someone new" }
        }
        let late = try await h.pushTraits("cust-1", event: "e1", occurredAt: h.clock.now, mask: ["tier"]) { $0.tier = "gold" }
        XCTAssertEqual(late.outcome, .customerErased)
        var search = Cx_Profiles_V1_SearchCustomersRequest()
        search.query = "nima"
        let value3 = try await h.client.call(Cx_Profiles_V1_Customers.searchCustomers, search).customers.count
        XCTAssertEqual(value3, 0)
        // The personal data is gone from the file, not just hidden.
        let leftovers = try await h.service.store.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM customer WHERE id = 'cust-1' AND body IS NOT NULL") ?? -1
        }
        XCTAssertEqual(leftovers, 0)
    }

    func testSearchNormalisesPersianAndMatchesPrefixes() async throws {
        let h = try await ProfilesHarness.start()
        addTeardownBlock { await h.stop() }
        // Written with the Arabic kaf and yeh; searched with the Persian ones.
        let ali = try await h.create { $0.name = "علي كريمي"; $0.phone = "۰۹۱۲ ۳۴۵ ۶۷۸۹" }
        _ = try await h.create { $0.name = "Sara Karimi"; $0.email = "Sara.K@Example.com" }
        func search(_ query: String, _ field: Cx_Profiles_V1_SearchField = .all) async throws -> [String] {
            var request = Cx_Profiles_V1_SearchCustomersRequest()
            request.query = query
            request.field = field
            return try await h.client.call(Cx_Profiles_V1_Customers.searchCustomers, request).customers.map(\.name)
        }
        let persian = try await search("کریم")
        XCTAssertEqual(persian, [ali.name])
        let value4 = try await search("0912345", .phone)
        XCTAssertEqual(value4, [ali.name])
        let value5 = try await search("912345", .phone)
        XCTAssertEqual(value5, [ali.name])
        let value6 = try await search("sara.k@example.com")
        XCTAssertEqual(value6, ["Sara Karimi"])
        let value7 = try await search("sar kar")
        XCTAssertEqual(value7, ["Sara Karimi"])
        let value8 = try await search("karimi", .email)
        XCTAssertEqual(value8, [])
    }

    func testListPagesAndRefusesATamperedToken() async throws {
        let h = try await ProfilesHarness.start()
        addTeardownBlock { await h.stop() }
        for index in 0..<7 { _ = try await h.create { $0.id = "c\(index)"; $0.name = "n\(index)" } }
        var request = Cx_Profiles_V1_ListCustomersRequest()
        request.pageSize = 3
        var seen: [String] = []
        var token = ""
        repeat {
            request.pageToken = token
            let page = try await h.client.call(Cx_Profiles_V1_Customers.listCustomers, request)
            seen += page.customers.map(\.id)
            token = page.nextPageToken
            if !token.isEmpty {
                var tampered = Array(token)
                tampered[tampered.count / 2] = tampered[tampered.count / 2] == "A" ? "B" : "A"
                var bad = request
                bad.pageToken = String(tampered)
                await assertRPCError(.invalidArgument, field: "page_token", reason: "PAGE_TOKEN_INVALID") {
                    try await h.client.call(Cx_Profiles_V1_Customers.listCustomers, bad)
                }
            }
        } while !token.isEmpty
        XCTAssertEqual(seen, (0..<7).map { "c\($0)" })
    }

    func testImportGivesAResultPerRow() async throws {
        let h = try await ProfilesHarness.start()
        addTeardownBlock { await h.stop() }
        _ = try await h.create { $0.id = "taken"; $0.name = "first" }
        var request = Cx_Profiles_V1_ImportCustomersRequest()
        request.customers = [
            .with { $0.id = "a"; $0.name = "A" },
            .with { $0.id = "b"; $0.name = "B"; $0.email = "broken" },
            .with { $0.id = "taken"; $0.name = "dup" },
            .with { $0.name = "generated id" },
        ]
        let response = try await h.client.call(Cx_Profiles_V1_Customers.importCustomers, request)
        XCTAssertEqual(response.created, 2)
        XCTAssertEqual(response.failed, 2)
        XCTAssertEqual(response.results.map(\.index), [0, 1, 2, 3])
        XCTAssertEqual(response.results[0].customerID, "a")
        XCTAssertEqual(response.results[1].error.field, "email")
        XCTAssertEqual(response.results[1].error.code, .invalidArgument)
        XCTAssertEqual(response.results[2].error.reason, "CUSTOMER_EXISTS")
        XCTAssertFalse(response.results[3].customerID.isEmpty)
        let value9 = try await h.get("taken").name
        XCTAssertEqual(value9, "first")
    }

    func testTraitsAreDeduplicatedAndNeverOverwrittenByOlderEvents() async throws {
        let h = try await ProfilesHarness.start()
        addTeardownBlock { await h.stop() }
        let customer = try await h.create { $0.name = "Leila" }
        let t0 = h.clock.now
        let applied = try await h.pushTraits(customer.id, event: "e1", occurredAt: t0, mask: ["tier", "purchase_count"]) {
            $0.tier = "silver"
            $0.purchaseCount = 3
        }
        XCTAssertEqual(applied.outcome, .applied)
        let duplicate = try await h.pushTraits(customer.id, event: "e1", occurredAt: t0, mask: ["tier", "purchase_count"]) {
            $0.tier = "silver"
            $0.purchaseCount = 3
        }
        XCTAssertEqual(duplicate, applied, "a redelivered event gets the first answer")
        let stale = try await h.pushTraits(customer.id, event: "e0", occurredAt: t0 - 60, mask: ["tier"]) { $0.tier = "bronze" }
        XCTAssertEqual(stale.outcome, .stale)
        XCTAssertEqual(stale.stalePaths, ["tier"])
        let after = try await h.get(customer.id)
        XCTAssertEqual(after.traits.tier, "silver")
        XCTAssertEqual(after.traits.purchaseCount, 3)
        let unknown = try await h.pushTraits("ghost", event: "e9", occurredAt: t0, mask: ["tier"]) { $0.tier = "gold" }
        XCTAssertEqual(unknown.outcome, .customerUnknown)
        await assertRPCError(.invalidArgument, field: "update_mask[0]") {
            try await h.pushTraits(customer.id, event: "e2", occurredAt: t0, mask: ["shoe_size"]) { _ in }
        }
        await assertRPCError(.invalidArgument, field: "traits.last_nps") {
            try await h.pushTraits(customer.id, event: "e3", occurredAt: t0, mask: ["last_nps"]) { $0.lastNps = 11 }
        }
    }

    func testATraitTimeAheadOfTheClockIsTakenAsNowAndOneFarAheadIsRefused() async throws {
        let h = try await ProfilesHarness.start()
        addTeardownBlock { await h.stop() }
        let customer = try await h.create { $0.name = "Omid" }
        let now = h.clock.now
        // A peer's clock ten minutes fast: applied, as of now.
        let fast = try await h.pushTraits(customer.id, event: "f1", occurredAt: now + 600, mask: ["tier"]) { $0.tier = "gold" }
        XCTAssertEqual(fast.outcome, .applied)
        // So the next true update, a second later, is not stale behind it.
        h.clock.advance(days: 1.0 / 86_400)
        let next = try await h.pushTraits(customer.id, event: "f2", occurredAt: h.clock.now, mask: ["tier"]) { $0.tier = "silver" }
        XCTAssertEqual(next.outcome, .applied)
        // A time far ahead would freeze the trait until then: refused, and nothing changes.
        await assertRPCError(.invalidArgument, field: "occurred_at", reason: "OCCURRED_IN_FUTURE") {
            try await h.pushTraits(customer.id, event: "f3", occurredAt: h.clock.now + 86_400 * 365, mask: ["tier"]) { $0.tier = "platinum" }
        }
        let after = try await h.get(customer.id)
        XCTAssertEqual(after.traits.tier, "silver")
    }

    func testAnErasureIsPassedOnToEveryPeerOnceInTheSameWrite() async throws {
        let h = try await ProfilesHarness.start(destinations: [.loyalty, .journey, .feedback])
        addTeardownBlock { await h.stop() }
        let customer = try await h.create { $0.name = "Parisa" }
        var delete = Cx_Profiles_V1_DeleteCustomerRequest()
        delete.customerID = customer.id
        _ = try await h.client.call(Cx_Profiles_V1_Customers.deleteCustomer, delete)
        // Erasing again (a retry without a key) promises nothing new.
        _ = try await h.client.call(Cx_Profiles_V1_Customers.deleteCustomer, delete)

        let backlog = try await h.service.store.outboxBacklog()
        XCTAssertEqual(backlog.map(\.destination), ["feedback", "journey", "loyalty"])
        XCTAssertEqual(backlog.map(\.pending), [1, 1, 1])
        let due = try await h.service.store.outboxDue(now: h.clock.now.addingTimeInterval(1), limit: 10)
        XCTAssertEqual(
            Set(due.map(\.event.method)),
            [
                Cx_Loyalty_V1_Loyalty.eraseCustomer.fullName, Cx_Journey_V1_Journey.eraseCustomer.fullName,
                Cx_Feedback_V1_Feedback.eraseCustomer.fullName,
            ])
        for pending in due {
            XCTAssertEqual(pending.event.orderingKey, customer.id)
            let request = try Cx_Common_V1_EraseCustomerRequest(serializedBytes: pending.event.payload)
            XCTAssertEqual(request.customerID, customer.id)
            XCTAssertEqual(request.erasedAt.date, h.clock.now)
        }
        // Without peers, an erasure stays in profiles.
        let alone = try await ProfilesHarness.start()
        addTeardownBlock { await alone.stop() }
        let other = try await alone.create { $0.name = "Kaveh" }
        delete.customerID = other.id
        _ = try await alone.client.call(Cx_Profiles_V1_Customers.deleteCustomer, delete)
        let none = try await alone.service.store.outboxBacklog()
        XCTAssertEqual(none, [])
    }
}
