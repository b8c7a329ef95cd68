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
    /// Unspent, unexpired-or-not-yet-swept points, soonest expiry first.
    var lots: [PointLot] = []
    /// Every ledger entry below this sequence counts for tiers before
    /// `qualifyingFloorAt`: a qualifying sum for a window starting then or
    /// later reads the ledger from here (see ``AccountView/qualifyingPoints(_:_:program:now:)``).
    var qualifyingFloor: Int64 = 0
    var qualifyingFloorAt: Double = 0
    /// `next_expiry_at` as read, so an update rewrites its index entry only when it moved.
    var storedNextExpiry: Double? = nil
    /// `tier` as read, for the same reason (`account_by_tier`).
    var storedTier: String? = nil

    /// The soonest expiry of any lot: what ExpirePoints looks accounts up by.
    var nextExpiry: Double? { lots.first.map { $0.expiresAt.timeIntervalSince1970 } }

    static func load(_ db: Database, _ id: String) throws -> AccountRecord? {
        try db.cachedStatement(
            sql: """
                SELECT tier, balance, currency, lifetime_spend, purchase_count, last_purchase_at, enrolled_at,
                       tier_since, next_review_at, grace_used, referred_by, last_sequence, lots, next_expiry_at,
                       qualifying_floor, qualifying_floor_at
                FROM account WHERE customer_id = ?
                """
        ).first(.text(id)) { row in
            AccountRecord(
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
                lastSequence: try row.decode(Int64.self, atIndex: 11),
                lots: try PointLot.decode(try row.decode(Data.self, atIndex: 12), account: id),
                qualifyingFloor: try row.decode(Int64.self, atIndex: 14),
                qualifyingFloorAt: try row.decode(Double.self, atIndex: 15),
                storedNextExpiry: row[13],
                storedTier: try row.decode(String.self, atIndex: 0))
        }
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
                    enrolled_at, tier_since, next_review_at, grace_used, referred_by, last_sequence, lots, next_expiry_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            customerID, tier, balance, currency, lifetimeSpend, purchaseCount, lastPurchaseAt?.timeIntervalSince1970,
            enrolledAt.timeIntervalSince1970, tierSince.timeIntervalSince1970, nextReviewAt.timeIntervalSince1970,
            graceUsed, referredBy, lastSequence, PointLot.encode(lots), nextExpiry,
        ])
    }

    /// Saves the account. The indexed columns are written only when they
    /// moved: `tier` seldom, `next_expiry_at` seldom too (a purchase's lot
    /// expires last). SQLite rewrites an index entry for every indexed column
    /// a SET names, changed or not, so naming `tier` here cost every purchase
    /// an extra page of account_by_tier in the log.
    mutating func update(_ db: Database) throws {
        try db.cachedStatement(
            sql: """
                UPDATE account SET balance = ?, lifetime_spend = ?, purchase_count = ?, last_purchase_at = ?,
                    tier_since = ?, next_review_at = ?, grace_used = ?, referred_by = ?, last_sequence = ?, lots = ?,
                    qualifying_floor = ?, qualifying_floor_at = ?
                WHERE customer_id = ?
                """
        ).run(
            .integer(balance), .integer(lifetimeSpend), .integer(purchaseCount), .seconds(orNull: lastPurchaseAt), .seconds(tierSince),
            .seconds(nextReviewAt), .integer(graceUsed), .text(orNull: referredBy), .integer(lastSequence), .blob(PointLot.encode(lots)),
            .integer(qualifyingFloor), .real(qualifyingFloorAt), .text(customerID))
        if tier != storedTier {
            try db.cachedStatement(sql: "UPDATE account SET tier = ? WHERE customer_id = ?").execute(arguments: [tier, customerID])
            storedTier = tier
        }
        let next = nextExpiry
        if next != storedNextExpiry {
            try db.cachedStatement(sql: "UPDATE account SET next_expiry_at = ? WHERE customer_id = ?").execute(arguments: [next, customerID])
            storedNextExpiry = next
        }
    }
}

/// A piece of points with one availability and expiry: an unspent part of
/// an earning entry, or what a redemption took from one.
///
/// An account's lots are stored in its row as 32 bytes each (sequence,
/// points, and the two dates as the bits of their seconds since 1970, all
/// little-endian): an account holds at most the lots of its last
/// `expiry_months`, and reading or rewriting a few hundred bytes with the
/// row costs less than a table of lots with an index, whose rows each
/// purchase would insert at a random place.
struct PointLot: Sendable, Equatable {
    var sequence: Int64
    var points: Int64
    var availableAt: Date
    var expiresAt: Date

    static let encodedSize = 32

    static func encode(_ lots: [PointLot]) -> Data {
        var data = Data(count: lots.count * encodedSize)
        data.withUnsafeMutableBytes { bytes in
            for (index, lot) in lots.enumerated() {
                let offset = index * encodedSize
                bytes.storeBytes(of: UInt64(bitPattern: lot.sequence).littleEndian, toByteOffset: offset, as: UInt64.self)
                bytes.storeBytes(of: UInt64(bitPattern: lot.points).littleEndian, toByteOffset: offset + 8, as: UInt64.self)
                bytes.storeBytes(of: lot.availableAt.timeIntervalSince1970.bitPattern.littleEndian, toByteOffset: offset + 16, as: UInt64.self)
                bytes.storeBytes(of: lot.expiresAt.timeIntervalSince1970.bitPattern.littleEndian, toByteOffset: offset + 24, as: UInt64.self)
            }
        }
        return data
    }

    static func decode(_ data: Data, account: String) throws -> [PointLot] {
        guard data.count % encodedSize == 0 else {
            throw StoreError.corruptBody(table: "account", key: account, reason: "lots are \(data.count) bytes, not a multiple of \(encodedSize)")
        }
        let bytes = [UInt8](data)
        func word(_ offset: Int) -> UInt64 {
            var value: UInt64 = 0
            for index in 0..<8 { value |= UInt64(bytes[offset + index]) << (8 * index) }
            return value
        }
        return stride(from: 0, to: bytes.count, by: encodedSize).map { offset in
            PointLot(
                sequence: Int64(bitPattern: word(offset)), points: Int64(bitPattern: word(offset + 8)),
                availableAt: Date(timeIntervalSince1970: Double(bitPattern: word(offset + 16))),
                expiresAt: Date(timeIntervalSince1970: Double(bitPattern: word(offset + 24))))
        }
    }

    /// Soonest expiry first; among equals, the oldest entry.
    static func soonestFirst(_ a: PointLot, _ b: PointLot) -> Bool {
        (a.expiresAt, a.sequence) < (b.expiresAt, b.sequence)
    }
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
/// `account.balance == SUM(account.lots.points)`; the caller saves the
/// account (``AccountRecord/update(_:)``) before the transaction ends.
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
        /// Purchase points (before multipliers) this entry adds to the
        /// tier qualification, counted at `countsAt` (the purchase's time,
        /// also for its refunds).
        var qualifying: Int64 = 0
        var countsAt: Date? = nil
    }

    /// Appends `entry`, moves the balance, and (for a positive entry with
    /// dates) adds its lot. Returns the entry's sequence.
    @discardableResult
    static func append(_ db: Database, _ account: inout AccountRecord, _ entry: Entry) throws -> Int64 {
        let (balance, overflow) = account.balance.addingReportingOverflow(entry.points)
        guard !overflow else {
            throw RPCError(
                code: .outOfRange, message: "\(account.customerID)'s balance cannot hold \(entry.points) more points", reason: "BALANCE_OVERFLOW")
        }
        guard balance >= 0 else {
            // A bug, never a user error: every caller takes only what lots hold.
            throw RPCError(code: .internal, message: "ledger entry would make \(account.customerID)'s balance negative")
        }
        account.lastSequence += 1
        account.balance = balance
        try db.cachedStatement(
            sql: """
                INSERT INTO ledger (customer_id, sequence, kind, points, balance_after, at, available_at, expires_at,
                    reference, description, program_version, qualifying, counts_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).run(
            .text(account.customerID), .integer(account.lastSequence), .integer(entry.kind.rawValue), .integer(entry.points),
            .integer(balance), .seconds(entry.at), .seconds(orNull: entry.availableAt), .seconds(orNull: entry.expiresAt),
            .text(entry.reference), .text(entry.description), .integer(entry.programVersion), .integer(entry.qualifying),
            .seconds(orNull: entry.countsAt))
        if entry.points > 0, let availableAt = entry.availableAt, let expiresAt = entry.expiresAt {
            let lot = PointLot(sequence: account.lastSequence, points: entry.points, availableAt: availableAt, expiresAt: expiresAt)
            let index = account.lots.firstIndex { PointLot.soonestFirst(lot, $0) } ?? account.lots.count
            account.lots.insert(lot, at: index)
        } else if entry.points > 0 {
            throw RPCError(code: .internal, message: "a positive ledger entry for \(account.customerID) has no dates")
        }
        return account.lastSequence
    }

    static func balances(_ account: AccountRecord, now: Date) -> Balances {
        var balances = Balances()
        let soon = now.addingTimeInterval(30 * 86_400)
        for lot in account.lots where lot.expiresAt > now {
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
        guard let first = account.lots.first, first.expiresAt <= now else { return 0 }
        let expired = account.lots.filter { $0.expiresAt <= now }
        account.lots.removeAll { $0.expiresAt <= now }
        let total = expired.reduce(0) { $0 + $1.points }
        try append(
            db, &account,
            Entry(
                kind: .expiry, points: -total, at: now, reference: "expiry",
                description: "\(ProgramRules.grouped(total)) points expired (the first on \(ProgramRules.day(first.expiresAt)))",
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
    static func take(_ account: inout AccountRecord, points: Int64, from source: Source, now: Date) -> [PointLot] {
        let live = account.lots.indices.filter { account.lots[$0].expiresAt > now }
        let order: [Int]
        switch source {
        case .spendable:
            order = live.filter { account.lots[$0].availableAt <= now }
        case .refund(let orderLot):
            let own = live.filter { account.lots[$0].sequence == orderLot }
            let available = live.filter { account.lots[$0].sequence != orderLot && account.lots[$0].availableAt <= now }
            let pending = live.filter { account.lots[$0].sequence != orderLot && account.lots[$0].availableAt > now }
            order = own + available + pending
        }
        var left = points
        var taken: [PointLot] = []
        for index in order where left > 0 {
            let lot = account.lots[index]
            let piece = min(lot.points, left)
            left -= piece
            account.lots[index].points -= piece
            taken.append(PointLot(sequence: lot.sequence, points: piece, availableAt: lot.availableAt, expiresAt: lot.expiresAt))
        }
        account.lots.removeAll { $0.points == 0 }
        return taken
    }
}
