import CXModel
import CXService
import CXStore
import CXWire
import Foundation
import GRDB

extension LoyaltyService {
    /// Accounts per page of a batch (EvaluateTiers, ExpirePoints) unless the request says.
    static let batchPageSize = 1_000
    static let maxBatchPageSize = 10_000

    func evaluateTiers(_ request: Cx_Loyalty_V1_EvaluateTiersRequest, _ context: ServerContext) async throws
        -> Cx_Loyalty_V1_EvaluateTiersResponse
    {
        let now = clock()
        let programs = self.programs
        let events = self.events(at: now)
        if !request.customerID.isEmpty {
            let id = request.customerID
            try RequestCheck.id(id, field: "customer_id")
            return try await store.write { db in
                var account = try AccountRecord.require(db, id)
                let (decision, _) = try TierPolicy.evaluate(db, &account, program: try programs.value(db), now: now, events: events)
                try account.update(db)
                var response = Cx_Loyalty_V1_EvaluateTiersResponse()
                response.decisions = [decision]
                response.evaluated = 1
                response.totalAccounts = 1
                Self.count(decision.outcome, into: &response)
                return response
            }
        }
        let size = try RequestCheck.pageSize(request.pageSize, standard: Self.batchPageSize, max: Self.maxBatchPageSize)
        let scope = "loyalty.EvaluateTiers"
        let after = try pager.position(request.pageToken, scope: scope)?.first ?? ""
        var (response, last) = try await evaluateTiersPage(after: after, size: size, now: now)
        response.nextPageToken = pager.nextToken(scope: scope, last: last.map { [$0] }, full: last != nil)
        return response
    }

    /// Evaluates the accounts after `after` in id order, `size` of them, in
    /// one transaction of its own (so other writers' batches wait for one
    /// page at most). Returns the last id when more may follow.
    func evaluateTiersPage(after: String, size: Int, now: Date) async throws -> (Cx_Loyalty_V1_EvaluateTiersResponse, last: String?) {
        let programs = self.programs
        let events = self.events(at: now)
        return try await store.writeAlone { db in
            let program = try programs.value(db)
            var response = Cx_Loyalty_V1_EvaluateTiersResponse()
            let fetched = try String.fetchAll(
                db, sql: "SELECT customer_id FROM account WHERE customer_id > ? ORDER BY customer_id LIMIT ?", arguments: [after, size + 1])
            // One more than the page, to know whether another page follows.
            let more = fetched.count > size
            let ids = fetched.prefix(size)
            for id in ids {
                var account = try AccountRecord.require(db, id)
                let before = account
                let (decision, stored) = try TierPolicy.evaluate(db, &account, program: program, now: now, events: events)
                // A moved qualifying floor alone is not worth a write per
                // account: the next purchase moves it anyway.
                var unchanged = before
                unchanged.qualifyingFloor = account.qualifyingFloor
                unchanged.qualifyingFloorAt = account.qualifyingFloorAt
                if account != unchanged { try account.update(db) }
                response.evaluated += 1
                Self.count(decision.outcome, into: &response)
                if stored, decision.outcome != .unchanged, response.decisions.count < 1_000 { response.decisions.append(decision) }
            }
            response.totalAccounts = try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM account") ?? 0
            return (response, more ? ids.last : nil)
        }
    }

    static func count(_ outcome: Cx_Loyalty_V1_TierDecision.Outcome, into response: inout Cx_Loyalty_V1_EvaluateTiersResponse) {
        switch outcome {
        case .up: response.up += 1
        case .down: response.down += 1
        case .grace: response.grace += 1
        default: break
        }
    }

    func listTierDecisions(_ request: Cx_Loyalty_V1_ListTierDecisionsRequest, _ context: ServerContext) async throws
        -> Cx_Loyalty_V1_ListTierDecisionsResponse
    {
        let id = request.customerID
        let page = try await accountPage(
            id, pageSize: request.pageSize, pageToken: request.pageToken, method: "ListTierDecisions", table: "tier_decision",
            columns: "sequence, body",
            item: { row in
                (
                    sequence: try row.decode(Int64.self, forColumn: "sequence"),
                    decision: try LoyaltyDatabase.decodeBody(row, Cx_Loyalty_V1_TierDecision.self, table: "tier_decision", key: id)
                )
            },
            sequence: \.sequence)
        var response = Cx_Loyalty_V1_ListTierDecisionsResponse()
        response.decisions = page.items.map(\.decision)
        response.nextPageToken = page.nextPageToken
        return response
    }

    func expirePoints(_ request: Cx_Loyalty_V1_ExpirePointsRequest, _ context: ServerContext) async throws
        -> Cx_Loyalty_V1_ExpirePointsResponse
    {
        let now = clock()
        let programs = self.programs
        if !request.customerID.isEmpty {
            let id = request.customerID
            try RequestCheck.id(id, field: "customer_id")
            return try await store.write { db in
                var account = try AccountRecord.require(db, id)
                let expired = try Ledger.expireDue(db, &account, now: now, programVersion: try programs.value(db).version)
                if expired > 0 { try account.update(db) }
                var response = Cx_Loyalty_V1_ExpirePointsResponse()
                response.evaluated = 1
                response.totalAccounts = 1
                response.accounts = expired > 0 ? 1 : 0
                response.pointsExpired = expired
                return response
            }
        }
        let size = try RequestCheck.pageSize(request.pageSize, standard: Self.batchPageSize, max: Self.maxBatchPageSize)
        let scope = "loyalty.ExpirePoints"
        let after = try pager.position(request.pageToken, scope: scope)?.first ?? ""
        var (response, last) = try await expirePointsPage(after: after, size: size, now: now)
        response.nextPageToken = pager.nextToken(scope: scope, last: last.map { [$0] }, full: last != nil)
        return response
    }

    /// Expires the due points of up to `size` accounts after `after`, in one
    /// transaction of its own. Returns the last id when more may follow.
    func expirePointsPage(after: String, size: Int, now: Date) async throws -> (Cx_Loyalty_V1_ExpirePointsResponse, last: String?) {
        let programs = self.programs
        return try await store.writeAlone { db in
            let version = try programs.value(db).version
            var response = Cx_Loyalty_V1_ExpirePointsResponse()
            // Accounts still holding points past expiry when the page starts, this page included.
            response.totalAccounts = try Int64.fetchOne(
                db, sql: "SELECT COUNT(*) FROM account WHERE next_expiry_at <= ? AND customer_id > ?",
                arguments: [now.timeIntervalSince1970, after]) ?? 0
            // Only accounts holding a lot past its expiry need a visit.
            let fetched = try String.fetchAll(
                db,
                sql: "SELECT customer_id FROM account WHERE next_expiry_at <= ? AND customer_id > ? ORDER BY customer_id LIMIT ?",
                arguments: [now.timeIntervalSince1970, after, size + 1])
            let more = fetched.count > size
            let ids = fetched.prefix(size)
            for id in ids {
                var account = try AccountRecord.require(db, id)
                let expired = try Ledger.expireDue(db, &account, now: now, programVersion: version)
                try account.update(db)
                response.evaluated += 1
                response.accounts += 1
                response.pointsExpired += expired
            }
            return (response, more ? ids.last : nil)
        }
    }

    /// Evaluates every account's tier and expires every due point, page by
    /// page (what ``LoyaltyClock`` runs). Returns the totals.
    public func runBatches() async throws -> (evaluated: Int64, up: Int64, down: Int64, grace: Int64, expired: Int64) {
        let now = clock()
        var totals: (evaluated: Int64, up: Int64, down: Int64, grace: Int64, expired: Int64) = (0, 0, 0, 0, 0)
        var after: String? = ""
        while let start = after {
            try Task.checkCancellation()
            let (page, last) = try await evaluateTiersPage(after: start, size: Self.batchPageSize, now: now)
            totals.evaluated += page.evaluated
            totals.up += page.up
            totals.down += page.down
            totals.grace += page.grace
            after = last
        }
        after = ""
        while let start = after {
            try Task.checkCancellation()
            let (page, last) = try await expirePointsPage(after: start, size: Self.batchPageSize, now: now)
            totals.expired += page.pointsExpired
            after = last
        }
        return totals
    }
}
