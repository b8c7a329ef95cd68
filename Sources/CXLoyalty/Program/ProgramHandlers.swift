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
        response.program = try await store.read { db in try programs.value(db) }
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
            let current = try programs.value(db)
            if request.expectedVersion != 0, request.expectedVersion != current.version {
                throw RPCError(
                    code: .aborted,
                    message: "the program is at version \(current.version), not \(request.expectedVersion): read it again and retry",
                    reason: "VERSION_MISMATCH")
            }
            try Self.checkCurrenciesInUse(db, proposed: proposed)
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
            try Self.checkCurrenciesInUse(db, proposed: proposed)
            return try ProgramSimulation.run(db, current: try programs.value(db), proposed: proposed, now: now)
        }
    }

    /// Refuses a program without an earn rate for a currency accounts keep
    /// their spend in: an account's currency never changes, so every
    /// purchase of those accounts would fail (NO_EARN_RATE).
    static func checkCurrenciesInUse(_ db: Database, proposed: Cx_Loyalty_V1_Program) throws {
        var missing: [String] = []
        for row in try Row.fetchAll(db, sql: "SELECT currency, COUNT(*) AS n FROM account GROUP BY currency ORDER BY currency") {
            let currency: String = try row.decode(String.self, forColumn: "currency")
            guard ProgramRules.rate(proposed, currency: currency) == nil else { continue }
            let accounts: Int64 = try row.decode(Int64.self, forColumn: "n")
            let keep = accounts == 1 ? "account keeps its" : "accounts keep their"
            missing.append("\(currency) (\(ProgramRules.grouped(accounts)) \(keep) spend in it)")
        }
        guard missing.isEmpty else {
            throw RPCError(
                code: .failedPrecondition,
                message: "the program has no earn rate for \(missing.joined(separator: ", ")): "
                    + "keep a rate for every currency accounts use",
                reason: "CURRENCY_IN_USE")
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
        var response = Cx_Loyalty_V1_SimulateProgramResponse()
        // One pass over the purchases of both windows. The proposed rates
        // decide the qualifying points (base points of what is left after
        // refunds, as RecordPurchase counts them) and so the tiers; as a
        // customer's tier is known only at the end, their points are summed
        // at every tier's multiplier, rounded per purchase.
        var proposals: [String: (qualifying: Int64, issued: [Int64])] = [:]
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
            let base = ProgramRules.basePoints(try row.decode(Int64.self, forColumn: "net"), rate: rate)
            let id: String = try row.decode(String.self, forColumn: "customer_id")
            var proposal = proposals.removeValue(forKey: id) ?? (0, [Int64](repeating: 0, count: proposed.tiers.count))
            proposal.qualifying += base
            for (index, tier) in proposed.tiers.enumerated() {
                proposal.issued[index] += ProgramRules.multiplied(base, percent: tier.earnMultiplierPercent)
            }
            proposals[id] = proposal
        }
        var members = [Int64](repeating: 0, count: proposed.tiers.count)
        var balances: [String: Int64] = [:]
        let cursor = try Row.fetchCursor(db, sql: "SELECT customer_id, tier, balance, currency FROM account")
        while let row = try cursor.next() {
            let id: String = try row.decode(String.self, forColumn: "customer_id")
            let tier: String = try row.decode(String.self, forColumn: "tier")
            let proposal = proposals[id]
            let target = ProgramRules.tierIndex(qualifying: proposal?.qualifying ?? 0, in: proposed)
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
            response.pointsIssuedProposed += proposal?.issued[target] ?? 0
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
