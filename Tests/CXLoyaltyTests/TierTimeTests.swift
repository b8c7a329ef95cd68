import CXTestSupport
import CXModel
import CXWire
import Foundation
import XCTest

@testable import CXLoyalty

/// Years of a customer's life in the program, moved through with the injected clock.
final class TierTimeTests: XCTestCase {
    typealias L = Cx_Loyalty_V1_Loyalty

    /// 2026-01-01 plus `days`, plus `hours`.
    func day(_ days: Double, hours: Double = 0) -> Date {
        Date(timeIntervalSince1970: 1_767_225_600 + days * 86_400 + hours * 3_600)
    }

    func date(_ text: String, hours: Double = 1) -> Date {
        let parts = text.split(separator: "-").map { Int($0)! }
        let components = DateComponents(year: parts[0], month: parts[1], day: parts[2])
        return ProgramRules.calendar.date(from: components)!.addingTimeInterval(hours * 3_600)
    }

    func evaluateAll(_ h: LoyaltyHarness) async throws -> Cx_Loyalty_V1_EvaluateTiersResponse {
        try await h.client.call(L.evaluateTiers, .with { $0.pageSize = 10 })
    }

    func expire(_ h: LoyaltyHarness) async throws -> Int64 {
        try await h.client.call(L.expirePoints, .init()).pointsExpired
    }

    func testRiseToSilverAndGoldThenQuietGraceAndDowngradesWhilePointsMatureAndExpire() async throws {
        let clock = ManualClock(day(0))
        let h = try await LoyaltyHarness.start(clock: clock)
        addTeardownBlock { await h.stop() }
        try await h.enroll("maryam")
        try await h.enroll("quiet")  // never buys: stays bronze, nothing to move

        // Day 30: 1,500 points at bronze, pending for 14 days; silver at once.
        clock.set(day(30))
        let first = try await h.purchase("maryam", order: "A-1", minorUnits: irr(points: 1_500))
        XCTAssertEqual(first.newTier, "silver")
        XCTAssertEqual(first.account.pendingPoints, 1_500)
        XCTAssertEqual(first.account.spendablePoints, 100, "first-purchase bonus")
        clock.set(day(43.9))
        let stillPending = try await h.account("maryam")
        XCTAssertEqual(stillPending.pendingPoints, 1_500)
        clock.set(day(44.1))
        let matured = try await h.account("maryam")
        XCTAssertEqual(matured.pendingPoints, 0)
        XCTAssertEqual(matured.spendablePoints, 1_600, "pending points became spendable on schedule")

        // Day 60: 4,000 base points at silver's 1.25x; 5,500 qualifying reach gold.
        clock.set(day(60))
        let second = try await h.purchase("maryam", order: "A-2", minorUnits: irr(points: 4_000))
        XCTAssertEqual(second.points, 5_000)
        XCTAssertEqual(second.newTier, "gold")
        XCTAssertEqual(second.account.progress.nextTier, "platinum")
        XCTAssertEqual(second.account.progress.pointsNeeded, 20_000 - 5_500)
        XCTAssertEqual(second.account.progress.percent, 27)

        // First anniversary: the purchases are inside the window, gold is kept.
        clock.set(date("2027-01-01"))
        let year1 = try await evaluateAll(h)
        XCTAssertEqual(year1.evaluated, 2)
        XCTAssertEqual(year1.nextPageToken, "", "two accounts fill a page of 10 and no next page is offered")
        let exact = try await h.client.call(L.evaluateTiers, .with { $0.pageSize = 2 })
        XCTAssertEqual(exact.evaluated, 2)
        XCTAssertEqual(exact.nextPageToken, "", "a page that holds exactly the last accounts is the last page")
        XCTAssertEqual([year1.up, year1.down, year1.grace], [0, 0, 0])
        let value1 = try await h.account("maryam").tier
        XCTAssertEqual(value1, "gold")

        // Mid-year, quiet: short of gold, but tiers fall only at the yearly review.
        clock.set(date("2027-06-01"))
        let midYear = try await h.client.call(L.evaluateTiers, .with { $0.customerID = "maryam" }).decisions[0]
        XCTAssertEqual(midYear.outcome, .unchanged)
        XCTAssertEqual(
            midYear.reason,
            "gold: 0 qualifying points in the last 12 months, below its threshold of 5,000; tiers move down only at the yearly review, next on 2028-01-01")

        // Second anniversary, a year without purchases: the grace period.
        clock.set(date("2028-01-01"))
        let year2 = try await evaluateAll(h)
        XCTAssertEqual(year2.grace, 1)
        XCTAssertEqual(year2.decisions.first?.outcome, .grace)
        XCTAssertEqual(
            year2.decisions.first?.reason,
            "gold kept on a grace period: 0 qualifying points in the last 12 months, below its threshold of 5,000; no grace periods left: without 5,000 by 2029-01-01 the tier moves down to silver")
        let graced = try await h.account("maryam")
        XCTAssertEqual(graced.tier, "gold")
        XCTAssertEqual(graced.graceRemaining, 0)

        // Points expire 24 months after they were earned: day 30's on 2028-01-31, day 60's on 2028-03-02.
        clock.set(date("2028-01-30"))
        let none = try await expire(h)
        XCTAssertEqual(none, 0)
        let value2 = try await h.account("maryam").expiringSoonPoints
        XCTAssertEqual(value2, 1_600, "day 30's points expire within 30 days; day 60's in 32")
        clock.set(date("2028-02-01"))
        let firstExpiry = try await expire(h)
        XCTAssertEqual(firstExpiry, 1_600)
        let value3 = try await h.account("maryam").spendablePoints
        XCTAssertEqual(value3, 5_000)
        clock.set(date("2028-03-03"))
        let secondExpiry = try await expire(h)
        XCTAssertEqual(secondExpiry, 5_000)
        let value4 = try await expire(h)
        XCTAssertEqual(value4, 0, "expiring twice takes nothing more")
        try await h.assertBalanced("maryam")

        // Third anniversary: down one tier, no grace left.
        clock.set(date("2029-01-01"))
        let year3 = try await evaluateAll(h)
        XCTAssertEqual(year3.down, 1)
        XCTAssertEqual(
            year3.decisions.first?.reason,
            "silver: 0 qualifying points in the last 12 months, below gold's threshold of 5,000; tiers move down one at a time at the yearly review")
        // Fourth: one more.
        clock.set(date("2030-01-01"))
        let value5 = try await evaluateAll(h).down
        XCTAssertEqual(value5, 1)
        let value6 = try await h.account("maryam").tier
        XCTAssertEqual(value6, "bronze")
        clock.set(date("2031-01-01"))
        let value7 = try await evaluateAll(h).down
        XCTAssertEqual(value7, 0, "bronze is the floor")

        let history = try await h.client.call(L.listTierDecisions, .with { $0.customerID = "maryam" }).decisions
        XCTAssertEqual(
            history.map { "\($0.fromTier)>\($0.toTier):\($0.outcome)" },
            [
                "bronze>bronze:unchanged", "silver>bronze:down", "gold>silver:down", "gold>gold:grace", "gold>gold:unchanged",
                "silver>gold:up", "bronze>silver:up",
            ])
        XCTAssertEqual(history.last?.reason, "silver: 1,500 qualifying points in the last 12 months, threshold 1,000")
        let ledger = try await h.ledger("maryam")
        XCTAssertEqual(ledger.filter { $0.kind == .expiry }.map(\.points), [-5_000, -1_600])
    }

    func testQualifyingAgainRestoresTheGrace() async throws {
        let clock = ManualClock(day(0))
        let h = try await LoyaltyHarness.start(clock: clock)
        addTeardownBlock { await h.stop() }
        try await h.enroll("c")
        clock.set(day(30))
        try await h.purchase("c", order: "A-1", minorUnits: irr(points: 1_200))
        clock.set(date("2027-01-01"))
        _ = try await evaluateAll(h)
        clock.set(date("2028-01-01"))
        let value8 = try await evaluateAll(h).grace
        XCTAssertEqual(value8, 1)
        clock.set(date("2028-06-01"))
        try await h.purchase("c", order: "A-2", minorUnits: irr(points: 1_200))
        clock.set(date("2029-01-01"))
        _ = try await evaluateAll(h)
        let account = try await h.account("c")
        XCTAssertEqual(account.tier, "silver")
        XCTAssertEqual(account.graceRemaining, 1, "qualifying at a review restores the grace")
    }
}
