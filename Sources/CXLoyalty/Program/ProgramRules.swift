import CXModel
import CXService
import CXWire
import Foundation

/// What a program says, as plain functions: its default, its checks, and
/// the arithmetic every method shares (points for an amount, a tier for
/// qualifying points, dates a number of months away).
public enum ProgramRules {
    public static let defaultWindowMonths: Int32 = 12
    public static let defaultExpiryMonths: Int32 = 24
    public static let defaultPendingDays: Int32 = 14
    public static let maxTiers = 10
    public static let maxEarnRates = 50
    public static let maxBenefits = 20
    public static let maxBonus: Int64 = 1_000_000

    /// Version 1: bronze, silver, gold, platinum; IRR, USD and EUR.
    public static func defaultProgram() -> Cx_Loyalty_V1_Program {
        var program = Cx_Loyalty_V1_Program()
        program.version = 1
        func tier(_ name: String, _ points: Int64, _ multiplier: Int32, _ benefits: [(Cx_Loyalty_V1_Benefit.Kind, String, Int32)])
            -> Cx_Loyalty_V1_Tier
        {
            var tier = Cx_Loyalty_V1_Tier()
            tier.name = name
            tier.qualifyingPoints = points
            tier.earnMultiplierPercent = multiplier
            tier.benefits = benefits.map { kind, description, percent in
                var benefit = Cx_Loyalty_V1_Benefit()
                benefit.kind = kind
                benefit.description_p = description
                benefit.percent = percent
                return benefit
            }
            return tier
        }
        program.tiers = [
            tier("bronze", 0, 100, []),
            tier("silver", 1_000, 125, [(.percentDiscount, "5% off every purchase", 5)]),
            tier("gold", 5_000, 150, [
                (.percentDiscount, "10% off every purchase", 10), (.service, "Free delivery", 0),
            ]),
            tier("platinum", 20_000, 200, [
                (.percentDiscount, "15% off every purchase", 15), (.service, "Free delivery and installation", 0),
                (.prioritySupport, "Priority support line", 0), (.event, "Invitations to member events", 0),
            ]),
        ]
        program.qualificationWindowMonths = defaultWindowMonths
        func rate(_ currency: String, unit: Int64, value: Int64) -> Cx_Loyalty_V1_EarnRate {
            var rate = Cx_Loyalty_V1_EarnRate()
            rate.currency = currency
            rate.unitMinorUnits = unit
            rate.pointsPerUnit = 1
            rate.pointValueMinorUnits = value
            return rate
        }
        // IRR has two decimals in ISO 4217: 100,000 minor units are 1,000 rials.
        program.earnRates = [rate("IRR", unit: 100_000, value: 5_000), rate("USD", unit: 100, value: 1), rate("EUR", unit: 100, value: 1)]
        program.pendingDays = defaultPendingDays
        program.expiryMonths = defaultExpiryMonths
        program.bonuses.referral = 500
        program.bonuses.firstPurchase = 100
        program.bonuses.review = 50
        program.bonuses.survey = 25
        program.bonuses.birthday = 200
        program.bonuses.goodwill = 300
        program.downgrade.gracePeriods = 1
        return program
    }

    /// Checks a proposed program and fills the defaults the contract gives
    /// for zero (window and expiry months). Every problem names its field.
    public static func validated(_ source: Cx_Loyalty_V1_Program, field prefix: String = "program") throws(RPCError)
        -> Cx_Loyalty_V1_Program
    {
        var program = source
        program.version = 0
        program.clearEffectiveAt()
        guard (1...maxTiers).contains(program.tiers.count) else {
            throw .invalidArgument(field: "\(prefix).tiers", "has \(program.tiers.count) tiers; 1 to \(maxTiers) are allowed")
        }
        var names = Set<String>()
        for (index, tier) in program.tiers.enumerated() {
            let field = "\(prefix).tiers[\(index)]"
            guard isTierName(tier.name) else {
                throw .invalidArgument(field: "\(field).name", "\(RequestCheck.quoted(tier.name)) must be 1 to 32 of a-z, 0-9, - and _")
            }
            guard names.insert(tier.name).inserted else {
                throw .invalidArgument(field: "\(field).name", "\(RequestCheck.quoted(tier.name)) names two tiers")
            }
            if index == 0 {
                guard tier.qualifyingPoints == 0 else {
                    throw .invalidArgument(
                        field: "\(field).qualifying_points", "is \(tier.qualifyingPoints); the lowest tier must need 0 so every member is in a tier")
                }
            } else {
                let previous = program.tiers[index - 1].qualifyingPoints
                guard tier.qualifyingPoints > previous else {
                    throw .invalidArgument(
                        field: "\(field).qualifying_points",
                        "is \(tier.qualifyingPoints); it must be more than the tier below's \(previous) (tiers are listed lowest first)")
                }
            }
            guard (100...1_000).contains(tier.earnMultiplierPercent) else {
                throw .invalidArgument(
                    field: "\(field).earn_multiplier_percent", "is \(tier.earnMultiplierPercent); 100 (1x) to 1000 (10x)")
            }
            guard tier.benefits.count <= maxBenefits else {
                throw .invalidArgument(field: "\(field).benefits", "has \(tier.benefits.count); at most \(maxBenefits)")
            }
            for (b, benefit) in tier.benefits.enumerated() {
                try validate(benefit, field: "\(field).benefits[\(b)]")
            }
        }
        if program.qualificationWindowMonths == 0 { program.qualificationWindowMonths = defaultWindowMonths }
        guard (1...60).contains(program.qualificationWindowMonths) else {
            throw .invalidArgument(
                field: "\(prefix).qualification_window_months", "is \(program.qualificationWindowMonths); 1 to 60 (0 = 12)")
        }
        if program.expiryMonths == 0 { program.expiryMonths = defaultExpiryMonths }
        guard (1...120).contains(program.expiryMonths) else {
            throw .invalidArgument(field: "\(prefix).expiry_months", "is \(program.expiryMonths); 1 to 120 (0 = 24)")
        }
        guard (0...365).contains(program.pendingDays) else {
            throw .invalidArgument(field: "\(prefix).pending_days", "is \(program.pendingDays); 0 to 365")
        }
        guard (1...maxEarnRates).contains(program.earnRates.count) else {
            throw .invalidArgument(
                field: "\(prefix).earn_rates", "has \(program.earnRates.count) rates; 1 to \(maxEarnRates), one per currency")
        }
        var currencies = Set<String>()
        for (index, rate) in program.earnRates.enumerated() {
            let field = "\(prefix).earn_rates[\(index)]"
            try RequestCheck.currency(rate.currency, field: "\(field).currency")
            guard currencies.insert(rate.currency).inserted else {
                throw .invalidArgument(field: "\(field).currency", "\(rate.currency) has two rates")
            }
            guard rate.unitMinorUnits >= 1 else {
                throw .invalidArgument(field: "\(field).unit_minor_units", "is \(rate.unitMinorUnits); at least 1")
            }
            guard (1...1_000_000).contains(rate.pointsPerUnit) else {
                throw .invalidArgument(field: "\(field).points_per_unit", "is \(rate.pointsPerUnit); 1 to 1000000")
            }
            guard rate.pointValueMinorUnits >= 0 else {
                throw .invalidArgument(field: "\(field).point_value_minor_units", "is \(rate.pointValueMinorUnits); not negative")
            }
        }
        let bonuses: [(String, Int64)] = [
            ("referral", program.bonuses.referral), ("first_purchase", program.bonuses.firstPurchase),
            ("review", program.bonuses.review), ("survey", program.bonuses.survey),
            ("birthday", program.bonuses.birthday), ("goodwill", program.bonuses.goodwill),
        ]
        for (name, points) in bonuses where !(0...maxBonus).contains(points) {
            throw .invalidArgument(field: "\(prefix).bonuses.\(name)", "is \(points); 0 to \(maxBonus)")
        }
        guard (0...3).contains(program.downgrade.gracePeriods) else {
            throw .invalidArgument(field: "\(prefix).downgrade.grace_periods", "is \(program.downgrade.gracePeriods); 0 to 3")
        }
        return program
    }

    /// 1 to 32 of a-z, 0-9, "-" and "_".
    static func isTierName(_ name: String) -> Bool {
        (1...32).contains(name.utf8.count)
            && name.utf8.allSatisfy { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                    || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
            }
    }

    static func validate(_ benefit: Cx_Loyalty_V1_Benefit, field: String) throws(RPCError) {
        switch benefit.kind {
        case .unspecified:
            throw .invalidArgument(
                field: "\(field).kind", "must be set: PERCENT_DISCOUNT, FIXED_DISCOUNT, GIFT, SERVICE, PRIORITY_SUPPORT or EVENT")
        case .UNRECOGNIZED(let value):
            throw .invalidArgument(field: "\(field).kind", "\(value) is not a benefit kind")
        default:
            break
        }
        guard (1...200).contains(benefit.description_p.count) else {
            throw .invalidArgument(field: "\(field).description", "is \(benefit.description_p.count) characters; 1 to 200")
        }
        switch benefit.kind {
        case .percentDiscount:
            guard (1...100).contains(benefit.percent) else {
                throw .invalidArgument(field: "\(field).percent", "is \(benefit.percent); 1 to 100 for a percent discount")
            }
        case .fixedDiscount:
            guard benefit.hasAmount, benefit.amount.minorUnits > 0 else {
                throw .invalidArgument(field: "\(field).amount", "must be more than 0 for a fixed discount")
            }
            try RequestCheck.currency(benefit.amount.currency, field: "\(field).amount.currency")
        default:
            break
        }
    }

    // MARK: arithmetic

    static func rate(_ program: Cx_Loyalty_V1_Program, currency: String) -> Cx_Loyalty_V1_EarnRate? {
        program.earnRates.first { $0.currency == currency }
    }

    /// Base points (before the tier multiplier) for an amount: whole units
    /// only, rounded down.
    static func basePoints(_ minorUnits: Int64, rate: Cx_Loyalty_V1_EarnRate) -> Int64 {
        let (units, overflow) = (minorUnits / rate.unitMinorUnits).multipliedReportingOverflow(by: rate.pointsPerUnit)
        return overflow ? Int64.max / 1_000 : units
    }

    static func multiplied(_ base: Int64, percent: Int32) -> Int64 {
        let (product, overflow) = base.multipliedReportingOverflow(by: Int64(percent))
        return overflow ? base : product / 100
    }

    /// The index of the highest tier `qualifying` points reach.
    static func tierIndex(qualifying: Int64, in program: Cx_Loyalty_V1_Program) -> Int {
        var index = 0
        for (i, tier) in program.tiers.enumerated() where tier.qualifyingPoints <= qualifying { index = i }
        return index
    }

    static func tierIndex(named name: String, in program: Cx_Loyalty_V1_Program) -> Int? {
        program.tiers.firstIndex { $0.name == name }
    }

    static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    /// `date` plus `months` calendar months in UTC, at the same time of day:
    /// the same day of the month, or the month's last day when it is shorter
    /// (31 January + 1 month is the last day of February).
    ///
    /// Worked out by hand on the Gregorian calendar rather than with
    /// `Calendar.date(byAdding:)`, for two reasons. A purchase asks this three
    /// times on the writer thread, where Foundation's step cost 2% of the
    /// writer's time. And Foundation (Swift 6.3) steps back over 29 February
    /// wrongly for some spans: 29 February 2024 - 24 months gives 1 March
    /// 2022, - 48 months 28 February 2020. Dates before 1600 or after 9999
    /// go to `calendar` itself.
    static func adding(months: Int, to date: Date) -> Date {
        let seconds = date.timeIntervalSince1970
        // 1600-01-01 and 9999-12-31, in days since 1970.
        let days = (seconds / 86_400).rounded(.down)
        guard days >= -135_140, days <= 2_932_896, abs(months) <= 12 * 1_000 else {
            return calendar.date(byAdding: .month, value: months, to: date) ?? date.addingTimeInterval(Double(months) * 30.44 * 86_400)
        }
        let timeOfDay = seconds - days * 86_400
        let from = CivilDay(daysSince1970: Int(days))
        let total = from.year * 12 + (from.month - 1) + months
        let year = total >= 0 ? total / 12 : (total - 11) / 12
        let month = total - year * 12 + 1
        let to = CivilDay(year: year, month: month, day: min(from.day, CivilDay.days(inMonth: month, of: year)))
        return Date(timeIntervalSince1970: Double(to.daysSince1970) * 86_400 + timeOfDay)
    }

    /// The first anniversary of `enrolled` after `now`.
    static func nextAnniversary(enrolled: Date, after now: Date) -> Date {
        var years = 1
        var next = adding(months: 12, to: enrolled)
        while next <= now {
            years += 1
            next = adding(months: 12 * years, to: enrolled)
        }
        return next
    }

    /// "12,400": numbers in reasons customers read.
    static func grouped(_ value: Int64) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return value < 0 ? "-" + out : out
    }

    /// "2026-03-01"
    static func day(_ date: Date) -> String {
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
    }

    static func windowWords(_ months: Int32) -> String {
        months == 1 ? "the last month" : "the last \(months) months"
    }
}
