import CXModel
import Foundation
import GRDB

/// An account as a customer sees it: balances, tier, qualifying points and
/// the progress to the next tier.
enum AccountView {
    /// Purchase points (before multipliers) earned in the window ending
    /// `now`, net of refunds: read from the account's own ledger rows, which
    /// lie together in the table, so no index of purchases by customer has
    /// to be kept up to date on every purchase.
    static func qualifyingPoints(_ db: Database, _ customerID: String, program: Cx_Loyalty_V1_Program, now: Date) throws -> Int64 {
        let start = ProgramRules.adding(months: -Int(program.qualificationWindowMonths), to: now)
        return try db.cachedStatement(
            sql: """
                SELECT COALESCE(SUM(qualifying), 0) FROM ledger
                WHERE customer_id = ? AND counts_at >= ?
                """
        ).first(.text(customerID), .seconds(start)) { row in try row.decode(Int64.self, atIndex: 0) } ?? 0
    }

    /// - Parameter qualifying: the account's qualifying points at `now` when
    ///   the caller has them already (a purchase's tier check read them).
    static func make(_ db: Database, _ record: AccountRecord, program: Cx_Loyalty_V1_Program, now: Date, qualifying known: Int64? = nil)
        throws -> Cx_Loyalty_V1_Account
    {
        let balances = Ledger.balances(record, now: now)
        let qualifying = try known ?? qualifyingPoints(db, record.customerID, program: program, now: now)
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
