import CXModel
import Foundation
import XCTest

@testable import CXProfiles

final class RFMTests: XCTestCase {
    private let now = Date(timeIntervalSince1970: 1_750_000_000)
    private let day: TimeInterval = 86_400

    private func buyer(_ id: String, daysAgo: Double, count: Int, spend: Int64) -> RFMInput {
        RFMInput(id: id, lastPurchase: now - daysAgo * day, purchaseCount: count, lifetimeSpend: spend)
    }

    /// Ten buyers, c1 worst and c10 best on every dimension.
    private var tenBuyers: [RFMInput] {
        (1...10).map { i in buyer("c\(i)", daysAgo: Double(11 - i), count: i, spend: Int64(i) * 1_000) }
    }

    // MARK: - Quintiles

    func testQuintilesOfAKnownPopulation() {
        let scores = RFM.score(tenBuyers, now: now)
        // Position p of 10 scores 1 + ⌊5p/10⌋: two customers per quintile.
        let expected = [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
        for (i, score) in expected.enumerated() {
            XCTAssertEqual(scores["c\(i + 1)"], RFMScore(recency: score, frequency: score, monetary: score), "c\(i + 1)")
        }
    }

    func testDimensionsAreScoredIndependently() {
        // Most recent but rarest and cheapest, and the other way round.
        let customers = [
            buyer("new", daysAgo: 1, count: 1, spend: 100),
            buyer("old", daysAgo: 300, count: 40, spend: 900_000),
        ]
        let scores = RFM.score(customers, now: now)
        // Of two, the better sits at position 1 and scores 1 + ⌊5/2⌋ = 3.
        XCTAssertEqual(scores["new"], RFMScore(recency: 3, frequency: 1, monetary: 1))
        XCTAssertEqual(scores["old"], RFMScore(recency: 1, frequency: 3, monetary: 3))
    }

    func testTiesScoreTheSameByTheFirstOfEqualValues() {
        // Counts 1,1,1,1,1,1,2,3,4,5: the six 1s sit at positions 0–5 and all score 1.
        let counts = [1, 1, 1, 1, 1, 1, 2, 3, 4, 5]
        let customers = counts.enumerated().map { i, count in
            buyer("c\(i)", daysAgo: 5, count: count, spend: 500)
        }
        let scores = RFM.score(customers, now: now)
        XCTAssertEqual(counts.indices.compactMap { scores["c\($0)"]?.frequency }, [1, 1, 1, 1, 1, 1, 4, 4, 5, 5])
        // Everyone equal on recency and spend: everyone scores 1 there.
        XCTAssertTrue(scores.values.allSatisfy { $0.recency == 1 && $0.monetary == 1 })

        // Ties at the top: the first 5 sits at position 4 of 10, so all the 5s score 3.
        let topTied = [1, 2, 3, 4, 5, 5, 5, 5, 5, 5].enumerated().map { i, count in
            buyer("t\(i)", daysAgo: 5, count: count, spend: 500)
        }
        let topScores = RFM.score(topTied, now: now)
        XCTAssertEqual((0..<10).compactMap { topScores["t\($0)"]?.frequency }, [1, 1, 2, 2, 3, 3, 3, 3, 3, 3])
    }

    func testCustomersWithoutPurchasesScoreOnesAndDoNotShiftTheOthers() {
        let never = (1...90).map { RFMInput(id: "n\($0)", lastPurchase: nil, purchaseCount: 0, lifetimeSpend: 0) }
        let scores = RFM.score(tenBuyers + never, now: now)
        XCTAssertEqual(scores.count, 100)
        for i in 1...90 { XCTAssertEqual(scores["n\(i)"], .lowest) }
        XCTAssertEqual(scores["c10"], RFMScore(recency: 5, frequency: 5, monetary: 5))
        XCTAssertEqual(scores["c5"], RFMScore(recency: 3, frequency: 3, monetary: 3))

        // Inconsistent records count as no purchase.
        let quintiles = RFM.quintiles(tenBuyers, now: now)
        XCTAssertEqual(
            quintiles.score(for: RFMInput(id: "x", lastPurchase: nil, purchaseCount: 3, lifetimeSpend: 9_000), now: now),
            .lowest)
        XCTAssertEqual(
            quintiles.score(for: RFMInput(id: "y", lastPurchase: now, purchaseCount: 0, lifetimeSpend: 0), now: now),
            .lowest)
    }

    func testSmallPopulations() {
        XCTAssertEqual(RFM.score([], now: now), [:])
        let one = buyer("only", daysAgo: 1, count: 1, spend: 1)
        XCTAssertEqual(RFM.score([one], now: now), ["only": .lowest])

        let empty = RFM.quintiles([], now: now)
        XCTAssertEqual(empty.populationCount, 0)
        XCTAssertEqual(empty.frequencyCuts, [])
        XCTAssertEqual(empty.score(for: one, now: now), .lowest)
    }

    func testCutPoints() {
        let quintiles = RFM.quintiles(tenBuyers, now: now)
        XCTAssertEqual(quintiles.populationCount, 10)
        XCTAssertEqual(quintiles.frequencyCuts, [2, 4, 6, 8])
        XCTAssertEqual(quintiles.monetaryCuts, [2_000, 4_000, 6_000, 8_000])
        XCTAssertEqual(quintiles.recencyAgeCuts, [9 * day, 7 * day, 5 * day, 3 * day])
    }

    func testSingleCustomerScoringAgainstPrecomputedCutPoints() {
        let quintiles = RFM.quintiles(tenBuyers, now: now)
        let scores = RFM.score(tenBuyers, now: now)
        for customer in tenBuyers {
            XCTAssertEqual(quintiles.score(for: customer, now: now), scores[customer.id], customer.id)
        }
        // A week later, someone who bought yesterday is as recent as the best were then;
        // someone who bought 20 days ago is as stale as the worst.
        let later = now + 7 * day
        let fresh = RFMInput(id: "fresh", lastPurchase: later - day, purchaseCount: 7, lifetimeSpend: 10_000)
        XCTAssertEqual(quintiles.score(for: fresh, now: later), RFMScore(recency: 5, frequency: 4, monetary: 5))
        let stale = RFMInput(id: "stale", lastPurchase: later - 20 * day, purchaseCount: 1, lifetimeSpend: 1)
        XCTAssertEqual(quintiles.score(for: stale, now: later), .lowest)
        // A purchase dated after `now` (a clock ahead) counts as just now.
        let ahead = RFMInput(id: "ahead", lastPurchase: now + day, purchaseCount: 1, lifetimeSpend: 1)
        XCTAssertEqual(quintiles.score(for: ahead, now: now).recency, 5)
    }

    /// The cut points reproduce the positional rule on populations full of ties.
    func testCutPointsMatchThePositionalRule() {
        var generator = SplitMix64(seed: 7)
        for size in [1, 2, 3, 4, 5, 6, 7, 9, 13, 50, 101] {
            let customers = (0..<size).map { i in
                buyer(
                    "c\(i)", daysAgo: Double(Int.random(in: 0...6, using: &generator)),
                    count: Int.random(in: 1...4, using: &generator),
                    spend: Int64.random(in: -2...8, using: &generator) * 100)
            }
            let scores = RFM.score(customers, now: now)
            func positional(_ value: (RFMInput) -> Double) -> [String: Int] {
                let sorted = customers.map(value).sorted()
                var result: [String: Int] = [:]
                for customer in customers {
                    let first = sorted.firstIndex(of: value(customer)) ?? 0
                    result[customer.id] = 1 + 5 * first / size
                }
                return result
            }
            let recency = positional { -now.timeIntervalSince($0.lastPurchase ?? now) }
            let frequency = positional { Double($0.purchaseCount) }
            let monetary = positional { Double($0.lifetimeSpend) }
            for customer in customers {
                XCTAssertEqual(
                    scores[customer.id],
                    RFMScore(
                        recency: recency[customer.id] ?? 0, frequency: frequency[customer.id] ?? 0,
                        monetary: monetary[customer.id] ?? 0),
                    "size \(size), \(customer)")
            }
        }
    }

    func testDuplicateIdsDoNotCrash() {
        let customers = [buyer("same", daysAgo: 1, count: 9, spend: 9), buyer("same", daysAgo: 9, count: 1, spend: 1)]
        XCTAssertEqual(RFM.score(customers, now: now), ["same": .lowest])  // the last one's score
    }

    // MARK: - Pareto

    func testParetoEightyTwenty() {
        // Two of ten customers bring 800 of 1000.
        let spends: [Int64] = [25, 400, 25, 25, 25, 400, 25, 25, 25, 25]
        XCTAssertEqual(
            RFM.pareto(spends: spends, topPercent: 20),
            ParetoReport(customerCount: 10, topCount: 2, topSpend: 800, totalSpend: 1_000, topShare: 0.8))
    }

    func testParetoTopCountRoundsUp() {
        let spends: [Int64] = [70, 10, 5, 5, 5, 3, 2]
        let report = RFM.pareto(spends: spends, topPercent: 20)  // 1.4 customers → 2
        XCTAssertEqual(report.topCount, 2)
        XCTAssertEqual(report.topSpend, 80)
        XCTAssertEqual(report.totalSpend, 100)
        XCTAssertEqual(report.topShare, 0.8, accuracy: 1e-12)

        XCTAssertEqual(RFM.pareto(spends: Array(repeating: 1, count: 35), topPercent: 20).topCount, 7)  // exact
        XCTAssertEqual(RFM.pareto(spends: Array(repeating: 1, count: 1_000), topPercent: 0.1).topCount, 1)
    }

    func testParetoEdgeCases() {
        XCTAssertEqual(
            RFM.pareto(spends: [], topPercent: 20),
            ParetoReport(customerCount: 0, topCount: 0, topSpend: 0, totalSpend: 0, topShare: 0))
        XCTAssertEqual(
            RFM.pareto(spends: [0, 0, 0], topPercent: 50),
            ParetoReport(customerCount: 0, topCount: 0, topSpend: 0, totalSpend: 0, topShare: 0))
        XCTAssertEqual(RFM.pareto(spends: [5, 5], topPercent: 0).topCount, 0)
        XCTAssertEqual(RFM.pareto(spends: [5, 5], topPercent: 100).topShare, 1)
        XCTAssertEqual(RFM.pareto(spends: [5, 5], topPercent: 250).topCount, 2)  // clamped
        XCTAssertEqual(RFM.pareto(spends: [5, 5], topPercent: -3).topCount, 0)
        XCTAssertEqual(RFM.pareto(spends: [5, 5], topPercent: .nan).topCount, 0)
    }

    func testParetoRanksOnlyCustomersWhoSpent() {
        // Ten customers who spent, forty who never bought, two refunded more than they paid:
        // the top 20% is two of the ten, not ten of the fifty-two.
        let spends: [Int64] = [400, 400] + Array(repeating: 25, count: 8) + Array(repeating: 0, count: 40) + [-300, -1]
        XCTAssertEqual(
            RFM.pareto(spends: spends, topPercent: 20),
            ParetoReport(customerCount: 10, topCount: 2, topSpend: 800, totalSpend: 1_000, topShare: 0.8))
    }

    func testParetoSumsDoNotOverflow() {
        let spends: [Int64] = [.max, .max, 2]
        let report = RFM.pareto(spends: spends, topPercent: 30)  // 0.9 → the top one
        XCTAssertEqual(report.topCount, 1)
        XCTAssertEqual(report.topSpend, .max)
        XCTAssertEqual(report.totalSpend, .max)  // saturated
        XCTAssertTrue(report.isSaturated)
        XCTAssertEqual(report.topShare, 0.5, accuracy: 1e-9)  // from the exact sums

        let fits = RFM.pareto(spends: [.max - 1, 1], topPercent: 50)
        XCTAssertFalse(fits.isSaturated)
        XCTAssertEqual(fits.totalSpend, .max)
    }

    // MARK: - Trend

    func testSpendTrend() {
        XCTAssertNil(RFM.spendTrend(previous: 0, recent: 0))
        XCTAssertEqual(RFM.spendTrend(previous: 0, recent: 1), .rising)
        XCTAssertEqual(RFM.spendTrend(previous: 1, recent: 0), .falling)
        XCTAssertEqual(RFM.spendTrend(previous: 1_000, recent: 1_200), .rising)
        XCTAssertEqual(RFM.spendTrend(previous: 1_000, recent: 1_199), .steady)
        XCTAssertEqual(RFM.spendTrend(previous: 1_000, recent: 801), .steady)
        XCTAssertEqual(RFM.spendTrend(previous: 1_000, recent: 800), .falling)
        XCTAssertEqual(RFM.spendTrend(previous: -50, recent: -10), nil)  // refunds only: no spend
        XCTAssertEqual(RFM.spendTrend(previous: .max, recent: .max), .steady)  // no overflow
        XCTAssertEqual(RFM.spendTrend(previous: .max / 2, recent: .max), .rising)
    }

    func testTrend() {
        let base = RFMScore(recency: 3, frequency: 3, monetary: 3)
        XCTAssertEqual(RFM.trend(previous: nil, current: base), .steady)
        XCTAssertEqual(RFM.trend(previous: base, current: base), .steady)
        XCTAssertEqual(RFM.trend(previous: base, current: RFMScore(recency: 4, frequency: 3, monetary: 3)), .steady)
        XCTAssertEqual(RFM.trend(previous: base, current: RFMScore(recency: 5, frequency: 3, monetary: 3)), .rising)
        XCTAssertEqual(RFM.trend(previous: base, current: RFMScore(recency: 4, frequency: 4, monetary: 3)), .rising)
        XCTAssertEqual(RFM.trend(previous: base, current: RFMScore(recency: 2, frequency: 3, monetary: 3)), .steady)
        XCTAssertEqual(RFM.trend(previous: base, current: RFMScore(recency: 1, frequency: 3, monetary: 3)), .falling)
        XCTAssertEqual(RFM.trend(previous: base, current: RFMScore(recency: 1, frequency: 5, monetary: 3)), .steady)
        XCTAssertEqual(RFM.trend(previous: .lowest, current: RFMScore(recency: 5, frequency: 5, monetary: 5)), .rising)
    }
}
