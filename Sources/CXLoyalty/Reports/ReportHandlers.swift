import CXModel
import CXService
import CXWire
import Foundation
import GRDB

extension LoyaltyService {
    func getReport(_ request: Cx_Loyalty_V1_GetReportRequest, _ context: ServerContext) async throws -> Cx_Loyalty_V1_GetReportResponse {
        let now = clock()
        // Unset: up to and including now.
        let to = request.hasTo ? request.to.date : now.addingTimeInterval(0.001)
        let from = request.hasFrom ? request.from.date : to.addingTimeInterval(-30 * 86_400)
        guard from < to else {
            throw RPCError.invalidArgument(field: "from", "\(from) is not before to (\(to))")
        }
        guard (0...100).contains(request.top) else {
            throw RPCError.invalidArgument(field: "top", "is \(request.top); 0 (= 10) to 100")
        }
        let top = request.top == 0 ? 10 : Int(request.top)
        let programs = self.programs
        return try await store.read { db in
            try LoyaltyReport.make(db, program: try programs.value(db), from: from, to: to, top: top)
        }
    }
}

/// The program's figures, read from one snapshot.
enum LoyaltyReport {
    typealias Kind = Cx_Loyalty_V1_LedgerEntry.Kind

    static func make(_ db: Database, program: Cx_Loyalty_V1_Program, from: Date, to: Date, top: Int) throws -> Cx_Loyalty_V1_GetReportResponse {
        var response = Cx_Loyalty_V1_GetReportResponse()
        response.from = .init(date: from)
        response.to = .init(date: to)
        var counts: [String: Int64] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT tier, COUNT(*) AS n FROM account GROUP BY tier") {
            counts[try row.decode(String.self, forColumn: "tier")] = try row.decode(Int64.self, forColumn: "n")
        }
        // The program's tiers lowest first, then any tier it no longer has.
        let names = program.tiers.map(\.name) + counts.keys.filter { ProgramRules.tierIndex(named: $0, in: program) == nil }.sorted()
        response.members = names.map { name in
            Cx_Loyalty_V1_TierCount.with {
                $0.tier = name
                $0.members = counts[name] ?? 0
            }
        }
        response.totalMembers = counts.values.reduce(0, +)
        var balances: [String: Int64] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT currency, SUM(balance) AS points FROM account GROUP BY currency") {
            balances[try row.decode(String.self, forColumn: "currency")] = try row.decode(Int64.self, forColumn: "points")
        }
        response.outstandingPoints = balances.values.reduce(0, +)
        response.liability = ProgramSimulation.liability(balances, program: program)

        let period: StatementArguments = [from.timeIntervalSince1970, to.timeIntervalSince1970]
        func sum(_ kinds: [Kind]) throws -> Int64 {
            let list = kinds.map { String($0.rawValue) }.joined(separator: ",")
            return try Int64.fetchOne(
                db, sql: "SELECT COALESCE(SUM(points), 0) FROM ledger WHERE at >= ? AND at < ? AND kind IN (\(list))", arguments: period) ?? 0
        }
        let earning: [Kind] = [.purchase, .refund, .bonus]
        response.pointsIssued = try sum(earning)
        response.pointsRedeemed = -(try sum([.redemption, .redemptionCancelled]))
        response.pointsExpired = -(try sum([.expiry]))
        response.redemptionRateBp = response.pointsIssued > 0 ? max(0, response.pointsRedeemed * 10_000 / response.pointsIssued) : 0
        response.redeemingMembers = try Int64.fetchOne(
            db, sql: "SELECT COUNT(DISTINCT customer_id) FROM ledger WHERE at >= ? AND at < ? AND kind = ?",
            arguments: period + [Kind.redemption.rawValue]) ?? 0
        let earningList = earning.map { String($0.rawValue) }.joined(separator: ",")
        response.topEarners = try Row.fetchAll(
            db,
            sql: """
                SELECT l.customer_id, SUM(l.points) AS points, a.tier FROM ledger l JOIN account a ON a.customer_id = l.customer_id
                WHERE l.at >= ? AND l.at < ? AND l.kind IN (\(earningList))
                GROUP BY l.customer_id HAVING SUM(l.points) > 0 ORDER BY points DESC, l.customer_id LIMIT ?
                """,
            arguments: period + [top]
        ).map { row in
            Cx_Loyalty_V1_TopEarner.with {
                $0.customerID = row["customer_id"]
                $0.points = row["points"]
                $0.tier = row["tier"]
            }
        }
        response.tierMovements = try Row.fetchAll(
            db,
            sql: """
                SELECT from_tier, to_tier, COUNT(*) AS n FROM tier_decision
                WHERE decided_at >= ? AND decided_at < ? AND from_tier <> to_tier
                GROUP BY from_tier, to_tier ORDER BY n DESC, from_tier, to_tier
                """,
            arguments: period
        ).map { row in
            Cx_Loyalty_V1_TierMovement.with {
                $0.fromTier = row["from_tier"]
                $0.toTier = row["to_tier"]
                $0.accounts = row["n"]
            }
        }
        return response
    }
}
