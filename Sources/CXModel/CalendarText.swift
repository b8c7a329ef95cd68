import Foundation

/// The calendar dates are shown in to people. Machines (JSON, CSV) always get
/// ISO 8601 in the Gregorian calendar, whatever this is.
public enum CXCalendar: String, CaseIterable, Sendable {
    /// ISO 8601: "2026-03-21T14:30:05Z".
    case gregorian
    /// The Solar Hijri (Iranian) calendar: "1405-01-01 14:30:05 UTC".
    case persian
}

/// Dates and times as text in a `CXCalendar`, always in UTC, computed with
/// Foundation's calendars (the Persian one is ICU's, the calendar Iran's
/// official almanac follows for these years).
public enum CalendarText {
    /// A moment: "2026-03-21T14:30:05Z" (Gregorian, ISO 8601) or
    /// "1405-01-01 14:30:05 UTC" (Persian: year-month-day, then the time of
    /// day in UTC, said so since ISO's "T...Z" is a Gregorian convention).
    public static func time(_ date: Date, _ calendar: CXCalendar) -> String {
        switch calendar {
        case .gregorian:
            return ISO8601DateFormatter().string(from: date)
        case .persian:
            let parts = persian.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
            return numeric(parts) + String(format: " %02d:%02d:%02d UTC", parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0)
        }
    }

    /// The UTC day of a moment: "2026-03-21" or "1405-01-01".
    public static func day(_ date: Date, _ calendar: CXCalendar) -> String {
        numeric((calendar == .persian ? persian : gregorian).dateComponents([.year, .month, .day], from: date))
    }

    /// A day given in the Gregorian calendar (a birth date, say) in
    /// `calendar`: "1990-03-21" or "1369-01-01". Nil when it is not a day.
    public static func day(year: Int, month: Int, day: Int, _ calendar: CXCalendar) -> String? {
        // Noon, so the day is the same in every reading of it.
        guard let date = gregorian.date(from: DateComponents(year: year, month: month, day: day, hour: 12)),
            gregorian.dateComponents([.year, .month, .day], from: date) == DateComponents(year: year, month: month, day: day)
        else { return nil }
        return Self.day(date, calendar)
    }

    private static func numeric(_ parts: DateComponents) -> String {
        String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
    }

    private static let persian = utc(.persian)
    private static let gregorian = utc(.gregorian)

    private static func utc(_ identifier: Calendar.Identifier) -> Calendar {
        var calendar = Calendar(identifier: identifier)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }
}
