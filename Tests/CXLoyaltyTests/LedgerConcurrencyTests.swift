import CXModel
import CXWire
import Foundation
import GRDB
import Synchronization
import XCTest

@testable import CXLoyalty

/// 64 concurrent clients buying, refunding and redeeming on 100 accounts,
/// retrying calls at random (one after another and two at once): afterwards
/// every balance equals its ledger, none is negative, and every key took
/// effect exactly once.
final class LedgerConcurrencyTests: XCTestCase {
    typealias L = Cx_Loyalty_V1_Loyalty

    /// What the clients saw succeed, per key (retries give the same answer, so each key counts once).
    struct Seen: Sendable {
        var purchases: [String: (customer: String, points: Int64)] = [:]
        var refunds: [String: (customer: String, points: Int64)] = [:]
        var redemptions: [String: (customer: String, points: Int64)] = [:]
    }

    func testConcurrentPurchasesRefundsAndRedemptionsWithRetriesKeepEveryLedgerExact() async throws {
        let h = try await LoyaltyHarness.start()
        addTeardownBlock { await h.stop() }
        _ = try await h.updateProgram { $0.pendingDays = 0 }
        let accounts = (0..<100).map { "acct-\($0)" }
        for id in accounts { try await h.enroll(id) }
        let cheap = try await h.createReward("Coffee", cost: 40)
        let scarce = try await h.createReward("Ticket", cost: 25, stock: 30)
        let rewards = [cheap.id, scarce.id]
        let port = h.server.localAddress!.port!
        let seen = Locked(Seen())
        let mismatches = Locked<[String]>([])

        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<64 {
                group.addTask {
                    await Self.work(
                        worker: worker, port: port, accounts: accounts, rewards: rewards, seen: seen, mismatches: mismatches)
                }
            }
        }
        try await check(h, accounts: accounts, scarce: scarce.id, seen: seen.value, mismatches: mismatches.value)
    }

    /// Calls `body`; on a random half of the calls calls it again (after, or at once beside
    /// the first) and checks that the retry got the same answer.
    static func withRetries<R: Equatable & Sendable>(
        _ rng: inout SplitMix64, _ what: String, mismatches: Locked<[String]>, _ body: @escaping @Sendable () async throws -> R
    ) async -> R? {
        let mode = rng.next() % 4
        do {
            switch mode {
            case 0:
                // Two at once. A refusal changes nothing and is not
                // remembered, so one may be refused (no points yet) while the
                // other, run later, succeeds: the success is the effect.
                async let a = outcome(body)
                async let b = outcome(body)
                switch await (a, b) {
                case (.success(let first), .success(let second)):
                    if first != second { mismatches.withLock { $0.append("\(what): concurrent retry differs") } }
                    return first
                case (.success(let only), .failure(let error)), (.failure(let error), .success(let only)):
                    try refusalOrThrow(error)
                    return only
                case (.failure(let error), .failure):
                    throw error
                }
            case 1:
                let first = try await body()
                let second = try await body()
                if first != second { mismatches.withLock { $0.append("\(what): retry differs") } }
                return first
            default:
                return try await body()
            }
        } catch let error as RPCError where error.code == .failedPrecondition || error.code == .invalidArgument {
            return nil  // refused (insufficient points, out of stock, nothing left to refund): changes nothing
        } catch {
            mismatches.withLock { $0.append("\(what): \(error)") }
            return nil
        }
    }

    static func outcome<R: Sendable>(_ body: @Sendable () async throws -> R) async -> Result<R, any Error> {
        do { return .success(try await body()) } catch { return .failure(error) }
    }

    /// Rethrows anything but a refusal (which changes nothing).
    static func refusalOrThrow(_ error: any Error) throws {
        if let error = error as? RPCError, error.code == .failedPrecondition || error.code == .invalidArgument { return }
        throw error
    }

    /// One client's 30 random operations.
    static func work(
        worker: Int, port: Int, accounts: [String], rewards: [String], seen: Locked<Seen>, mismatches: Locked<[String]>
    ) async {
        let client = RPCClient(host: "127.0.0.1", port: port)
        var rng = SplitMix64(seed: UInt64(worker) &* 0x9E37_79B9 &+ 1)
        var mine: [(order: String, customer: String)] = []
        for step in 0..<30 {
            let customer = accounts[Int(rng.next() % 100)]
            switch rng.next() % 8 {
            case 0...3:
                let order = "w\(worker)-o\(step)"
                let request = Cx_Loyalty_V1_RecordPurchaseRequest.with {
                    $0.customerID = customer
                    $0.orderID = order
                    $0.amount = .with {
                        $0.minorUnits = irr(points: Int64(10 + rng.next() % 400))
                        $0.currency = "IRR"
                    }
                }
                if let response = await withRetries(&rng, order, mismatches: mismatches, { try await client.call(L.recordPurchase, request) }) {
                    mine.append((order, customer))
                    seen.withLock { $0.purchases[order] = (customer, response.points + response.bonusPoints) }
                }
            case 4, 5:
                guard let (order, owner) = mine.randomElement(using: &rng) else { continue }
                let refundID = "w\(worker)-r\(step)"
                let partial = rng.next() % 2 == 0
                let request = Cx_Loyalty_V1_ReversePurchaseRequest.with {
                    $0.customerID = owner
                    $0.orderID = order
                    $0.refundID = refundID
                    if partial {
                        $0.amount = .with {
                            $0.minorUnits = irr(points: 5)
                            $0.currency = "IRR"
                        }
                    }
                }
                if let response = await withRetries(&rng, refundID, mismatches: mismatches, { try await client.call(L.reversePurchase, request) }) {
                    seen.withLock { $0.refunds[refundID] = (owner, response.points) }
                }
            default:
                let key = "w\(worker)-k\(step)"
                let request = Cx_Loyalty_V1_RedeemRequest.with {
                    $0.customerID = customer
                    $0.rewardID = rewards[Int(rng.next() % 2)]
                    $0.idempotencyKey = key
                }
                if let response = await withRetries(&rng, key, mismatches: mismatches, { try await client.call(L.redeem, request) }) {
                    seen.withLock { $0.redemptions[key] = (customer, response.redemption.points) }
                }
            }
        }
        await client.close()
    }

    func check(_ h: LoyaltyHarness, accounts: [String], scarce: String, seen result: Seen, mismatches: [String]) async throws {
        XCTAssertEqual(mismatches, [])
        XCTAssertGreaterThan(result.purchases.count, 500)
        XCTAssertGreaterThan(result.refunds.count, 50)
        XCTAssertGreaterThan(result.redemptions.count, 50)

        // Every balance is what the answers the clients got add up to, and the ledger agrees.
        var expected: [String: Int64] = [:]
        for (_, p) in result.purchases { expected[p.customer, default: 0] += p.points }
        for (_, r) in result.refunds { expected[r.customer, default: 0] -= r.points }
        for (_, r) in result.redemptions { expected[r.customer, default: 0] -= r.points }
        for id in accounts {
            try await h.assertBalanced(id)
            let account = try await h.account(id)
            XCTAssertEqual(account.spendablePoints + account.pendingPoints, expected[id, default: 0], id)
        }
        // Every key took effect once.
        let counts = try await h.service.store.read { db in
            (
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM purchase") ?? -1,
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM ledger WHERE kind = 1") ?? -1,
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM refund") ?? -1,
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM ledger WHERE kind = 2") ?? -1,
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM redemption") ?? -1,
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM ledger WHERE kind = 4") ?? -1
            )
        }
        XCTAssertEqual(counts.0, result.purchases.count)
        XCTAssertEqual(counts.1, result.purchases.count)
        XCTAssertEqual(counts.2, result.refunds.count)
        XCTAssertEqual(counts.3, result.refunds.count)
        XCTAssertEqual(counts.4, result.redemptions.count)
        XCTAssertEqual(counts.5, result.redemptions.count)
        let scarceLeft = try await h.client.call(L.listRewards, .init()).rewards.first { $0.id == scarce }
        let scarceTaken = result.redemptions.values.filter { $0.points == 25 }.count
        XCTAssertEqual(scarceLeft?.stock, Int64(30 - scarceTaken))
        XCTAssertGreaterThanOrEqual(scarceLeft?.stock ?? -1, 0)
    }
}

/// A value shared by the test's tasks.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    var value: Value { mutex.withLock { $0 } }
    func withLock<R>(_ body: (inout Value) -> R) -> R { mutex.withLock { body(&$0) } }
}
