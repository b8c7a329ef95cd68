import CXModel
import CXService
import CXStore
import CXWire
import Foundation
import GRDB

extension LoyaltyService {
    /// The events of a call that runs at `now`.
    func events(at now: Date) -> LoyaltyEvents { LoyaltyEvents(destinations: destinations, now: now) }

    func enroll(_ request: Cx_Loyalty_V1_EnrollRequest, _ context: ServerContext) async throws -> Cx_Loyalty_V1_EnrollResponse {
        let id = request.customerID
        try RequestCheck.id(id, field: "customer_id")
        if !request.currency.isEmpty { try RequestCheck.currency(request.currency, field: "currency") }
        let key = try RequestCheck.idempotencyKey(request.idempotencyKey, context)
        let now = clock()
        let programs = self.programs
        let events = self.events(at: now)
        return try await store.idempotentWrite("loyalty.Enroll", key: key, request: request, subjects: { _, response in [response.account.customerID] }) { db in
            let program = try programs.value(db)
            let currency = request.currency.isEmpty ? program.earnRates[0].currency : request.currency
            guard ProgramRules.rate(program, currency: currency) != nil else {
                throw RPCError.invalidArgument(
                    field: "currency",
                    "\(currency) has no earn rate in the program (it has \(program.earnRates.map(\.currency).joined(separator: ", ")))")
            }
            guard try AccountRecord.load(db, id) == nil else {
                throw RPCError(
                    code: .alreadyExists, message: "customer \(RequestCheck.quoted(id)) is already enrolled", reason: "ACCOUNT_EXISTS")
            }
            let account = AccountRecord(
                customerID: id, tier: program.tiers[0].name, balance: 0, currency: currency, lifetimeSpend: 0, purchaseCount: 0,
                lastPurchaseAt: nil, enrolledAt: now, tierSince: now,
                nextReviewAt: ProgramRules.nextAnniversary(enrolled: now, after: now), graceUsed: 0, referredBy: nil, lastSequence: 0)
            try account.insert(db)
            try events.traits(db, account, at: now, suffix: "enrolled-traits")
            var event = Cx_Loyalty_V1_LoyaltyEvent()
            event.kind = .enrolled
            event.occurredAt = .init(date: now)
            event.toTier = account.tier
            try events.journey(db, account, suffix: "enrolled", event)
            var response = Cx_Loyalty_V1_EnrollResponse()
            response.account = try AccountView.make(db, account, program: program, now: now)
            return response
        }
    }

    func getAccount(_ request: Cx_Loyalty_V1_GetAccountRequest, _ context: ServerContext) async throws
        -> Cx_Loyalty_V1_GetAccountResponse
    {
        let id = request.customerID
        try RequestCheck.id(id, field: "customer_id")
        let now = clock()
        let programs = self.programs
        return try await store.read { db in
            let record = try AccountRecord.require(db, id)
            var response = Cx_Loyalty_V1_GetAccountResponse()
            response.account = try AccountView.make(db, record, program: try programs.value(db), now: now)
            return response
        }
    }

    func listLedger(_ request: Cx_Loyalty_V1_ListLedgerRequest, _ context: ServerContext) async throws
        -> Cx_Loyalty_V1_ListLedgerResponse
    {
        let page = try await accountPage(
            request.customerID, pageSize: request.pageSize, pageToken: request.pageToken, method: "ListLedger", table: "ledger",
            columns: "sequence, kind, points, balance_after, at, available_at, expires_at, reference, description, program_version",
            item: Self.ledgerEntry, sequence: \.sequence)
        var response = Cx_Loyalty_V1_ListLedgerResponse()
        response.entries = page.items
        response.nextPageToken = page.nextPageToken
        return response
    }

    /// One page of an account's rows that are numbered per account (ledger
    /// entries, tier decisions), newest first, for the List methods.
    func accountPage<Item: Sendable>(
        _ id: String, pageSize: Int32, pageToken: String, method: String, table: String, columns: String,
        item: @escaping @Sendable (Row) throws -> Item, sequence: @escaping @Sendable (Item) -> Int64
    ) async throws -> (items: [Item], nextPageToken: String) {
        try RequestCheck.id(id, field: "customer_id")
        let size = try RequestCheck.pageSize(pageSize)
        let scope = "loyalty.\(method)/\(id)"
        let before = try pager.position(pageToken, scope: scope)?.first.flatMap { Int64($0) } ?? Int64.max
        let items = try await store.read { db in
            _ = try AccountRecord.require(db, id)
            return try Row.fetchAll(
                db,
                sql: "SELECT \(columns) FROM \(table) WHERE customer_id = ? AND sequence < ? ORDER BY sequence DESC LIMIT ?",
                arguments: [id, before, size]
            ).map(item)
        }
        let next = pager.nextToken(scope: scope, last: items.last.map { [String(sequence($0))] }, full: items.count == size)
        return (items, next)
    }

    static func ledgerEntry(_ row: Row) throws -> Cx_Loyalty_V1_LedgerEntry {
        var entry = Cx_Loyalty_V1_LedgerEntry()
        entry.sequence = try row.decode(Int64.self, forColumn: "sequence")
        entry.kind = Cx_Loyalty_V1_LedgerEntry.Kind(rawValue: try row.decode(Int.self, forColumn: "kind")) ?? .unspecified
        entry.points = try row.decode(Int64.self, forColumn: "points")
        entry.balanceAfter = try row.decode(Int64.self, forColumn: "balance_after")
        entry.at = .init(date: Date(timeIntervalSince1970: try row.decode(Double.self, forColumn: "at")))
        if let available = row["available_at"] as Double? { entry.availableAt = .init(date: Date(timeIntervalSince1970: available)) }
        if let expires = row["expires_at"] as Double? { entry.expiresAt = .init(date: Date(timeIntervalSince1970: expires)) }
        entry.reference = try row.decode(String.self, forColumn: "reference")
        entry.description_p = try row.decode(String.self, forColumn: "description")
        entry.programVersion = try row.decode(Int64.self, forColumn: "program_version")
        return entry
    }
}
