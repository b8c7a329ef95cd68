import CXModel
import CXStore
import Foundation
import GRDB

/// How tiers move, and why, in words a customer could be shown. Up at
/// once, whenever the qualifying points reach a higher tier; down only at
/// the yearly review (the enrolment anniversary), one tier at a time, after
/// the program's grace periods.
enum TierPolicy {
    typealias Outcome = Cx_Loyalty_V1_TierDecision.Outcome

    struct Decision: Equatable {
        var outcome: Outcome
        var from: String
        var to: String
        var qualifying: Int64
        var graceUsed: Int32
        var reason: String
    }

    /// The decision for an account in `current` with `qualifying` points.
    /// - Parameters:
    ///   - atReview: the account's anniversary has come (a downgrade may happen).
    ///   - nextReview: the review after this one, for the reason's words.
    static func decide(
        current: String, qualifying: Int64, program: Cx_Loyalty_V1_Program, atReview: Bool, graceUsed: Int32, nextReview: Date
    ) -> Decision {
        let target = ProgramRules.tierIndex(qualifying: qualifying, in: program)
        let window = ProgramRules.windowWords(program.qualificationWindowMonths)
        let points = "\(ProgramRules.grouped(qualifying)) qualifying points in \(window)"
        func threshold(_ index: Int) -> String { ProgramRules.grouped(program.tiers[index].qualifyingPoints) }
        let targetName = program.tiers[target].name

        guard let index = ProgramRules.tierIndex(named: current, in: program) else {
            return Decision(
                outcome: target == 0 ? .down : .up, from: current, to: targetName, qualifying: qualifying, graceUsed: 0,
                reason: "\(targetName): \(points), threshold \(threshold(target)); the program no longer has the tier \(current)")
        }
        if target > index {
            return Decision(
                outcome: .up, from: current, to: targetName, qualifying: qualifying, graceUsed: 0,
                reason: "\(targetName): \(points), threshold \(threshold(target))")
        }
        if target == index {
            let kept = atReview ? " (kept at the yearly review)" : ""
            return Decision(
                outcome: .unchanged, from: current, to: current, qualifying: qualifying, graceUsed: atReview ? 0 : graceUsed,
                reason: "\(current): \(points), threshold \(threshold(index))\(kept)")
        }
        // Short of the current tier.
        guard atReview else {
            return Decision(
                outcome: .unchanged, from: current, to: current, qualifying: qualifying, graceUsed: graceUsed,
                reason: "\(current): \(points), below its threshold of \(threshold(index)); "
                    + "tiers move down only at the yearly review, next on \(ProgramRules.day(nextReview))")
        }
        if graceUsed < program.downgrade.gracePeriods {
            let left = program.downgrade.gracePeriods - graceUsed - 1
            return Decision(
                outcome: .grace, from: current, to: current, qualifying: qualifying, graceUsed: graceUsed + 1,
                reason: "\(current) kept on a grace period: \(points), below its threshold of \(threshold(index)); "
                    + "\(left == 0 ? "no grace periods left" : "\(left) grace period\(left == 1 ? "" : "s") left"): "
                    + "without \(threshold(index)) by \(ProgramRules.day(nextReview)) the tier moves down to \(program.tiers[index - 1].name)")
        }
        let lower = program.tiers[index - 1].name
        return Decision(
            outcome: .down, from: current, to: lower, qualifying: qualifying, graceUsed: graceUsed,
            reason: "\(lower): \(points), below \(current)'s threshold of \(threshold(index)); "
                + "tiers move down one at a time at the yearly review")
    }

    /// Evaluates `account` at `now`, applies the decision to it (the caller
    /// saves the account), stores the decision when it moved the tier, used
    /// a grace period or was a yearly review, and tells profiles and journey
    /// of a tier change. Returns the decision either way.
    static func evaluate(
        _ db: Database, _ account: inout AccountRecord, program: Cx_Loyalty_V1_Program, now: Date, events: LoyaltyEvents
    ) throws -> (Cx_Loyalty_V1_TierDecision, stored: Bool) {
        let sum = try AccountView.qualifyingPoints(db, account, program: program, now: now)
        let qualifying = sum.points
        account.qualifyingFloor = sum.floor
        account.qualifyingFloorAt = sum.floorAt
        let atReview = now >= account.nextReviewAt
        if atReview { account.nextReviewAt = ProgramRules.nextAnniversary(enrolled: account.enrolledAt, after: now) }
        let decision = decide(
            current: account.tier, qualifying: qualifying, program: program, atReview: atReview, graceUsed: account.graceUsed,
            nextReview: account.nextReviewAt)
        account.graceUsed = decision.graceUsed
        var message = Cx_Loyalty_V1_TierDecision()
        message.customerID = account.customerID
        message.outcome = decision.outcome
        message.fromTier = decision.from
        message.toTier = decision.to
        message.qualifyingPoints = qualifying
        message.reason = decision.reason
        message.decidedAt = .init(date: now)
        message.programVersion = program.version
        guard decision.outcome != .unchanged || atReview else { return (message, false) }
        let sequence = try record(db, message)
        if decision.to != decision.from {
            account.tier = decision.to
            account.tierSince = now
            try events.traits(db, account, at: now, suffix: "tier\(sequence)-traits")
            var event = Cx_Loyalty_V1_LoyaltyEvent()
            event.kind = .tierChanged
            event.occurredAt = .init(date: now)
            event.fromTier = decision.from
            event.toTier = decision.to
            event.reason = decision.reason
            try events.journey(db, account, suffix: "tier\(sequence)", event)
        }
        return (message, true)
    }

    /// Stores a decision; returns its sequence within the account.
    static func record(_ db: Database, _ decision: Cx_Loyalty_V1_TierDecision) throws -> Int64 {
        let sequence = (try Int64.fetchOne(
            db.cachedStatement(sql: "SELECT MAX(sequence) FROM tier_decision WHERE customer_id = ?"),
            arguments: [decision.customerID]) ?? 0) + 1
        try db.cachedStatement(
            sql: """
                INSERT INTO tier_decision (customer_id, sequence, decided_at, outcome, from_tier, to_tier, body)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            decision.customerID, sequence, decision.decidedAt.date.timeIntervalSince1970, decision.outcome.rawValue,
            decision.fromTier, decision.toTier, try RecordBody(decision),
        ])
        return sequence
    }
}
