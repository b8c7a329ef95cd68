import CXModel
import CXService
import CXStore
import CXWire
import Foundation
import GRDB

extension LoyaltyService {
    func getProgram(_ request: Cx_Loyalty_V1_GetProgramRequest, _ context: ServerContext) async throws
        -> Cx_Loyalty_V1_GetProgramResponse
    {
        let programs = self.programs
        var response = Cx_Loyalty_V1_GetProgramResponse()
        response.program = try await store.read { db in try programs.program(db) }
        return response
    }

    func updateProgram(_ request: Cx_Loyalty_V1_UpdateProgramRequest, _ context: ServerContext) async throws
        -> Cx_Loyalty_V1_UpdateProgramResponse
    {
        guard request.hasProgram else { throw RPCError.invalidArgument(field: "program", "is required: send the whole program") }
        let proposed = try ProgramRules.validated(request.program)
        let key = try RequestCheck.idempotencyKey(request.idempotencyKey, context)
        let now = clock()
        let programs = self.programs
        return try await store.idempotentWrite("loyalty.UpdateProgram", key: key, request: request) { db in
            let current = try programs.program(db)
            if request.expectedVersion != 0, request.expectedVersion != current.version {
                throw RPCError(
                    code: .aborted,
                    message: "the program is at version \(current.version), not \(request.expectedVersion): read it again and retry",
                    reason: "VERSION_MISMATCH")
            }
            var program = proposed
            program.version = current.version + 1
            program.effectiveAt = .init(date: now)
            try db.execute(
                sql: "INSERT INTO program (version, effective_at, body) VALUES (?, ?, ?)",
                arguments: [program.version, now.timeIntervalSince1970, try RecordBody(program)])
            var response = Cx_Loyalty_V1_UpdateProgramResponse()
            response.program = program
            return response
        }
    }

    func simulateProgram(_ request: Cx_Loyalty_V1_SimulateProgramRequest, _ context: ServerContext) async throws
        -> Cx_Loyalty_V1_SimulateProgramResponse
    {
        guard request.hasProgram else { throw RPCError.invalidArgument(field: "program", "is required: send the whole program") }
        let proposed = try ProgramRules.validated(request.program)
        let now = clock()
        let programs = self.programs
        return try await store.read { db in
            try ProgramSimulation.run(db, current: try programs.program(db), proposed: proposed, now: now)
        }
    }
}

/// What a proposed program would do now, read from one snapshot.
enum ProgramSimulation {
    static func run(_ db: Database, current: Cx_Loyalty_V1_Program, proposed: Cx_Loyalty_V1_Program, now: Date) throws
        -> Cx_Loyalty_V1_SimulateProgramResponse
    {
        let proposedStart = ProgramRules.adding(months: -Int(proposed.qualificationWindowMonths), to: now)
        let currentStart = ProgramRules.adding(months: -Int(current.qualificationWindowMonths), to: now)
        var qualifying: [String: Int64] = [:]
        for row in try Row.fetchAll(
            db,
            sql: """
                SELECT customer_id, SUM(qualifying - qualifying_reversed) AS points FROM purchase
                WHERE purchased_at >= ? GROUP BY customer_id
                """,
            arguments: [proposedStart.timeIntervalSince1970])
        {
            qualifying[try row.decode(String.self, forColumn: "customer_id")] = try row.decode(Int64.self, forColumn: "points")
        }
        var response = Cx_Loyalty_V1_SimulateProgramResponse()
        var members = [Int64](repeating: 0, count: proposed.tiers.count)
        var proposedTier: [String: Int] = [:]
        var balances: [String: Int64] = [:]
        let cursor = try Row.fetchCursor(db, sql: "SELECT customer_id, tier, balance, currency FROM account")
        while let row = try cursor.next() {
            let id: String = try row.decode(String.self, forColumn: "customer_id")
            let tier: String = try row.decode(String.self, forColumn: "tier")
            let target = ProgramRules.tierIndex(qualifying: qualifying[id] ?? 0, in: proposed)
            // Rank today's tier in the proposed program where it exists there,
            // else by its place in the program in force.
            let today = ProgramRules.tierIndex(named: tier, in: proposed) ?? ProgramRules.tierIndex(named: tier, in: current) ?? 0
            if target > today {
                response.accountsUp += 1
            } else if target < today {
                response.accountsDown += 1
            } else {
                response.accountsUnchanged += 1
            }
            members[target] += 1
            proposedTier[id] = target
            let balance: Int64 = try row.decode(Int64.self, forColumn: "balance")
            response.outstandingPoints += balance
            balances[try row.decode(String.self, forColumn: "currency"), default: 0] += balance
        }
        response.proposedMembers = zip(proposed.tiers, members).map { tier, count in
            Cx_Loyalty_V1_TierCount.with {
                $0.tier = tier.name
                $0.members = count
            }
        }
        response.liabilityCurrent = liability(balances, program: current)
        response.liabilityProposed = liability(balances, program: proposed)
        let purchases = try Row.fetchCursor(
            db,
            sql: """
                SELECT customer_id, amount - refunded AS net, currency, points - points_reversed AS earned, purchased_at
                FROM purchase WHERE purchased_at >= ?
                """,
            arguments: [min(currentStart, proposedStart).timeIntervalSince1970])
        while let row = try purchases.next() {
            let at: Double = try row.decode(Double.self, forColumn: "purchased_at")
            if at >= currentStart.timeIntervalSince1970 { response.pointsIssuedCurrent += try row.decode(Int64.self, forColumn: "earned") }
            guard at >= proposedStart.timeIntervalSince1970,
                let rate = ProgramRules.rate(proposed, currency: try row.decode(String.self, forColumn: "currency"))
            else { continue }
            let tier = proposed.tiers[proposedTier[try row.decode(String.self, forColumn: "customer_id")] ?? 0]
            response.pointsIssuedProposed += ProgramRules.multiplied(
                ProgramRules.basePoints(try row.decode(Int64.self, forColumn: "net"), rate: rate), percent: tier.earnMultiplierPercent)
        }
        return response
    }

    /// Outstanding points per account currency, valued at the program's point value.
    static func liability(_ balances: [String: Int64], program: Cx_Loyalty_V1_Program) -> [Cx_Common_V1_Money] {
        balances.keys.sorted().map { currency in
            let value = ProgramRules.rate(program, currency: currency)?.pointValueMinorUnits ?? 0
            let (product, overflow) = balances[currency]!.multipliedReportingOverflow(by: value)
            return Cx_Common_V1_Money.with {
                $0.minorUnits = overflow ? Int64.max : product
                $0.currency = currency
            }
        }
    }
}
