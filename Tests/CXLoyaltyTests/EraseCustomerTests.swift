import CXModel
import CXStore
import CXTestSupport
import CXWire
import Foundation
import GRDB
import XCTest

@testable import CXLoyalty

final class EraseCustomerTests: XCTestCase {
    typealias L = Cx_Loyalty_V1_Loyalty

    func erase(_ h: LoyaltyHarness, _ id: String, key: String? = nil) async throws -> UInt64 {
        try await h.client.call(
            L.eraseCustomer, .with {
                $0.customerID = id
                $0.erasedAt = .init(date: h.clock.now)
            }, options: .init(metadata: key.map { ["idempotency-key": $0] } ?? [:])
        ).recordsErased
    }

    /// Rows left under `id` in every table erasure must empty.
    func leftovers(
        _ h: LoyaltyHarness, _ id: String, orders: [String], refunds: [String], redemptions: [String], redemptionKeys: [String] = ["r-1"]
    ) async throws -> [String: Int]
    {
        try await h.service.store.read { db in
            func count(_ sql: String, _ arguments: StatementArguments) throws -> Int { try Int.fetchOne(db, sql: sql, arguments: arguments) ?? -1 }
            func inList(_ values: [String]) -> String { values.map { "'\($0)'" }.joined(separator: ",") }
            return [
                "account": try count("SELECT COUNT(*) FROM account WHERE customer_id = ?", [id]),
                "ledger": try count("SELECT COUNT(*) FROM ledger WHERE customer_id = ?", [id]),
                "purchase": try count("SELECT COUNT(*) FROM purchase WHERE customer_id = ? OR order_id IN (\(inList(orders)))", [id]),
                "refund": try count("SELECT COUNT(*) FROM refund WHERE refund_id IN (\(inList(refunds)))", []),
                "referral": try count("SELECT COUNT(*) FROM referral WHERE referee_id = ? OR referrer_id = ?", [id, id]),
                "referred_by": try count("SELECT COUNT(*) FROM account WHERE referred_by = ?", [id]),
                "redemption": try count("SELECT COUNT(*) FROM redemption WHERE customer_id = ?", [id]),
                "redemption_lot": try count("SELECT COUNT(*) FROM redemption_lot WHERE redemption_id IN (\(inList(redemptions)))", []),
                "tier_decision": try count("SELECT COUNT(*) FROM tier_decision WHERE customer_id = ?", [id]),
                "cx_outbox": try count("SELECT COUNT(*) FROM cx_outbox WHERE ordering_key = ?", [id]),
                // The stored answer to the customer's keyed Redeem (their account and redemption).
                "cx_idempotency": try count(
                    "SELECT COUNT(*) FROM cx_idempotency WHERE scope = 'loyalty.Redeem' AND key IN (\(inList(redemptionKeys)))", []),
            ]
        }
    }

    func testErasureDeletesEverythingUnderTheIDAndNothingElse() async throws {
        let h = try await LoyaltyHarness.start(destinations: [.profiles, .journey])
        addTeardownBlock { await h.stop() }
        _ = try await h.updateProgram { $0.pendingDays = 0 }
        for id in ["gone", "kept", "guide"] { try await h.enroll(id) }
        func refer(_ referrer: String, _ referee: String) async throws {
            _ = try await h.client.call(L.refer, .with {
                $0.referrerID = referrer
                $0.refereeID = referee
            })
        }
        // "gone" is both a referee (of guide) and a referrer (of kept).
        try await refer("guide", "gone")
        try await refer("gone", "kept")
        try await h.purchase("gone", order: "G-1", minorUnits: irr(points: 1_200))  // first purchase, referral, tier up
        try await h.purchase("gone", order: "G-2", minorUnits: irr(points: 100))
        try await h.refund("gone", order: "G-2", refund: "GR-1", minorUnits: irr(points: 40))
        try await h.purchase("kept", order: "K-1", minorUnits: irr(points: 300))  // pays gone a referral bonus too
        let mug = try await h.createReward("Mug", cost: 100, stock: 5)
        let redemption = try await h.redeem("gone", reward: mug.id, key: "r-1").redemption

        let keptBefore = try await h.account("kept")
        let keptLedgerBefore = try await h.ledger("kept")
        let guideBefore = try await h.account("guide")
        XCTAssertEqual(keptBefore.referredBy, "gone")
        let reportBefore = try await h.client.call(L.getReport, .init())
        let outboxOthers = try await h.service.store.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM cx_outbox WHERE ordering_key <> 'gone'") ?? -1
        }
        let before = try await leftovers(h, "gone", orders: ["G-1", "G-2"], refunds: ["GR-1"], redemptions: [redemption.id])
        for (table, rows) in before where table != "referred_by" {
            XCTAssertGreaterThan(rows, 0, "\(table) holds the customer before erasure")
        }

        let erased = try await erase(h, "gone", key: "profiles:erase:gone:loyalty")
        XCTAssertGreaterThan(erased, 0)
        let after = try await leftovers(h, "gone", orders: ["G-1", "G-2"], refunds: ["GR-1"], redemptions: [redemption.id])
        for (table, rows) in after { XCTAssertEqual(rows, 0, "\(table) still holds the erased customer") }
        XCTAssertEqual(Int(erased), before.values.reduce(0, +), "records_erased counts every row deleted or blanked")

        await assertRPCError(.notFound, reason: "ACCOUNT_NOT_FOUND") { try await h.account("gone") }
        await assertRPCError(.notFound, reason: "ACCOUNT_NOT_FOUND") { try await h.ledger("gone") }
        await assertRPCError(.notFound, reason: "REDEMPTION_NOT_FOUND") {
            try await h.client.call(L.cancelRedemption, .with { $0.redemptionID = redemption.id })
        }

        // The others keep their points; the one gone referred no longer names it.
        var keptAfter = try await h.account("kept")
        XCTAssertEqual(keptAfter.referredBy, "")
        keptAfter.referredBy = keptBefore.referredBy
        XCTAssertEqual(keptAfter, keptBefore)
        let keptLedgerAfter = try await h.ledger("kept")
        XCTAssertEqual(keptLedgerAfter, keptLedgerBefore)
        let guideAfter = try await h.account("guide")
        XCTAssertEqual(guideAfter, guideBefore)
        try await h.assertBalanced("kept")
        try await h.assertBalanced("guide")
        let outboxOthersAfter = try await h.service.store.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM cx_outbox") ?? -1
        }
        XCTAssertEqual(outboxOthersAfter, outboxOthers, "only the erased customer's queued events go")

        let report = try await h.client.call(L.getReport, .init())
        XCTAssertEqual(report.totalMembers, reportBefore.totalMembers - 1)
        XCTAssertEqual(report.outstandingPoints, keptAfter.spendablePoints + guideAfter.spendablePoints, "its points are gone with it")
        let mugAfter = try await h.client.call(L.listRewards, .init()).rewards.first { $0.id == mug.id }
        XCTAssertEqual(mugAfter?.stock, 4, "stock is not given back")
        XCTAssertEqual(mugAfter?.redeemed, 1)

        // A redelivery gets the first answer; a new erasure of the id finds nothing.
        let redelivered = try await erase(h, "gone", key: "profiles:erase:gone:loyalty")
        XCTAssertEqual(redelivered, erased)
        let again = try await erase(h, "gone", key: "another-key")
        XCTAssertEqual(again, 0)
        let unknown = try await erase(h, "never-enrolled")
        XCTAssertEqual(unknown, 0)
        await assertRPCError(.invalidArgument, field: "customer_id") { try await erase(h, "") }
        await assertRPCError(.invalidArgument, field: "customer_id") { try await erase(h, "has space") }

        // Loyalty keeps no tombstone: a new enrolment starts from nothing.
        let fresh = try await h.enroll("gone")
        XCTAssertEqual(fresh.spendablePoints, 0)
        XCTAssertEqual(fresh.purchaseCount, 0)
        XCTAssertEqual(fresh.referredBy, "")
        let freshLedger = try await h.ledger("gone")
        XCTAssertEqual(freshLedger, [])
    }
}
