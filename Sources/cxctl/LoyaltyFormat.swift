import ArgumentParser
import CXModel
import Foundation
import SwiftProtobuf

/// Money from the command line, read exactly: the decimal text is taken
/// apart as digits, never as a floating-point number.
enum LoyaltyMoney {
    /// An ISO 4217 code, any case: "usd" is USD.
    static func currency(_ text: String, flag: String) throws -> String {
        let code = text.uppercased()
        guard code.utf8.count == 3, code.utf8.allSatisfy({ (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }) else {
            throw ValidationError("\(flag): \"\(text)\" is not an ISO 4217 currency code such as IRR, USD or EUR")
        }
        return code
    }

    /// `text`, an amount in major units of `currency`, in minor units:
    /// "12.34" USD is 1234, "1,250,000" IRR is 125000000 (IRR has two
    /// decimals, as ISO 4217 says; ProfilesFormat.exponents has the table).
    /// Persian and Arabic-Indic digits and separators are read too. More
    /// than 0; no more decimals than the currency has.
    static func minorUnits(_ text: String, currency: String, flag: String) throws -> Int64 {
        let exponent = ProfilesFormat.exponent(of: currency)
        let example = ProfilesFormat.amount(exponent == 0 ? 1_250_000 : 125_000_050, currency: "")
        func refuse(_ why: String) -> ValidationError {
            ValidationError("\(flag): \"\(text)\" \(why)")
        }
        let plain = CXText.normalize(text).replacingOccurrences(of: "\u{066B}", with: ".")
            .replacingOccurrences(of: "\u{066C}", with: ",")
        if plain.hasPrefix("-") { throw refuse("is negative; an amount must be more than 0") }
        let parts = plain.split(separator: ".", omittingEmptySubsequences: false)
        let isDigits = { (part: Substring) in !part.isEmpty && part.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) } }
        let groups = parts[0].split(separator: ",", omittingEmptySubsequences: false)
        let wellGrouped = groups.count == 1 || (groups[0].count <= 3 && groups.dropFirst().allSatisfy { $0.count == 3 })
        guard parts.count <= 2, groups.allSatisfy(isDigits), wellGrouped, parts.count == 1 || isDigits(parts[1]) else {
            throw refuse(
                "is not an amount in major units like \(example) (\".\" before the decimals, \",\" only between groups of three digits)")
        }
        let fraction = parts.count == 2 ? parts[1] : ""
        guard fraction.count <= exponent else {
            throw refuse(
                exponent == 0
                    ? "has decimals, but \(currency) has no minor unit"
                    : "has \(fraction.count) decimals; \(currency) has \(exponent) (use --minor-units for the exact minor units)")
        }
        let digits = groups.joined() + fraction + String(repeating: "0", count: exponent - fraction.count)
        guard let value = Int64(digits) else { throw refuse("is too large") }
        guard value > 0 else { throw refuse("must be more than 0") }
        return value
    }
}

/// How the loyalty commands show values in tables (money and times as the
/// profiles commands show them: ProfilesFormat).
enum LoyaltyFormat {
    /// 1250 → "1,250"; -300 → "-300".
    static func points(_ value: Int64) -> String {
        (value < 0 ? "-" : "") + ProfilesFormat.grouped(value.magnitude)
    }

    /// 1250 → "+1,250"; -300 → "-300"; 0 → "0".
    static func signed(_ value: Int64) -> String {
        (value > 0 ? "+" : "") + points(value)
    }

    /// An earn multiplier: 150 → "1.5x", 125 → "1.25x", 200 → "2x".
    static func multiplier(_ percent: Int32) -> String {
        var text = "\(percent / 100)"
        let cents = percent % 100
        if cents != 0 { text += cents % 10 == 0 ? ".\(cents / 10)" : (cents < 10 ? ".0\(cents)" : ".\(cents)") }
        return text + "x"
    }

    /// 27 → "[#####---------------] 27%".
    static func bar(_ percent: Int32) -> String {
        let filled = Int(max(0, min(100, percent))) / 5
        return "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: 20 - filled) + "] \(percent)%"
    }

    /// 1234 basis points → "12.34%".
    static func basisPoints(_ value: Int64) -> String {
        let magnitude = value.magnitude
        let cents = magnitude % 100
        return (value < 0 ? "-" : "") + "\(magnitude / 100).\(cents < 10 ? "0" : "")\(cents)%"
    }

    /// `part` of `whole` as "80.0%"; "-" when the whole is 0.
    static func share(_ part: Int64, of whole: Int64) -> String {
        whole > 0 ? ProfilesFormat.share(Double(part) / Double(whole)) : "-"
    }

    /// Several amounts, one per currency: "1,000.00 IRR; 5.00 USD"; "-" for none.
    static func amounts(_ money: [Cx_Common_V1_Money]) -> String {
        money.isEmpty ? "-" : money.map { ProfilesFormat.money($0) }.joined(separator: "; ")
    }
}

/// The words the loyalty commands use for the contract's enums.
enum LoyaltyNames {
    static func ledgerKind(_ kind: Cx_Loyalty_V1_LedgerEntry.Kind) -> String {
        switch kind {
        case .unspecified: "-"
        case .purchase: "purchase"
        case .refund: "refund"
        case .bonus: "bonus"
        case .redemption: "redemption"
        case .redemptionCancelled: "redemption cancelled"
        case .expiry: "expiry"
        case .UNRECOGNIZED(let number): "kind(\(number))"
        }
    }

    static func outcome(_ outcome: Cx_Loyalty_V1_TierDecision.Outcome) -> String {
        switch outcome {
        case .unspecified: "-"
        case .up: "up"
        case .unchanged: "unchanged"
        case .down: "down"
        case .grace: "grace"
        case .UNRECOGNIZED(let number): "outcome(\(number))"
        }
    }

    /// What a benefit is: "10% discount", "5.00 USD off", "gift", ...
    static func benefitKind(_ benefit: Cx_Loyalty_V1_Benefit) -> String {
        switch benefit.kind {
        case .unspecified: "-"
        case .percentDiscount: "\(benefit.percent)% discount"
        case .fixedDiscount: "\(ProfilesFormat.money(benefit.hasAmount ? benefit.amount : nil)) off"
        case .gift: "gift"
        case .service: "service"
        case .prioritySupport: "priority support"
        case .event: "events"
        case .UNRECOGNIZED(let number): "kind(\(number))"
        }
    }

    /// "10% off every purchase (10% discount)".
    static func benefit(_ benefit: Cx_Loyalty_V1_Benefit) -> String {
        "\(ProfilesFormat.text(benefit.description_p)) (\(benefitKind(benefit)))"
    }
}

/// Tables of the loyalty service's messages.
enum LoyaltyView {
    /// Rows of `label` and one benefit each (the label on the first only); "-" for none.
    static func appendBenefits(_ benefits: [Cx_Loyalty_V1_Benefit], label: String, to table: inout Table) {
        if benefits.isEmpty { table.append([label, "-"]) }
        for (index, benefit) in benefits.enumerated() {
            table.append([index == 0 ? label : "", LoyaltyNames.benefit(benefit)])
        }
    }

    /// One account: balances, tier and the way to the next one, benefits.
    static func account(_ account: Cx_Loyalty_V1_Account) -> Table {
        var table = Table("FIELD", "VALUE")
        table.append(["customer", account.customerID])
        let since = account.hasTierSince ? " (since \(ProfilesFormat.time(account.tierSince)))" : ""
        table.append(["tier", ProfilesFormat.text(account.tier) + since])
        table.append(["spendable points", LoyaltyFormat.points(account.spendablePoints)])
        table.append(["pending points", LoyaltyFormat.points(account.pendingPoints) + (account.pendingPoints > 0 ? " (in the returns period)" : "")])
        table.append(["qualifying points", LoyaltyFormat.points(account.qualifyingPoints)])
        if account.hasProgress {
            let progress = account.progress
            let spend = progress.hasSpendNeeded ? " or \(ProfilesFormat.money(progress.spendNeeded)) of purchases" : ""
            table.append(["next tier", "\(progress.nextTier): \(LoyaltyFormat.points(progress.pointsNeeded)) qualifying points to go\(spend)"])
            table.append(["progress", LoyaltyFormat.bar(progress.percent)])
        } else {
            table.append(["next tier", "- (the highest tier)"])
        }
        if account.expiringSoonPoints > 0 {
            let first = account.hasNextExpiryAt ? ", the first on \(ProfilesFormat.time(account.nextExpiryAt))" : ""
            table.append(["expiring soon", "\(LoyaltyFormat.points(account.expiringSoonPoints)) points in the next 30 days\(first)"])
        } else {
            table.append(["expiring soon", "none in the next 30 days"])
        }
        let purchases = account.purchaseCount == 1 ? "1 purchase" : "\(account.purchaseCount) purchases"
        table.append(["lifetime spend", "\(ProfilesFormat.money(account.hasLifetimeSpend ? account.lifetimeSpend : nil)) (\(purchases))"])
        table.append(["currency", ProfilesFormat.text(account.currency)])
        table.append(["enrolled", ProfilesFormat.time(account.hasEnrolledAt ? account.enrolledAt : nil)])
        let grace = account.graceRemaining == 1 ? "1 grace period left" : "\(account.graceRemaining) grace periods left"
        table.append(["next review", "\(ProfilesFormat.time(account.hasNextReviewAt ? account.nextReviewAt : nil)) (\(grace))"])
        if !account.referredBy.isEmpty { table.append(["referred by", account.referredBy]) }
        appendBenefits(account.benefits, label: "benefits", to: &table)
        return table
    }

    /// The program: tiers, then its settings, then its earn rates.
    static func program(_ program: Cx_Loyalty_V1_Program) -> String {
        var tiers = Table("TIER", "QUALIFYING POINTS", "EARNS", "BENEFITS")
        for tier in program.tiers {
            let head = [tier.name, LoyaltyFormat.points(tier.qualifyingPoints), LoyaltyFormat.multiplier(tier.earnMultiplierPercent)]
            if tier.benefits.isEmpty { tiers.append(head + ["-"]) }
            for (index, benefit) in tier.benefits.enumerated() {
                tiers.append((index == 0 ? head : ["", "", ""]) + [LoyaltyNames.benefit(benefit)])
            }
        }
        var settings = Table("SETTING", "VALUE")
        let since = program.hasEffectiveAt ? " (in force since \(ProfilesFormat.time(program.effectiveAt)))" : ""
        settings.append(["version", "\(program.version)\(since)"])
        settings.append(["qualification window", "\(program.qualificationWindowMonths) months of purchases count towards a tier"])
        settings.append(["pending days", "\(program.pendingDays) (the returns period before purchase points can be spent)"])
        settings.append(["expiry", "\(program.expiryMonths) months after the points are earned"])
        let grace = program.downgrade.gracePeriods
        settings.append(["grace periods", "\(grace) (yearly reviews a member may fall short at and keep the tier)"])
        let bonuses = program.bonuses
        for (name, points) in [
            ("referral", bonuses.referral), ("first purchase", bonuses.firstPurchase), ("review", bonuses.review),
            ("survey", bonuses.survey), ("birthday", bonuses.birthday), ("goodwill", bonuses.goodwill),
        ] {
            let each = name == "referral" && points > 0 ? " (to the referrer and to the referee)" : ""
            settings.append(["\(name) bonus", points > 0 ? "\(LoyaltyFormat.points(points)) points\(each)" : "not given"])
        }
        var rates = Table("CURRENCY", "EARNS", "POINT VALUE")
        for rate in program.earnRates {
            let points = rate.pointsPerUnit == 1 ? "1 point" : "\(LoyaltyFormat.points(rate.pointsPerUnit)) points"
            rates.append([
                rate.currency, "\(points) per \(ProfilesFormat.amount(rate.unitMinorUnits, currency: rate.currency))",
                ProfilesFormat.amount(rate.pointValueMinorUnits, currency: rate.currency),
            ])
        }
        return [tiers.render(), settings.render(), rates.render()].joined(separator: "\n\n")
    }

    static func reward(_ reward: Cx_Loyalty_V1_Reward) -> Table {
        var table = Table("FIELD", "VALUE")
        table.append(["id", reward.id])
        table.append(["name", ProfilesFormat.text(reward.name)])
        table.append(["description", ProfilesFormat.text(reward.description_p)])
        table.append(["cost", "\(LoyaltyFormat.points(reward.costPoints)) points"])
        table.append(["stock", stock(reward)])
        table.append(["min tier", reward.minTier.isEmpty ? "- (every tier)" : reward.minTier])
        table.append(["redeemed", LoyaltyFormat.points(reward.redeemed)])
        table.append(["status", reward.retired ? "retired" : "active"])
        table.append(["created_at", ProfilesFormat.time(reward.hasCreatedAt ? reward.createdAt : nil)])
        return table
    }

    static func stock(_ reward: Cx_Loyalty_V1_Reward) -> String {
        reward.hasStock ? LoyaltyFormat.points(reward.stock) : "unlimited"
    }

    static func rewards(_ rewards: [Cx_Loyalty_V1_Reward]) -> Table {
        var table = Table("ID", "NAME", "COST", "STOCK", "MIN TIER", "REDEEMED", "STATUS")
        for reward in rewards {
            table.append([
                reward.id, ProfilesFormat.short(reward.name, 40), LoyaltyFormat.points(reward.costPoints), stock(reward),
                ProfilesFormat.text(reward.minTier), LoyaltyFormat.points(reward.redeemed), reward.retired ? "retired" : "active",
            ])
        }
        return table
    }

    static func redemption(_ redemption: Cx_Loyalty_V1_Redemption) -> Table {
        var table = Table("FIELD", "VALUE")
        table.append(["redemption", redemption.id])
        table.append(["code", redemption.code])
        table.append(["customer", redemption.customerID])
        table.append(["reward", redemption.rewardID])
        table.append(["points", LoyaltyFormat.points(redemption.points)])
        table.append(["created_at", ProfilesFormat.time(redemption.hasCreatedAt ? redemption.createdAt : nil)])
        if redemption.cancelled {
            table.append(["cancelled_at", ProfilesFormat.time(redemption.hasCancelledAt ? redemption.cancelledAt : nil)])
        }
        return table
    }

    /// Tier decisions, one per row; `customers` adds the customer column.
    static func decisions(_ decisions: [Cx_Loyalty_V1_TierDecision], customers: Bool) -> Table {
        var table = customers
            ? Table("CUSTOMER", "OUTCOME", "FROM", "TO", "QUALIFYING", "DECIDED", "REASON")
            : Table("DECIDED", "OUTCOME", "FROM", "TO", "QUALIFYING", "PROGRAM", "REASON")
        for decision in decisions {
            let decided = ProfilesFormat.time(decision.hasDecidedAt ? decision.decidedAt : nil)
            let middle = [
                LoyaltyNames.outcome(decision.outcome), ProfilesFormat.text(decision.fromTier), ProfilesFormat.text(decision.toTier),
                LoyaltyFormat.points(decision.qualifyingPoints),
            ]
            table.append(
                customers
                    ? [decision.customerID] + middle + [decided, ProfilesFormat.text(decision.reason)]
                    : [decided] + middle + ["v\(decision.programVersion)", ProfilesFormat.text(decision.reason)])
        }
        return table
    }

    /// A two-column table of counts, rows in the order given.
    static func counts(_ label: String, _ value: String, _ rows: KeyValuePairs<String, Int64>) -> String {
        var table = Table(label, value)
        for (name, count) in rows { table.append([name, LoyaltyFormat.points(count)]) }
        return table.render()
    }

    /// A write's summary, then the account as the write left it.
    static func summary(_ summary: Table, account: Cx_Loyalty_V1_Account) -> String {
        summary.render() + "\n\n" + Self.account(account).render()
    }
}
