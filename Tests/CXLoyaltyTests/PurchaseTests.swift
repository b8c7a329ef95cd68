import CXTestSupport
import CXModel
import CXStore
import CXWire
import Foundation
import GRDB
import XCTest

@testable import CXLoyalty

/// Enrolment, purchases, refunds, bonuses and referrals over a real server.
final class PurchaseTests: XCTestCase {
    typealias L = Cx_Loyalty_V1_Loyalty

    func testEnrollAndItsBadInput() async throws {
        let h = try await LoyaltyHarness.start()
        addTeardownBlock { await h.stop() }
        let account = try await h.enroll("c-1")
        XCTAssertEqual(account.tier, "bronze")
        XCTAssertEqual(account.currency, "IRR", "the program's first earn rate")
        XCTAssertEqual(account.progress.nextTier, "silver")
        XCTAssertEqual(account.progress.pointsNeeded, 1_000)
        XCTAssertEqual(account.progress.spendNeeded.minorUnits, irr(points: 1_000))
        XCTAssertEqual(account.nextReviewAt.date, ProgramRules.adding(months: 12, to: h.clock.now))

        await assertRPCError(.alreadyExists, reason: "ACCOUNT_EXISTS") { try await h.enroll("c-1") }
        await assertRPCError(.invalidArgument, field: "customer_id") { try await h.enroll("") }
        await assertRPCError(.invalidArgument, field: "customer_id") { try await h.enroll("has space") }
        await assertRPCError(.invalidArgument, field: "currency") { try await h.enroll("c-2", currency: "usd") }
        await assertRPCError(.invalidArgument, field: "currency", messageContains: "GBP has no earn rate") {
            try await h.enroll("c-2", currency: "GBP")
        }
        await assertRPCError(.notFound, reason: "ACCOUNT_NOT_FOUND") { try await h.account("c-2") }
        let value1 = try await h.enroll("c-2", currency: "USD").currency
        XCTAssertEqual(value1, "USD")
    }

    func testPurchaseEarnsPendingPointsThatBecomeSpendable() async throws {
        let h = try await LoyaltyHarness.start()
        addTeardownBlock { await h.stop() }
        try await h.enroll("c-1")
        let bought = try await h.purchase("c-1", order: "A-1", minorUnits: irr(points: 300) + 99_999)
        XCTAssertEqual(bought.points, 300, "whole units only, rounded down")
        XCTAssertEqual(bought.bonusPoints, 100, "the first-purchase bonus")
        XCTAssertEqual(bought.account.pendingPoints, 300)
        XCTAssertEqual(bought.account.spendablePoints, 100, "bonuses are spendable at once")
        XCTAssertEqual(bought.account.qualifyingPoints, 300)
        XCTAssertEqual(bought.account.purchaseCount, 1)
        XCTAssertEqual(bought.availableAt.date, h.clock.now.addingTimeInterval(14 * 86_400))
        h.clock.advance(days: 13.9)
        let value2 = try await h.account("c-1").pendingPoints
        XCTAssertEqual(value2, 300)
        h.clock.advance(days: 0.2)
        let later = try await h.account("c-1")
        XCTAssertEqual(later.pendingPoints, 0)
        XCTAssertEqual(later.spendablePoints, 400)

        let second = try await h.purchase("c-1", order: "A-2", minorUnits: irr(points: 50))
        XCTAssertEqual(second.bonusPoints, 0, "the first-purchase bonus is given once")
        let ledger = try await h.ledger("c-1")
        XCTAssertEqual(ledger.map(\.kind), [.purchase, .bonus, .purchase])
        XCTAssertEqual(ledger.map(\.sequence), [3, 2, 1], "newest first")
        XCTAssertEqual(ledger.first?.balanceAfter, 450)
        try await h.assertBalanced("c-1")
    }

    func testPurchaseBadInputChangesNothing() async throws {
        let h = try await LoyaltyHarness.start()
        addTeardownBlock { await h.stop() }
        try await h.enroll("c-1")
        await assertRPCError(.notFound, reason: "ACCOUNT_NOT_FOUND") { try await h.purchase("nobody", order: "A-1", minorUnits: 1_000) }
        await assertRPCError(.invalidArgument, field: "amount.minor_units") { try await h.purchase("c-1", order: "A-1", minorUnits: 0) }
        await assertRPCError(.invalidArgument, field: "amount.minor_units") { try await h.purchase("c-1", order: "A-1", minorUnits: -5) }
        await assertRPCError(.invalidArgument, field: "amount.minor_units", messageContains: "at most") {
            try await h.purchase("c-1", order: "A-1", minorUnits: 1_000_000_000_000_001)
        }
        await assertRPCError(.invalidArgument, field: "amount.currency") {
            try await h.purchase("c-1", order: "A-1", minorUnits: 1_000, currency: "RIAL")
        }
        await assertRPCError(.invalidArgument, field: "amount.currency", messageContains: "keeps its spend in IRR") {
            try await h.purchase("c-1", order: "A-1", minorUnits: 1_000, currency: "USD")
        }
        await assertRPCError(.invalidArgument, field: "order_id") { try await h.purchase("c-1", order: "", minorUnits: 1_000) }
        await assertRPCError(.invalidArgument, field: "amount") {
            try await h.client.call(L.recordPurchase, .with {
                $0.customerID = "c-1"
                $0.orderID = "A-1"
            })
        }
        await assertRPCError(.invalidArgument, field: "purchased_at") {
            try await h.purchase("c-1", order: "A-1", minorUnits: 1_000, at: h.clock.now.addingTimeInterval(3_600))
        }
        await assertRPCError(.invalidArgument, field: "purchased_at") {
            try await h.purchase("c-1", order: "A-1", minorUnits: 1_000, at: h.clock.now.addingTimeInterval(-400 * 86_400))
        }
        let value3 = try await h.ledger("c-1").count
        XCTAssertEqual(value3, 0)
        let value4 = try await h.account("c-1").purchaseCount
        XCTAssertEqual(value4, 0)

        // A currency the program stops earning in. UpdateProgram refuses that
        // while an account keeps its spend in it (CURRENCY_IN_USE), so only a
        // store made before that check holds such a program: write it directly.
        try await h.enroll("c-usd", currency: "USD")
        try await h.service.store.write { db in
            var program = try h.service.programs.value(db)
            program.version += 1
            program.earnRates.removeAll { $0.currency == "USD" }
            try db.execute(
                sql: "INSERT INTO program (version, effective_at, body) VALUES (?, ?, ?)",
                arguments: [program.version, h.clock.now.timeIntervalSince1970, try RecordBody(program)])
        }
        await assertRPCError(.failedPrecondition, reason: "NO_EARN_RATE") {
            try await h.purchase("c-usd", order: "U-1", minorUnits: 1_000, currency: "USD")
        }
    }

    func testOrderIDIsTheIdempotencyKey() async throws {
        let h = try await LoyaltyHarness.start()
        addTeardownBlock { await h.stop() }
        try await h.enroll("c-1")
        let first = try await h.purchase("c-1", order: "A-1", minorUnits: irr(points: 200))
        h.clock.advance(days: 1)
        let retry = try await h.purchase("c-1", order: "A-1", minorUnits: irr(points: 200))
        XCTAssertEqual(retry, first, "a retry gets the first answer")
        await assertRPCError(.failedPrecondition, reason: "IDEMPOTENCY_KEY_REUSED") {
            try await h.purchase("c-1", order: "A-1", minorUnits: irr(points: 201))
        }
        try await h.enroll("c-2")
        await assertRPCError(.failedPrecondition, reason: "IDEMPOTENCY_KEY_REUSED") {
            try await h.purchase("c-2", order: "A-1", minorUnits: irr(points: 200))
        }
        let account = try await h.account("c-1")
        XCTAssertEqual(account.purchaseCount, 1)
        XCTAssertEqual(account.pendingPoints + account.spendablePoints, 300)
        let value5 = try await h.account("c-2").purchaseCount
        XCTAssertEqual(value5, 0)
        try await h.assertBalanced("c-1")
    }

    func testRefundsTakeBackWhatTheOrderEarnedAndNoMore() async throws {
        let h = try await LoyaltyHarness.start()
        addTeardownBlock { await h.stop() }
        try await h.enroll("c-1")
        _ = try await h.updateProgram { $0.bonuses.firstPurchase = 0 }
        try await h.purchase("c-1", order: "A-1", minorUnits: irr(points: 1_001))
        let value6 = try await h.account("c-1").tier
        XCTAssertEqual(value6, "silver")
        // Three partial refunds add up to the whole order: exactly what it earned comes back.
        let r1 = try await h.refund("c-1", order: "A-1", refund: "R-1", minorUnits: irr(points: 333))
        XCTAssertEqual(r1.points, 333)
        XCTAssertEqual(r1.remaining.minorUnits, irr(points: 668))
        await assertRPCError(.invalidArgument, field: "amount.minor_units", messageContains: "more than") {
            try await h.refund("c-1", order: "A-1", refund: "R-2", minorUnits: irr(points: 669))
        }
        await assertRPCError(.invalidArgument, field: "amount.currency") {
            try await h.refund("c-1", order: "A-1", refund: "R-2", minorUnits: 100, currency: "USD")
        }
        await assertRPCError(.notFound, reason: "ORDER_NOT_FOUND") { try await h.refund("c-1", order: "A-9", refund: "R-2") }
        try await h.enroll("c-2")
        await assertRPCError(.notFound, reason: "ORDER_NOT_FOUND") { try await h.refund("c-2", order: "A-1", refund: "R-2") }
        let r2 = try await h.refund("c-1", order: "A-1", refund: "R-2", minorUnits: irr(points: 333))
        let value7 = try await h.refund("c-1", order: "A-1", refund: "R-2", minorUnits: irr(points: 333))
        XCTAssertEqual(value7, r2, "a retried refund")
        await assertRPCError(.failedPrecondition, reason: "IDEMPOTENCY_KEY_REUSED") {
            try await h.refund("c-1", order: "A-1", refund: "R-2", minorUnits: irr(points: 1))
        }
        try await h.purchase("c-2", order: "B-1", minorUnits: irr(points: 100))
        await assertRPCError(.failedPrecondition, reason: "IDEMPOTENCY_KEY_REUSED") {
            try await h.refund("c-2", order: "B-1", refund: "R-2")
        }
        let r3 = try await h.refund("c-1", order: "A-1", refund: "R-3")
        XCTAssertEqual(r1.points + r2.points + r3.points, 1_001)
        XCTAssertEqual(r3.remaining.minorUnits, 0)
        await assertRPCError(.failedPrecondition, reason: "ORDER_FULLY_REFUNDED") { try await h.refund("c-1", order: "A-1", refund: "R-4") }
        let account = try await h.account("c-1")
        XCTAssertEqual(account.pendingPoints + account.spendablePoints, 0)
        XCTAssertEqual(account.qualifyingPoints, 0)
        XCTAssertEqual(account.lifetimeSpend.minorUnits, 0)
        XCTAssertEqual(account.tier, "silver", "tiers move down only at the yearly review")
        try await h.assertBalanced("c-1")
    }

    func testARefundOfSpentPointsTakesWhatIsLeftAndReportsTheShortfall() async throws {
        let h = try await LoyaltyHarness.start()
        addTeardownBlock { await h.stop() }
        _ = try await h.updateProgram {
            $0.pendingDays = 0
            $0.bonuses.firstPurchase = 0
        }
        try await h.enroll("c-1")
        try await h.purchase("c-1", order: "A-1", minorUnits: irr(points: 500))
        let reward = try await h.createReward("Mug", cost: 400)
        _ = try await h.redeem("c-1", reward: reward.id, key: "k-1")
        let refund = try await h.refund("c-1", order: "A-1", refund: "R-1")
        XCTAssertEqual(refund.points, 100)
        XCTAssertEqual(refund.shortfall, 400)
        XCTAssertEqual(refund.account.spendablePoints, 0)
        try await h.assertBalanced("c-1")
    }

    func testBonusesAndTheirBadInput() async throws {
        let h = try await LoyaltyHarness.start()
        addTeardownBlock { await h.stop() }
        try await h.enroll("c-1")
        func award(_ reason: Cx_Loyalty_V1_BonusReason, key: String, note: String = "") async throws -> Cx_Loyalty_V1_AwardBonusResponse {
            try await h.client.call(L.awardBonus, .with {
                $0.customerID = "c-1"
                $0.reason = reason
                $0.idempotencyKey = key
                $0.note = note
            })
        }
        let review = try await award(.review, key: "review-A-1", note: "نظر درباره سفارش A-1")
        XCTAssertEqual(review.points, 50)
        XCTAssertEqual(review.account.spendablePoints, 50)
        let value8 = try await award(.review, key: "review-A-1", note: "نظر درباره سفارش A-1")
        XCTAssertEqual(value8, review, "a retried bonus")
        await assertRPCError(.failedPrecondition, reason: "IDEMPOTENCY_KEY_REUSED") { try await award(.goodwill, key: "review-A-1") }
        await assertRPCError(.invalidArgument, field: "idempotency_key") { try await award(.survey, key: "") }
        await assertRPCError(.invalidArgument, field: "reason") { try await award(.unspecified, key: "k") }
        await assertRPCError(.invalidArgument, field: "reason") { try await award(.referral, key: "k") }
        await assertRPCError(.invalidArgument, field: "reason") { try await award(.firstPurchase, key: "k") }
        await assertRPCError(.invalidArgument, field: "note") { try await award(.survey, key: "k", note: String(repeating: "x", count: 201)) }
        _ = try await h.updateProgram { $0.bonuses.birthday = 0 }
        await assertRPCError(.failedPrecondition, reason: "BONUS_NOT_OFFERED") { try await award(.birthday, key: "bday-2026") }
        let value9 = try await award(.goodwill, key: "complaint-7").points
        XCTAssertEqual(value9, 300)
        let value10 = try await h.account("c-1").spendablePoints
        XCTAssertEqual(value10, 350)
        let ledger = try await h.ledger("c-1")
        XCTAssertEqual(ledger.last?.description_p, "review bonus: نظر درباره سفارش A-1")
        try await h.assertBalanced("c-1")
    }

    func testAReferralPaysBothOnceAtTheRefereesFirstPurchase() async throws {
        let h = try await LoyaltyHarness.start()
        addTeardownBlock { await h.stop() }
        for id in ["ali", "sara", "reza"] { try await h.enroll(id) }
        func refer(_ referrer: String, _ referee: String) async throws -> Cx_Loyalty_V1_ReferResponse {
            try await h.client.call(L.refer, .with {
                $0.referrerID = referrer
                $0.refereeID = referee
            })
        }
        let value11 = try await refer("ali", "sara").bonusPoints
        XCTAssertEqual(value11, 500)
        await assertRPCError(.alreadyExists, reason: "ALREADY_REFERRED") { try await refer("reza", "sara") }
        await assertRPCError(.invalidArgument, field: "referee_id") { try await refer("ali", "ali") }
        await assertRPCError(.notFound, reason: "ACCOUNT_NOT_FOUND") { try await refer("ali", "nobody") }
        await assertRPCError(.failedPrecondition, reason: "REFERRAL_CYCLE") { try await refer("sara", "ali") }
        try await h.purchase("reza", order: "Z-1", minorUnits: irr(points: 10))
        await assertRPCError(.failedPrecondition, reason: "REFEREE_HAS_PURCHASED") { try await refer("ali", "reza") }

        let first = try await h.purchase("sara", order: "S-1", minorUnits: irr(points: 10))
        XCTAssertEqual(first.bonusPoints, 600, "first purchase 100 + referral 500")
        XCTAssertEqual(first.account.referredBy, "ali")
        try await h.purchase("sara", order: "S-2", minorUnits: irr(points: 10))
        let value12 = try await h.account("ali").spendablePoints
        XCTAssertEqual(value12, 500, "the referrer's bonus, once")
        let value13 = try await h.account("sara").spendablePoints
        XCTAssertEqual(value13, 600)
        for id in ["ali", "sara", "reza"] { try await h.assertBalanced(id) }
    }

    func testEventsForProfilesAndJourneyAreWrittenWithTheChange() async throws {
        let h = try await LoyaltyHarness.start(destinations: [.profiles, .journey])
        addTeardownBlock { await h.stop() }
        try await h.enroll("c-1")
        try await h.purchase("c-1", order: "A-1", minorUnits: irr(points: 1_200))
        let due = try await h.service.store.outboxDue(limit: 100)
        XCTAssertEqual(Set(due.map(\.event.orderingKey)), ["c-1"])
        // The relay hands out the oldest per (destination, customer): walk the rows instead.
        let rows: [(destination: String, method: String, payload: Data)] = try await h.service.store.read { db in
            try Row.fetchAll(db, sql: "SELECT destination, method, payload FROM cx_outbox ORDER BY sequence").map { row in
                (
                    row["destination"], row["method"],
                    try row.decode(RecordBody.self, forColumn: "payload").bytes(table: "cx_outbox", key: "")
                )
            }
        }
        let traits = try rows.filter { $0.destination == "profiles" }.map { try Cx_Profiles_V1_UpdateTraitsRequest(serializedBytes: $0.payload) }
        XCTAssertEqual(traits.count, 2, "enrolment, then the purchase that moved the tier to silver (one event for both)")
        XCTAssertEqual(traits.last?.traits.tier, "silver")
        XCTAssertEqual(traits.last?.traits.purchaseCount, 1)
        XCTAssertEqual(traits.last?.traits.lifetimeSpend.minorUnits, irr(points: 1_200))
        XCTAssertEqual(traits.last?.source, "loyalty")
        XCTAssertEqual(Set(traits.map(\.eventID)).count, 2, "unique event ids")
        try await h.purchase("c-1", order: "A-2", minorUnits: irr(points: 10))
        let after = try await h.service.store.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM cx_outbox WHERE destination = 'profiles'") ?? 0
        }
        XCTAssertEqual(after, 3, "a purchase that moves no tier sends its traits once")
        let journey = try rows.filter { $0.destination == "journey" }.map { try Cx_Loyalty_V1_LoyaltyEvent(serializedBytes: $0.payload) }
        XCTAssertEqual(journey.map(\.kind), [.enrolled, .firstPurchase, .tierChanged])
        XCTAssertEqual(rows.first { $0.destination == "journey" }?.method, LoyaltyEvents.journeyMethod)
    }
}
