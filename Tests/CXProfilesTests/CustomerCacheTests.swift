import CXTestSupport
import CXModel
import CXWire
import Foundation
import Synchronization
import XCTest

@testable import CXProfiles

/// GetCustomer answers from memory; these prove it never answers stale.
final class CustomerCacheTests: XCTestCase {
    private func customer(_ id: String, version: Int64) -> ProfilesDatabase.Stored {
        var customer = Cx_Profiles_V1_Customer()
        customer.id = id
        customer.version = version
        return .live(customer)
    }

    private func version(_ stored: ProfilesDatabase.Stored?) -> Int64? {
        if case .live(let customer) = stored { return customer.version }
        return nil
    }

    func testAFillBegunBeforeACommitIsRefused() {
        let cache = CustomerCache(capacity: 10)
        // A read takes its ticket, a write to the same id commits, then the
        // read (which may have seen the old row) tries to fill: refused.
        let ticket = cache.ticket(for: "c-1")
        cache.invalidate("c-1")
        cache.fill("c-1", with: customer("c-1", version: 1), ticket: ticket)
        XCTAssertNil(cache.get("c-1"))
        // A read begun after the commit fills.
        cache.fill("c-1", with: customer("c-1", version: 2), ticket: cache.ticket(for: "c-1"))
        XCTAssertEqual(version(cache.get("c-1")), 2)
        // A commit after the fill removes the entry.
        cache.invalidate("c-1")
        XCTAssertNil(cache.get("c-1"))
    }

    func testCapacityIsKeptAndRecentlyReadEntriesSurviveEviction() {
        let cache = CustomerCache(capacity: 3)
        for index in 0..<3 { cache.fill("c-\(index)", with: customer("c-\(index)", version: 1), ticket: cache.ticket(for: "c-\(index)")) }
        _ = cache.get("c-0")  // referenced: gets a second chance
        cache.fill("c-3", with: customer("c-3", version: 1), ticket: cache.ticket(for: "c-3"))
        XCTAssertEqual(cache.statistics.entries, 3)
        XCTAssertNotNil(cache.get("c-0"))
        XCTAssertNil(cache.get("c-1"), "the first entry not read since it was cached goes")
        XCTAssertNotNil(cache.get("c-3"))
        for index in 4..<100 { cache.fill("c-\(index)", with: customer("c-\(index)", version: 1), ticket: cache.ticket(for: "c-\(index)")) }
        XCTAssertEqual(cache.statistics.entries, 3)

        let off = CustomerCache(capacity: 0)
        off.fill("c-1", with: customer("c-1", version: 1), ticket: off.ticket(for: "c-1"))
        XCTAssertNil(off.get("c-1"))
    }

    /// Over a real server: every kind of write is seen by the next read of a
    /// customer the cache holds.
    func testEveryWriteIsSeenByTheNextRead() async throws {
        let h = try await ProfilesHarness.start()
        addTeardownBlock { await h.stop() }
        let created = try await h.create { $0.id = "cust-1"; $0.name = "Shirin"; $0.city = "Tabriz" }
        _ = try await h.get(created.id)
        let before = h.service.cacheStatistics.hits
        let again = try await h.get(created.id)
        XCTAssertEqual(again, created)
        XCTAssertEqual(h.service.cacheStatistics.hits, before + 1, "the second read is answered from memory")

        let updated = try await h.update(created.id, mask: ["city"]) { $0.city = "Shiraz" }
        let afterUpdate = try await h.get(created.id)
        XCTAssertEqual(afterUpdate.city, "Shiraz")
        XCTAssertEqual(afterUpdate.version, updated.version)

        let traits = try await h.pushTraits(created.id, event: "e1", occurredAt: h.clock.now, mask: ["tier"]) { $0.tier = "gold" }
        XCTAssertEqual(traits.outcome, .applied)
        let afterTraits = try await h.get(created.id)
        XCTAssertEqual(afterTraits.traits.tier, "gold")

        var delete = Cx_Profiles_V1_DeleteCustomerRequest()
        delete.customerID = created.id
        _ = try await h.client.call(Cx_Profiles_V1_Customers.deleteCustomer, delete)
        await assertRPCError(.notFound, reason: "CUSTOMER_ERASED") { try await h.get("cust-1") }
        await assertRPCError(.notFound, reason: "CUSTOMER_ERASED") { try await h.get("cust-1") }
        await assertRPCError(.notFound, reason: "CUSTOMER_NOT_FOUND") { try await h.get("nobody") }
    }

    /// Readers hammer one customer while a writer bumps it: once a write is
    /// acknowledged, no read that starts afterwards sees an older version.
    func testReadsRacingWritesNeverGoBackwards() async throws {
        let h = try await ProfilesHarness.start()
        addTeardownBlock { await h.stop() }
        let created = try await h.create { $0.id = "cust-race"; $0.name = "Babak" }
        let acknowledged = Shared<Int64>(created.version)
        let done = Shared(false)
        try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    var reads = 0
                    while !done.value {
                        let floor = acknowledged.value
                        let seen = try await h.get(created.id).version
                        XCTAssertGreaterThanOrEqual(seen, floor, "a read after version \(floor) was acknowledged saw \(seen)")
                        reads += 1
                    }
                    return reads
                }
            }
            group.addTask {
                for round in 1...60 {
                    let updated = try await h.update(created.id, mask: ["city"]) { $0.city = "City \(round)" }
                    acknowledged.value = updated.version
                }
                done.value = true
                return 0
            }
            var reads = 0
            for try await count in group { reads += count }
            XCTAssertGreaterThan(reads, 60)
        }
        let last = try await h.get(created.id)
        XCTAssertEqual(last.city, "City 60")
    }
}

/// A value tasks share.
private final class Shared<Value: Sendable>: Sendable {
    private let state: Mutex<Value>
    init(_ value: Value) { state = Mutex(value) }
    var value: Value {
        get { state.withLock { $0 } }
        set { state.withLock { $0 = newValue } }
    }
}
