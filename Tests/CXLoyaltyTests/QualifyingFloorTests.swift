import CXModel
import CXTestSupport
import CXWire
import Foundation
import GRDB
import XCTest

@testable import CXLoyalty

/// The qualifying sum reads an account's ledger from its floor, not from its
/// first entry; over years of purchases, late-recorded purchases, refunds and
/// windows that grow and shrink, it always equals the sum over the whole ledger.
final class QualifyingFloorTests: XCTestCase {
    typealias L = Cx_Loyalty_V1_Loyalty

    /// What the qualifying points are by definition: every entry of the
    /// account's ledger counting in the window.
    func wholeLedgerSum(_ h: LoyaltyHarness, _ id: String, windowMonths: Int) async throws -> Int64 {
        let start = ProgramRules.adding(months: -windowMonths, to: h.clock.now).timeIntervalSince1970
        return try await h.service.store.read { db in
            try Int64.fetchOne(
                db, sql: "SELECT COALESCE(SUM(qualifying), 0) FROM ledger WHERE customer_id = ? AND counts_at >= ?", arguments: [id, start]) ?? 0
        }
    }

    func floor(_ h: LoyaltyHarness, _ id: String) async throws -> (floor: Int64, entries: Int64) {
        try await h.service.store.read { db in
            (
                try Int64.fetchOne(db, sql: "SELECT qualifying_floor FROM account WHERE customer_id = ?", arguments: [id]) ?? -1,
                try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM ledger WHERE customer_id = ?", arguments: [id]) ?? -1
            )
        }
    }

    func testTheSumFromTheFloorEqualsTheWholeLedgersOverYears() async throws {
        let clock = ManualClock()
        let h = try await LoyaltyHarness.start(clock: clock)
        addTeardownBlock { await h.stop() }
        try await h.enroll("c")
        var random = SplitMix64(seed: 20_261_123)
        var orders: [(id: String, left: Int64)] = []
        var window = 12
        for step in 0..<400 {
            clock.advance(days: Double(random.next() % 5) + 0.37)
            if step % 50 == 49 {
                // The program's window changes; a longer one reaches back past the floor.
                window = [3, 24, 6, 12, 2, 36, 12, 1][step / 50]
                _ = try await h.updateProgram { $0.qualificationWindowMonths = Int32(window) }
            }
            switch random.next() % 10 {
            case 0 where !orders.isEmpty:
                // A refund of part of an earlier order, which counts back at that order's purchase time.
                let index = Int(random.next() % UInt64(orders.count))
                let order = orders[index]
                guard order.left > 0 else { continue }
                let amount = min(order.left, irr(points: Int64(random.next() % 3 + 1) * 50))
                do {
                    try await h.refund("c", order: order.id, refund: "r\(step)", minorUnits: amount)
                    orders[index].left -= amount
                } catch let error as RPCError where error.reason == "ORDER_FULLY_REFUNDED" {
                    orders[index].left = 0
                }
            default:
                // A purchase, sometimes recorded days after it was made.
                let late = random.next() % 4 == 0 ? Double(random.next() % 20) * 86_400 : 0
                let amount = irr(points: Int64(random.next() % 9 + 1) * 100)
                let response = try await h.purchase("c", order: "o\(step)", minorUnits: amount, at: clock.now.addingTimeInterval(-late))
                orders.append(("o\(step)", amount))
                let expected = try await wholeLedgerSum(h, "c", windowMonths: window)
                XCTAssertEqual(response.account.qualifyingPoints, expected, "purchase at step \(step), window \(window) months")
            }
            let read = try await h.account("c").qualifyingPoints
            let expected = try await wholeLedgerSum(h, "c", windowMonths: window)
            XCTAssertEqual(read, expected, "GetAccount at step \(step), window \(window) months")
            if read != expected { return }
        }
        // Years of history behind it: the floor has moved well past the first entries.
        let (floor, entries) = try await floor(h, "c")
        XCTAssertGreaterThan(floor, entries / 3, "the floor stayed near the start of \(entries) entries")
    }
}
