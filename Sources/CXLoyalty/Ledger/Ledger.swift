import CXModel
import CXStore
import CXWire
import Foundation
import GRDB

/// One loyalty account's row: the balance and what the tier policy needs.
struct AccountRecord: Sendable, Equatable {
    var customerID: String
    var tier: String
    /// Spendable + pending + expired-but-not-yet-swept: the sum of the ledger.
    var balance: Int64
    var currency: String
    var lifetimeSpend: Int64
    var purchaseCount: Int64
    var lastPurchaseAt: Date?
    var enrolledAt: Date
    var tierSince: Date
    var nextReviewAt: Date
    var graceUsed: Int32
    var referredBy: String?
    /// The last ledger entry's sequence.
    var lastSequence: Int64

    static func load(_ db: Database, _ id: String) throws -> AccountRecord? {
        guard let row = try Row.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT tier, balance, currency, lifetime_spend, purchase_count, last_purchase_at, enrolled_at,
                           tier_since, next_review_at, grace_used, referred_by, last_sequence
                    FROM account WHERE customer_id = ?
                    """),
            arguments: [id])
        else { return nil }
        return AccountRecord(
            customerID: id,
            tier: try row.decode(String.self, atIndex: 0),
            balance: try row.decode(Int64.self, atIndex: 1),
            currency: try row.decode(String.self, atIndex: 2),
            lifetimeSpend: try row.decode(Int64.self, atIndex: 3),
            purchaseCount: try row.decode(Int64.self, atIndex: 4),
            lastPurchaseAt: (row[5] as Double?).map(Date.init(timeIntervalSince1970:)),
            enrolledAt: Date(timeIntervalSince1970: try row.decode(Double.self, atIndex: 6)),
            tierSince: Date(timeIntervalSince1970: try row.decode(Double.self, atIndex: 7)),
            nextReviewAt: Date(timeIntervalSince1970: try row.decode(Double.self, atIndex: 8)),
            graceUsed: try row.decode(Int32.self, atIndex: 9),
            referredBy: row[10],
            lastSequence: try row.decode(Int64.self, atIndex: 11))
    }

    /// The account, or NOT_FOUND naming the customer.
    static func require(_ db: Database, _ id: String) throws -> AccountRecord {
        guard let account = try load(db, id) else { throw LoyaltyErrors.accountNotFound(id) }
        return account
    }

    func insert(_ db: Database) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO account (customer_id, tier, balance, currency, lifetime_spend, purchase_count, last_purchase_at,
                    enrolled_at, tier_since, next_review_at, grace_used, referred_by, last_sequence)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            customerID, tier, balance, currency, lifetimeSpend, purchaseCount, lastPurchaseAt?.timeIntervalSince1970,
            enrolledAt.timeIntervalSince1970, tierSince.timeIntervalSince1970, nextReviewAt.timeIntervalSince1970,
            graceUsed, referredBy, lastSequence,
        ])
    }

    func update(_ db: Database) throws {
        try db.cachedStatement(
            sql: """
                UPDATE account SET tier = ?, balance = ?, lifetime_spend = ?, purchase_count = ?, last_purchase_at = ?,
                    tier_since = ?, next_review_at = ?, grace_used = ?, referred_by = ?, last_sequence = ?
                WHERE customer_id = ?
                """
        ).execute(arguments: [
            tier, balance, lifetimeSpend, purchaseCount, lastPurchaseAt?.timeIntervalSince1970, tierSince.timeIntervalSince1970,
            nextReviewAt.timeIntervalSince1970, graceUsed, referredBy, lastSequence, customerID,
        ])
    }
}

/// A piece of points with one availability and expiry: an unspent part of
/// an earning entry, or what a redemption took from one.
struct PointLot: Sendable, Equatable {
    var sequence: Int64
    var points: Int64
    var availableAt: Date
    var expiresAt: Date
}

/// What an account can spend now, what is waiting, and what expires soon.
struct Balances: Sendable, Equatable {
    var spendable: Int64 = 0
    var pending: Int64 = 0
    var expiringSoon: Int64 = 0
    var nextExpiry: Date?
}

/// The append-only ledger and the lots beside it. Every function runs in
/// the caller's write transaction and keeps two equalities true:
/// `account.balance == SUM(ledger.points)` and
/// `account.balance == SUM(lot.remaining)`.
enum Ledger {
    typealias Kind = Cx_Loyalty_V1_LedgerEntry.Kind

    struct Entry {
        var kind: Kind
        var points: Int64
        var at: Date
        /// For positive entries: they become a lot with these dates.
        var availableAt: Date? = nil
        var expiresAt: Date? = nil
        var reference: String
        var description: String
        var programVersion: Int64
    }

    /// Appends `entry`, moves the balance, and (for a positive entry with
    /// dates) adds its lot. Returns the entry's sequence.
    @discardableResult
    static func append(_ db: Database, _ account: inout AccountRecord, _ entry: Entry) throws -> Int64 {
        let balance = account.balance + entry.points
        guard balance >= 0 else {
            // A bug, never a user error: every caller takes only what lots hold.
            throw RPCError(code: .internal, message: "ledger entry would make \(account.customerID)'s balance negative")
        }
        account.lastSequence += 1
        account.balance = balance
        try db.cachedStatement(
            sql: """
                INSERT INTO ledger (customer_id, sequence, kind, points, balance_after, at, available_at, expires_at,
                    reference, description, program_version)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            account.customerID, account.lastSequence, entry.kind.rawValue, entry.points, balance, entry.at.timeIntervalSince1970,
            entry.availableAt?.timeIntervalSince1970, entry.expiresAt?.timeIntervalSince1970, entry.reference,
            entry.description, entry.programVersion,
        ])
        if entry.points > 0, let availableAt = entry.availableAt, let expiresAt = entry.expiresAt {
            try db.cachedStatement(
                sql: "INSERT INTO lot (customer_id, sequence, remaining, available_at, expires_at) VALUES (?, ?, ?, ?, ?)"
            ).execute(arguments: [
                account.customerID, account.lastSequence, entry.points, availableAt.timeIntervalSince1970, expiresAt.timeIntervalSince1970,
            ])
        }
        return account.lastSequence
    }

    /// The account's lots, soonest expiry first.
    static func lots(_ db: Database, _ customerID: String) throws -> [PointLot] {
        try Row.fetchAll(
            db.cachedStatement(
                sql: "SELECT sequence, remaining, available_at, expires_at FROM lot WHERE customer_id = ? ORDER BY expires_at, sequence"),
            arguments: [customerID]
        ).map { row in
            PointLot(
                sequence: try row.decode(Int64.self, atIndex: 0), points: try row.decode(Int64.self, atIndex: 1),
                availableAt: Date(timeIntervalSince1970: try row.decode(Double.self, atIndex: 2)),
                expiresAt: Date(timeIntervalSince1970: try row.decode(Double.self, atIndex: 3)))
        }
    }

    static func balances(_ db: Database, _ customerID: String, now: Date) throws -> Balances {
        var balances = Balances()
        let soon = now.addingTimeInterval(30 * 86_400)
        for lot in try lots(db, customerID) where lot.expiresAt > now {
            if lot.availableAt <= now { balances.spendable += lot.points } else { balances.pending += lot.points }
            if lot.expiresAt <= soon { balances.expiringSoon += lot.points }
            balances.nextExpiry = min(balances.nextExpiry ?? lot.expiresAt, lot.expiresAt)
        }
        return balances
    }

    /// Writes an EXPIRY entry for every lot past its expiry. Returns the
    /// points expired.
    @discardableResult
    static func expireDue(_ db: Database, _ account: inout AccountRecord, now: Date, programVersion: Int64) throws -> Int64 {
        let expired = try lots(db, account.customerID).filter { $0.expiresAt <= now }
        guard !expired.isEmpty else { return 0 }
        let total = expired.reduce(0) { $0 + $1.points }
        let delete = try db.cachedStatement(sql: "DELETE FROM lot WHERE customer_id = ? AND sequence = ?")
        for lot in expired { try delete.execute(arguments: [account.customerID, lot.sequence]) }
        let first = expired.map(\.expiresAt).min()!
        try append(
            db, &account,
            Entry(
                kind: .expiry, points: -total, at: now, reference: "expiry",
                description: "\(ProgramRules.grouped(total)) points expired (the first on \(ProgramRules.day(first)))",
                programVersion: programVersion))
        return total
    }

    /// Where points are taken from.
    enum Source {
        /// Spendable lots only (a redemption).
        case spendable
        /// The given lot first, whatever its state, then spendable lots,
        /// then pending ones (a refund taking back an order's points).
        case refund(orderLot: Int64)
    }

    /// Takes up to `points` from the account's lots, soonest expiry first,
    /// and returns the pieces taken (the caller appends the ledger entry).
    static func take(_ db: Database, _ customerID: String, points: Int64, from source: Source, now: Date) throws -> [PointLot] {
        var lots = try lots(db, customerID).filter { $0.expiresAt > now }
        switch source {
        case .spendable:
            lots = lots.filter { $0.availableAt <= now }
        case .refund(let orderLot):
            let own = lots.filter { $0.sequence == orderLot }
            let available = lots.filter { $0.sequence != orderLot && $0.availableAt <= now }
            let pending = lots.filter { $0.sequence != orderLot && $0.availableAt > now }
            lots = own + available + pending
        }
        var left = points
        var taken: [PointLot] = []
        let update = try db.cachedStatement(sql: "UPDATE lot SET remaining = ? WHERE customer_id = ? AND sequence = ?")
        let delete = try db.cachedStatement(sql: "DELETE FROM lot WHERE customer_id = ? AND sequence = ?")
        for lot in lots where left > 0 {
            let piece = min(lot.points, left)
            left -= piece
            if piece == lot.points {
                try delete.execute(arguments: [customerID, lot.sequence])
            } else {
                try update.execute(arguments: [lot.points - piece, customerID, lot.sequence])
            }
            taken.append(PointLot(sequence: lot.sequence, points: piece, availableAt: lot.availableAt, expiresAt: lot.expiresAt))
        }
        return taken
    }
}
