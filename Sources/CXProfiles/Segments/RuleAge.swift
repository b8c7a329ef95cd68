import CXModel
import Foundation

/// Age in whole years, as segment rules compute it for `age` (see `RuleSchema.ageFields`).
///
/// Dates are read in UTC, as everywhere in the rule language (a `birth_date` is midnight UTC
/// of its day; see `CustomerFields.date`): the age at `now` is the number of whole years from
/// the UTC calendar day of the birth date to the UTC calendar day of `now`, so it goes up at
/// 00:00:00 UTC on each birthday. A birthday on 29 February falls on 1 March in common years
/// (the customer is 18 from 1 March, not from 28 February): the plain comparison of
/// (month, day) gives that, and it never makes anyone older early.
enum RuleAge {
    /// A proleptic Gregorian calendar day.
    typealias Day = CivilDay

    /// Birth dates this many days from 1970 (about 27 million years) or more are treated as
    /// absent: beyond any real date, and it keeps every computation here exact.
    private static let maxDays = 10_000_000_000.0

    /// The UTC calendar day of `referenceSeconds` (seconds since 2001-01-01, as `Date`
    /// stores them); nil for NaN, infinite or absurdly distant instants.
    static func day(referenceSeconds: Double) -> Day? {
        guard referenceSeconds.isFinite else { return nil }
        let days = ((referenceSeconds + Date.timeIntervalBetween1970AndReferenceDate) / 86_400).rounded(.down)
        guard abs(days) < maxDays else { return nil }
        return civil(fromDays: Int(days))
    }

    /// Whole years from `birth` to `today`: negative before the birth date.
    static func years(from birth: Day, to today: Day) -> Int64 {
        var years = today.year - birth.year
        if (today.month, today.day) < (birth.month, birth.day) { years -= 1 }
        return Int64(years)
    }

    /// The instant (seconds since 2001-01-01) from which someone born on `birth` is `age`
    /// years old: midnight UTC of that birthday, 1 March for 29 February in a common year.
    /// nil for an age more than a million years from the birth date.
    static func birthday(_ birth: Day, age: Int64) -> Double? {
        guard age >= -1_000_000 && age <= 1_000_000 else { return nil }
        let year = birth.year + Int(age)
        var month = birth.month
        var day = birth.day
        if month == 2 && day == 29 && !RuleDateParser.isLeapYear(year) {
            month = 3
            day = 1
        }
        let days = RuleDateParser.daysFromCivil(year: year, month: month, day: day)
        return Double(days) * 86_400 - Date.timeIntervalBetween1970AndReferenceDate
    }

    /// The ages at which comparing an integer age with `literal` can change its result:
    /// `c = ceil(literal)` and `c + 1`. Below `c` the age is less than the literal; at `c` it
    /// is equal (an integer literal) or greater; above `c`, greater. None for NaN or
    /// out-of-range decimals, with which every comparison of an age is constant.
    static func thresholds(_ literal: RuleNumber) -> [Int64] {
        let first: Int64
        switch literal {
        case .int(let n):
            first = n
        case .decimal(let d):
            let up = d.rounded(.up)
            guard up.isFinite, abs(up) < 1e15 else { return [] }
            first = Int64(up)
        }
        let (second, overflow) = first.addingReportingOverflow(1)
        return overflow ? [first] : [first, second]
    }

    /// The day `days` after 1970-01-01 (the inverse of `RuleDateParser.daysFromCivil`).
    static func civil(fromDays days: Int) -> Day { CivilDay(daysSince1970: days) }
}
