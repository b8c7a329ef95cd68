import CXModel
import CXService
import CXTestSupport
import CXWire
import Foundation
import GRDB
import Synchronization
import XCTest

@testable import CXLoyalty

/// A real loyalty server on 127.0.0.1 (port 0) over a real SQLite file in a
/// temporary directory, and a client connected to it.
struct LoyaltyHarness {
    typealias L = Cx_Loyalty_V1_Loyalty
    let directory: URL
    let clock: ManualClock
    let service: LoyaltyService
    let server: RPCServer
    let client: RPCClient

    static func start(destinations: Set<CXServiceName> = [], clock: ManualClock = ManualClock()) async throws -> LoyaltyHarness {
        let directory = temporaryDirectory("cx-loyalty-test")
        let service = try await LoyaltyService.open(directory: directory, destinations: destinations, clock: { clock.now })
        let (server, client) = try await startLoopbackServer(name: "loyalty") { service.register(into: &$0) }
        return LoyaltyHarness(directory: directory, clock: clock, service: service, server: server, client: client)
    }

    func stop() async {
        await client.close()
        server.close()
        try? service.store.close()
        try? FileManager.default.removeItem(at: directory)
    }

    @discardableResult
    func enroll(_ id: String, currency: String = "") async throws -> Cx_Loyalty_V1_Account {
        try await client.call(L.enroll, .with {
            $0.customerID = id
            $0.currency = currency
        }).account
    }

    func account(_ id: String) async throws -> Cx_Loyalty_V1_Account {
        try await client.call(L.getAccount, .with { $0.customerID = id }).account
    }

    @discardableResult
    func purchase(_ id: String, order: String, minorUnits: Int64, currency: String = "IRR", at: Date? = nil) async throws
        -> Cx_Loyalty_V1_RecordPurchaseResponse
    {
        try await client.call(L.recordPurchase, .with {
            $0.customerID = id
            $0.orderID = order
            $0.amount = .with {
                $0.minorUnits = minorUnits
                $0.currency = currency
            }
            $0.channel = .web
            if let at { $0.purchasedAt = .init(date: at) }
        })
    }

    @discardableResult
    func refund(_ id: String, order: String, refund: String, minorUnits: Int64? = nil, currency: String = "IRR") async throws
        -> Cx_Loyalty_V1_ReversePurchaseResponse
    {
        try await client.call(L.reversePurchase, .with {
            $0.customerID = id
            $0.orderID = order
            $0.refundID = refund
            if let minorUnits {
                $0.amount = .with {
                    $0.minorUnits = minorUnits
                    $0.currency = currency
                }
            }
        })
    }

    func createReward(_ name: String, cost: Int64, stock: Int64? = nil, minTier: String = "") async throws -> Cx_Loyalty_V1_Reward {
        try await client.call(L.createReward, .with {
            $0.reward.name = name
            $0.reward.costPoints = cost
            if let stock { $0.reward.stock = stock }
            $0.reward.minTier = minTier
        }).reward
    }

    func redeem(_ id: String, reward: String, key: String) async throws -> Cx_Loyalty_V1_RedeemResponse {
        try await client.call(L.redeem, .with {
            $0.customerID = id
            $0.rewardID = reward
            $0.idempotencyKey = key
        })
    }

    func program() async throws -> Cx_Loyalty_V1_Program {
        try await client.call(L.getProgram, .init()).program
    }

    func updateProgram(_ change: (inout Cx_Loyalty_V1_Program) -> Void) async throws -> Cx_Loyalty_V1_Program {
        var program = try await program()
        change(&program)
        return try await client.call(L.updateProgram, .with { $0.program = program }).program
    }

    func ledger(_ id: String) async throws -> [Cx_Loyalty_V1_LedgerEntry] {
        var entries: [Cx_Loyalty_V1_LedgerEntry] = []
        var token = ""
        repeat {
            let page = try await client.call(L.listLedger, .with {
                $0.customerID = id
                $0.pageSize = 7
                $0.pageToken = token
            })
            entries += page.entries
            token = page.nextPageToken
        } while !token.isEmpty
        return entries
    }

    /// The ledger's invariants for one account, read straight from the
    /// database: balance = sum of entries = sum of lots, none negative.
    func assertBalanced(_ id: String, file: StaticString = #filePath, line: UInt = #line) async throws {
        let (balance, ledger, lots, negatives) = try await service.store.read { db in
            (
                try Int64.fetchOne(db, sql: "SELECT balance FROM account WHERE customer_id = ?", arguments: [id]) ?? -1,
                try Int64.fetchOne(db, sql: "SELECT COALESCE(SUM(points), 0) FROM ledger WHERE customer_id = ?", arguments: [id]) ?? -1,
                try AccountRecord.load(db, id)?.lots.reduce(0) { $0 + $1.points } ?? -1,
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM ledger WHERE customer_id = ? AND balance_after < 0", arguments: [id]) ?? -1
            )
        }
        XCTAssertEqual(balance, ledger, "\(id): balance vs ledger sum", file: file, line: line)
        XCTAssertEqual(balance, lots, "\(id): balance vs lots", file: file, line: line)
        XCTAssertGreaterThanOrEqual(balance, 0, file: file, line: line)
        XCTAssertEqual(negatives, 0, "\(id): a negative balance_after", file: file, line: line)
    }
}


/// 1,000 base points' worth of IRR under the default program (1 point per 100,000 minor units).
func irr(points: Int64) -> Int64 { points * 100_000 }
