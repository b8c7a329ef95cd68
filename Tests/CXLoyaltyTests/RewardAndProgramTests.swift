import CXTestSupport
import CXModel
import CXWire
import Foundation
import XCTest

@testable import CXLoyalty

/// Rewards, redemptions, program versions, simulation and reports over a real server.
final class RewardAndProgramTests: XCTestCase {
    typealias L = Cx_Loyalty_V1_Loyalty

    /// A harness whose points are spendable at once and with no first-purchase bonus.
    func startSimple() async throws -> LoyaltyHarness {
        let h = try await LoyaltyHarness.start()
        _ = try await h.updateProgram {
            $0.pendingDays = 0
            $0.bonuses.firstPurchase = 0
        }
        return h
    }

    func testRewardCatalogueAndItsBadInput() async throws {
        let h = try await startSimple()
        addTeardownBlock { await h.stop() }
        await assertRPCError(.invalidArgument, field: "reward.cost_points") { try await h.createReward("Mug", cost: 0) }
        await assertRPCError(.invalidArgument, field: "reward.name") { try await h.createReward("", cost: 10) }
        await assertRPCError(.invalidArgument, field: "reward.stock") { try await h.createReward("Mug", cost: 10, stock: -1) }
        await assertRPCError(.invalidArgument, field: "reward.min_tier", messageContains: "bronze, silver, gold, platinum") {
            try await h.createReward("Mug", cost: 10, minTier: "diamond")
        }
        let mug = try await h.createReward("ماگ", cost: 100)
        let lounge = try await h.createReward("Lounge pass", cost: 1_000, stock: 5, minTier: "gold")
        XCTAssertTrue(mug.id.hasPrefix("r-"))
        await assertRPCError(.alreadyExists, reason: "REWARD_EXISTS") {
            try await h.client.call(L.createReward, .with {
                $0.reward = mug
            })
        }
        func list(_ tier: String = "", retired: Bool = false) async throws -> [String] {
            try await h.client.call(L.listRewards, .with {
                $0.eligibleTier = tier
                $0.includeRetired = retired
            }).rewards.map(\.name)
        }
        let silverSees = try await list("silver")
        XCTAssertEqual(silverSees, ["ماگ"])
        let platinumSees = try await list("platinum")
        XCTAssertEqual(Set(platinumSees), ["ماگ", "Lounge pass"])
        await assertRPCError(.invalidArgument, field: "eligible_tier") { try await list("diamond") }

        let updated = try await h.client.call(L.updateReward, .with {
            $0.rewardID = lounge.id
            $0.reward.costPoints = 800
            $0.reward.minTier = "silver"
            $0.updateMask = ["cost_points", "min_tier", "stock"]
        }).reward
        XCTAssertEqual(updated.costPoints, 800)
        XCTAssertFalse(updated.hasStock, "stock named and unset: unlimited")
        XCTAssertEqual(updated.name, "Lounge pass", "fields not named stay")
        await assertRPCError(.invalidArgument, field: "update_mask[0]") {
            try await h.client.call(L.updateReward, .with {
                $0.rewardID = lounge.id
                $0.updateMask = ["retired"]
            })
        }
        await assertRPCError(.invalidArgument, field: "update_mask") {
            try await h.client.call(L.updateReward, .with { $0.rewardID = lounge.id })
        }
        await assertRPCError(.notFound, reason: "REWARD_NOT_FOUND") {
            try await h.client.call(L.updateReward, .with {
                $0.rewardID = "r-none"
                $0.updateMask = ["name"]
                $0.reward.name = "x"
            })
        }
        let retired = try await h.client.call(L.retireReward, .with { $0.rewardID = mug.id }).reward
        XCTAssertTrue(retired.retired)
        let afterRetire = try await list()
        XCTAssertEqual(afterRetire, ["Lounge pass"])
        let withRetired = try await list(retired: true)
        XCTAssertEqual(withRetired.count, 2)
    }

    func testRedemptionNeverOverdrawsAndCancellingGivesEverythingBack() async throws {
        let h = try await startSimple()
        addTeardownBlock { await h.stop() }
        try await h.enroll("c-1")
        try await h.purchase("c-1", order: "A-1", minorUnits: irr(points: 250))
        let mug = try await h.createReward("Mug", cost: 100, stock: 2)
        let lounge = try await h.createReward("Lounge", cost: 10, minTier: "gold")
        let retiredReward = try await h.createReward("Old", cost: 10)
        _ = try await h.client.call(L.retireReward, .with { $0.rewardID = retiredReward.id })

        await assertRPCError(.notFound, reason: "REWARD_NOT_FOUND") { try await h.redeem("c-1", reward: "r-none", key: "k0") }
        await assertRPCError(.notFound, reason: "ACCOUNT_NOT_FOUND") { try await h.redeem("nobody", reward: mug.id, key: "k0") }
        await assertRPCError(.invalidArgument, field: "idempotency_key") { try await h.redeem("c-1", reward: mug.id, key: "") }
        await assertRPCError(.failedPrecondition, reason: "TIER_TOO_LOW") { try await h.redeem("c-1", reward: lounge.id, key: "k0") }
        await assertRPCError(.failedPrecondition, reason: "REWARD_RETIRED") { try await h.redeem("c-1", reward: retiredReward.id, key: "k0") }

        let first = try await h.redeem("c-1", reward: mug.id, key: "k1")
        XCTAssertEqual(first.redemption.code.count, 10)
        XCTAssertTrue(first.redemption.code.allSatisfy { LoyaltyService.codeAlphabet.contains($0) })
        XCTAssertEqual(first.account.spendablePoints, 150)
        let retried = try await h.redeem("c-1", reward: mug.id, key: "k1")
        XCTAssertEqual(retried, first, "a retried redemption spends nothing more")
        await assertRPCError(.failedPrecondition, reason: "IDEMPOTENCY_KEY_REUSED") { try await h.redeem("c-1", reward: lounge.id, key: "k1") }
        _ = try await h.redeem("c-1", reward: mug.id, key: "k2")
        await assertRPCError(.failedPrecondition, reason: "OUT_OF_STOCK") { try await h.redeem("c-1", reward: mug.id, key: "k3") }
        let big = try await h.createReward("TV", cost: 51)
        await assertRPCError(.failedPrecondition, reason: "INSUFFICIENT_POINTS", messageContains: "has 50 spendable points") {
            try await h.redeem("c-1", reward: big.id, key: "k4")
        }

        let cancelled = try await h.client.call(L.cancelRedemption, .with { $0.redemptionID = first.redemption.id })
        XCTAssertTrue(cancelled.redemption.cancelled)
        XCTAssertEqual(cancelled.account.spendablePoints, 150)
        let again = try await h.client.call(L.cancelRedemption, .with { $0.redemptionID = first.redemption.id })
        XCTAssertEqual(again.account.spendablePoints, 150, "cancelling twice gives back once")
        await assertRPCError(.notFound, reason: "REDEMPTION_NOT_FOUND") {
            try await h.client.call(L.cancelRedemption, .with { $0.redemptionID = "d-none" })
        }
        let rewards = try await h.client.call(L.listRewards, .with { $0.includeRetired = true }).rewards
        let mugNow = try XCTUnwrap(rewards.first { $0.id == mug.id })
        XCTAssertEqual(mugNow.stock, 1, "stock back")
        XCTAssertEqual(mugNow.redeemed, 1)
        _ = try await h.redeem("c-1", reward: mug.id, key: "k5")
        try await h.assertBalanced("c-1")
    }

    func testConcurrentRedemptionsNeverTakeTheBalanceBelowZero() async throws {
        let h = try await startSimple()
        addTeardownBlock { await h.stop() }
        try await h.enroll("c-1")
        try await h.purchase("c-1", order: "A-1", minorUnits: irr(points: 1_000))
        let reward = try await h.createReward("Voucher", cost: 300)
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for index in 0..<20 {
                group.addTask { (try? await h.redeem("c-1", reward: reward.id, key: "k\(index)")) != nil }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        XCTAssertEqual(outcomes.filter { $0 }.count, 3, "1,000 points pay for three 300-point vouchers")
        let account = try await h.account("c-1")
        XCTAssertEqual(account.spendablePoints, 100)
        try await h.assertBalanced("c-1")
    }

    func testARewardWhoseTierLeftTheProgramIsForTheTopTierOnly() async throws {
        let h = try await startSimple()
        addTeardownBlock { await h.stop() }
        let lounge = try await h.createReward("Lounge", cost: 10, minTier: "gold")
        _ = try await h.updateProgram { $0.tiers.removeAll { $0.name == "gold" } }
        try await h.enroll("top")
        try await h.purchase("top", order: "T-1", minorUnits: irr(points: 20_000))
        try await h.enroll("mid")
        try await h.purchase("mid", order: "M-1", minorUnits: irr(points: 6_000))
        let tiers = (try await h.account("top").tier, try await h.account("mid").tier)
        XCTAssertEqual(tiers.0, "platinum")
        XCTAssertEqual(tiers.1, "silver")
        func list(_ tier: String) async throws -> [String] {
            try await h.client.call(L.listRewards, .with { $0.eligibleTier = tier }).rewards.map(\.id)
        }
        let platinumSees = try await list("platinum")
        XCTAssertEqual(platinumSees, [lounge.id], "listed for the top tier")
        let silverSees = try await list("silver")
        XCTAssertEqual(silverSees, [], "and no one below it")
        await assertRPCError(.failedPrecondition, reason: "TIER_TOO_LOW", messageContains: "for platinum only") {
            try await h.redeem("mid", reward: lounge.id, key: "k1")
        }
        let redeemed = try await h.redeem("top", reward: lounge.id, key: "k2")
        XCTAssertEqual(redeemed.redemption.points, 10, "the top tier redeems what ListRewards offers it")
        try await h.assertBalanced("top")
    }

    func testAProgramMustKeepTheEarnRateOfEveryCurrencyInUse() async throws {
        let h = try await LoyaltyHarness.start()
        addTeardownBlock { await h.stop() }
        try await h.enroll("c-irr")
        try await h.enroll("c-usd-1", currency: "USD")
        try await h.enroll("c-usd-2", currency: "USD")
        var withoutUSD = try await h.program()
        withoutUSD.earnRates.removeAll { $0.currency == "USD" }
        await assertRPCError(.failedPrecondition, reason: "CURRENCY_IN_USE", messageContains: "USD") {
            try await h.client.call(L.updateProgram, .with { $0.program = withoutUSD })
        }
        await assertRPCError(.failedPrecondition, reason: "CURRENCY_IN_USE", messageContains: "2 accounts") {
            try await h.client.call(L.simulateProgram, .with { $0.program = withoutUSD })
        }
        let unchanged = try await h.program()
        XCTAssertEqual(unchanged.version, 1, "a refused program changes nothing")
        try await h.purchase("c-usd-1", order: "U-1", minorUnits: 1_000, currency: "USD")

        // A currency no account uses may go.
        let withoutEUR = try await h.updateProgram { $0.earnRates.removeAll { $0.currency == "EUR" } }
        XCTAssertEqual(withoutEUR.version, 2)
        XCTAssertEqual(withoutEUR.earnRates.map(\.currency), ["IRR", "USD"])
    }

    func testProgramVersionsAndTheirBadInput() async throws {
        let h = try await LoyaltyHarness.start()
        addTeardownBlock { await h.stop() }
        let v1 = try await h.program()
        XCTAssertEqual(v1.version, 1)
        XCTAssertEqual(v1.tiers.map(\.name), ["bronze", "silver", "gold", "platinum"])
        func update(expected: Int64 = 0, _ change: (inout Cx_Loyalty_V1_Program) -> Void) async throws -> Cx_Loyalty_V1_Program {
            var program = v1
            change(&program)
            return try await h.client.call(L.updateProgram, .with {
                $0.program = program
                $0.expectedVersion = expected
            }).program
        }
        await assertRPCError(.invalidArgument, field: "program.tiers[2].qualifying_points") {
            try await update { $0.tiers[2].qualifyingPoints = 1_000 }
        }
        await assertRPCError(.invalidArgument, field: "program.tiers[0].qualifying_points") {
            try await update { $0.tiers[0].qualifyingPoints = 10 }
        }
        await assertRPCError(.invalidArgument, field: "program.tiers[1].name") { try await update { $0.tiers[1].name = "Gold" } }
        await assertRPCError(.invalidArgument, field: "program.tiers[1].name") { try await update { $0.tiers[1].name = "bronze" } }
        await assertRPCError(.invalidArgument, field: "program.tiers[1].earn_multiplier_percent") {
            try await update { $0.tiers[1].earnMultiplierPercent = 50 }
        }
        await assertRPCError(.invalidArgument, field: "program.tiers[1].benefits[0].percent") {
            try await update { $0.tiers[1].benefits[0].percent = 0 }
        }
        await assertRPCError(.invalidArgument, field: "program.earn_rates[1].currency") {
            try await update { $0.earnRates[1].currency = "IRR" }
        }
        await assertRPCError(.invalidArgument, field: "program.earn_rates") { try await update { $0.earnRates = [] } }
        await assertRPCError(.invalidArgument, field: "program.pending_days") { try await update { $0.pendingDays = -1 } }
        await assertRPCError(.invalidArgument, field: "program.downgrade.grace_periods") {
            try await update { $0.downgrade.gracePeriods = 4 }
        }
        await assertRPCError(.invalidArgument, field: "program.bonuses.goodwill") { try await update { $0.bonuses.goodwill = -1 } }
        let unchanged = try await h.program()
        XCTAssertEqual(unchanged.version, 1, "bad programs change nothing")

        let v2 = try await update(expected: 1) { $0.tiers[1].qualifyingPoints = 800 }
        XCTAssertEqual(v2.version, 2)
        await assertRPCError(.aborted, reason: "VERSION_MISMATCH") { try await update(expected: 1) { $0.pendingDays = 3 } }
        let v3 = try await update { $0.expiryMonths = 0 }
        XCTAssertEqual(v3.expiryMonths, 24, "0 means the default")
        XCTAssertEqual(v3.tiers[1].qualifyingPoints, 1_000, "each version is the whole program sent")
    }

    func testHistoryIsNeverRewrittenByANewProgram() async throws {
        let h = try await LoyaltyHarness.start()
        addTeardownBlock { await h.stop() }
        try await h.enroll("c-1")
        try await h.purchase("c-1", order: "A-1", minorUnits: irr(points: 400))
        _ = try await h.updateProgram { $0.earnRates[0].pointsPerUnit = 3 }
        try await h.purchase("c-1", order: "A-2", minorUnits: irr(points: 400))
        let ledger = try await h.ledger("c-1")
        let purchases = ledger.filter { $0.kind == .purchase }
        XCTAssertEqual(purchases.map(\.points), [1_200, 400])
        XCTAssertEqual(purchases.map(\.programVersion), [2, 1])
    }

    func testSimulationShowsMovesAndLiabilityWithoutChangingAnything() async throws {
        let h = try await startSimple()
        addTeardownBlock { await h.stop() }
        for (id, points) in [("a", 200), ("b", 1_200), ("c", 6_000)] as [(String, Int64)] {
            try await h.enroll(id)
            try await h.purchase(id, order: "O-\(id)", minorUnits: irr(points: points))
        }
        var proposed = try await h.program()
        proposed.tiers[1].qualifyingPoints = 100  // a moves up to silver
        proposed.tiers[2].qualifyingPoints = 7_000  // c would fall to silver
        proposed.tiers[3].qualifyingPoints = 20_000
        proposed.earnRates[0].pointValueMinorUnits *= 2
        proposed.tiers[0].earnMultiplierPercent = 200
        let result = try await h.client.call(L.simulateProgram, .with { $0.program = proposed })
        XCTAssertEqual(result.accountsUp, 1)
        XCTAssertEqual(result.accountsDown, 1)
        XCTAssertEqual(result.accountsUnchanged, 1)
        XCTAssertEqual(result.proposedMembers.map(\.members), [0, 3, 0, 0])
        // b's 1,200 earned at bronze, c's 6,000 at bronze too (one purchase), a's 200.
        XCTAssertEqual(result.outstandingPoints, 7_400)
        XCTAssertEqual(result.liabilityProposed.first?.minorUnits, 2 * (result.liabilityCurrent.first?.minorUnits ?? 0))
        XCTAssertEqual(result.pointsIssuedCurrent, 7_400)
        XCTAssertEqual(result.pointsIssuedProposed, 7_400 * 125 / 100, "all three would be silver (1.25x)")
        let program = try await h.program()
        XCTAssertEqual(program.version, 2, "a simulation changes nothing")
        await assertRPCError(.invalidArgument, field: "program.tiers") {
            try await h.client.call(L.simulateProgram, .with { $0.program.tiers = [] })
        }
    }

    func testSimulationRecountsQualifyingPointsWithTheProposedRates() async throws {
        let h = try await startSimple()
        addTeardownBlock { await h.stop() }
        try await h.enroll("a")
        try await h.purchase("a", order: "A-1", minorUnits: irr(points: 800))
        try await h.refund("a", order: "A-1", refund: "R-1", minorUnits: irr(points: 200))
        try await h.enroll("old")
        try await h.purchase("old", order: "O-1", minorUnits: irr(points: 1_500), at: h.clock.now.addingTimeInterval(-90 * 86_400))
        let tiers = (try await h.account("a").tier, try await h.account("old").tier)
        XCTAssertEqual(tiers.0, "bronze", "600 qualifying points")
        XCTAssertEqual(tiers.1, "silver")
        var proposed = try await h.program()
        proposed.earnRates[0].pointsPerUnit = 2  // a's 600 net becomes 1,200: silver
        proposed.qualificationWindowMonths = 2  // old's purchase leaves the window
        let result = try await h.client.call(L.simulateProgram, .with { $0.program = proposed })
        XCTAssertEqual(result.accountsUp, 1, "a moves up on the proposed rate alone")
        XCTAssertEqual(result.accountsDown, 1)
        XCTAssertEqual(result.accountsUnchanged, 0)
        XCTAssertEqual(result.proposedMembers.map(\.members), [1, 1, 0, 0])
        XCTAssertEqual(result.pointsIssuedCurrent, 600 + 1_500)
        XCTAssertEqual(result.pointsIssuedProposed, 1_200 * 125 / 100, "a's net at 2 points per unit, at silver")
    }

    func testReportCountsMembersLiabilityRedemptionsAndMovements() async throws {
        let h = try await startSimple()
        addTeardownBlock { await h.stop() }
        for (id, points) in [("a", 200), ("b", 1_200), ("c", 6_000)] as [(String, Int64)] {
            try await h.enroll(id)
            try await h.purchase(id, order: "O-\(id)", minorUnits: irr(points: points))
        }
        let reward = try await h.createReward("Voucher", cost: 1_000)
        _ = try await h.redeem("c", reward: reward.id, key: "k1")
        let report = try await h.client.call(L.getReport, .with { $0.top = 2 })
        XCTAssertEqual(report.members.map(\.tier), ["bronze", "silver", "gold", "platinum"])
        XCTAssertEqual(report.members.map(\.members), [1, 1, 1, 0])
        XCTAssertEqual(report.totalMembers, 3)
        XCTAssertEqual(report.outstandingPoints, 6_400)
        XCTAssertEqual(report.liability.first?.minorUnits, 6_400 * 5_000)
        XCTAssertEqual(report.pointsIssued, 7_400)
        XCTAssertEqual(report.pointsRedeemed, 1_000)
        XCTAssertEqual(report.redemptionRateBp, 1_000 * 10_000 / 7_400)
        XCTAssertEqual(report.redeemingMembers, 1)
        XCTAssertEqual(report.topEarners.map(\.customerID), ["c", "b"])
        XCTAssertEqual(report.topEarners.first?.tier, "gold")
        XCTAssertEqual(Set(report.tierMovements.map { "\($0.fromTier)>\($0.toTier)" }), ["bronze>silver", "bronze>gold"])
        await assertRPCError(.invalidArgument, field: "top") { try await h.client.call(L.getReport, .with { $0.top = 101 }) }
        await assertRPCError(.invalidArgument, field: "from") {
            try await h.client.call(L.getReport, .with { $0.from = .init(date: h.clock.now.addingTimeInterval(86_400)) })
        }
    }
}
