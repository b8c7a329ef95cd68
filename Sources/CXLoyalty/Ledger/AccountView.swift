import CXModel
import Foundation
import GRDB

/// An account as a customer sees it: balances, tier, qualifying points and
/// the progress to the next tier.
enum AccountView {
    /// How long after an entry's own time (`at`) it may count for tiers
    /// (`counts_at`): a purchase counts at its purchase time, which is at
    /// most 5 minutes after it is recorded, and a refund at its purchase's
    /// time, before the refund. A day leaves room for a clock set back.
    static let countsAtMostAfter: TimeInterval = 86_400

    /// An account's qualifying points, and where the next sum may start reading.
    struct Qualifying {
        var points: Int64
        /// Keep in the account (``AccountRecord/qualifyingFloor``) when it is saved.
        var floor: Int64
        var floorAt: Double
    }

    /// Purchase points (before multipliers) earned in the window ending
    /// `now`, net of refunds: read from the account's own ledger rows, which
    /// lie together in the table, so no index of purchases by customer has
    /// to be kept up to date on every purchase.
    ///
    /// The read starts at the account's qualifying floor when the floor is
    /// good for this window, so a customer with years of history reads only
    /// about the window's entries instead of all of them on every purchase. The
    /// same read finds the next floor: the first entry recorded less than
    /// ``countsAtMostAfter`` before the window's start (everything before it
    /// counts before the start). A window that moved back (the program's
    /// got longer) reads from the first entry and finds the floor again.
    static func qualifyingPoints(_ db: Database, _ account: AccountRecord, program: Cx_Loyalty_V1_Program, now: Date) throws -> Qualifying {
        let start = ProgramRules.adding(months: -Int(program.qualificationWindowMonths), to: now).timeIntervalSince1970
        let from = account.qualifyingFloorAt <= start ? account.qualifyingFloor : 0
        let (points, first) = try db.cachedStatement(
            sql: """
                SELECT COALESCE(SUM(CASE WHEN counts_at >= ? THEN qualifying ELSE 0 END), 0),
                       MIN(CASE WHEN at >= ? THEN sequence END)
                FROM ledger WHERE customer_id = ? AND sequence >= ?
                """
        ).first(.real(start), .real(start - countsAtMostAfter), .text(account.customerID), .integer(from)) { row in
            (try row.decode(Int64.self, atIndex: 0), row[1] as Int64?)
        } ?? (0, nil)
        return Qualifying(points: points, floor: first ?? account.lastSequence + 1, floorAt: start)
    }

    /// - Parameter qualifying: the account's qualifying points at `now` when
    ///   the caller has them already (a purchase's tier check read them).
    static func make(_ db: Database, _ record: AccountRecord, program: Cx_Loyalty_V1_Program, now: Date, qualifying known: Int64? = nil)
        throws -> Cx_Loyalty_V1_Account
    {
        let balances = Ledger.balances(record, now: now)
        let qualifying = try known ?? qualifyingPoints(db, record, program: program, now: now).points
        var account = Cx_Loyalty_V1_Account()
        account.customerID = record.customerID
        account.tier = record.tier
        account.spendablePoints = balances.spendable
        account.pendingPoints = balances.pending
        account.qualifyingPoints = qualifying
        account.currency = record.currency
        account.lifetimeSpend = .with {
            $0.minorUnits = record.lifetimeSpend
            $0.currency = record.currency
        }
        account.purchaseCount = record.purchaseCount
        account.enrolledAt = .init(date: record.enrolledAt)
        account.tierSince = .init(date: record.tierSince)
        account.nextReviewAt = .init(date: record.nextReviewAt)
        account.graceRemaining = max(0, program.downgrade.gracePeriods - record.graceUsed)
        account.expiringSoonPoints = balances.expiringSoon
        if let next = balances.nextExpiry { account.nextExpiryAt = .init(date: next) }
        account.referredBy = record.referredBy ?? ""
        let index = ProgramRules.tierIndex(named: record.tier, in: program)
        if let index { account.benefits = program.tiers[index].benefits }
        let currentIndex = index ?? ProgramRules.tierIndex(qualifying: qualifying, in: program)
        if currentIndex + 1 < program.tiers.count {
            account.progress = progress(to: program.tiers[currentIndex + 1], qualifying: qualifying, currency: record.currency, program: program)
        }
        return account
    }

    static func progress(to next: Cx_Loyalty_V1_Tier, qualifying: Int64, currency: String, program: Cx_Loyalty_V1_Program)
        -> Cx_Loyalty_V1_TierProgress
    {
        var progress = Cx_Loyalty_V1_TierProgress()
        progress.nextTier = next.name
        let needed = max(0, next.qualifyingPoints - qualifying)
        progress.pointsNeeded = needed
        if let rate = ProgramRules.rate(program, currency: currency) {
            // Whole units of the rate, rounded up: the least spend that earns `needed` base points.
            let units = (needed + rate.pointsPerUnit - 1) / rate.pointsPerUnit
            let (spend, overflow) = units.multipliedReportingOverflow(by: rate.unitMinorUnits)
            progress.spendNeeded = .with {
                $0.minorUnits = overflow ? Int64.max : spend
                $0.currency = currency
            }
        }
        progress.percent = next.qualifyingPoints > 0 ? Int32(min(100, max(0, qualifying * 100 / next.qualifyingPoints))) : 100
        return progress
    }
}
