import ArgumentParser
import Foundation
import SwiftProtobuf

/// Flags (and file columns) that name a day or a time. They are read in the
/// Gregorian calendar whatever --calendar says: --calendar is how dates are
/// shown, not how they are typed.
enum TimeFlag {
    /// "2026-01-01" (midnight UTC) or an ISO 8601 time ("2026-01-01T09:30:00Z").
    static func parse(_ text: String, flag: String) throws -> Google_Protobuf_Timestamp {
        guard let time = time(text) else {
            throw ValidationError("\(flag): \(problem(text))")
        }
        return time
    }

    /// `text` as `parse` reads it; nil when it is neither a day nor a time.
    static func time(_ text: String) -> Google_Protobuf_Timestamp? {
        (day(text) ?? ISO8601DateFormatter().date(from: text)).map { Google_Protobuf_Timestamp(date: $0) }
    }

    /// What is wrong with `text`, which `time` did not read.
    static func problem(_ text: String) -> String {
        "\"\(text)\" is not a Gregorian day YYYY-MM-DD or a time like 2026-01-01T09:30:00Z"
    }

    static func day(_ text: String) -> Date? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2])
        else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let components = DateComponents(year: year, month: month, day: day)
        guard let date = calendar.date(from: components),
            calendar.dateComponents([.year, .month, .day], from: date) == components
        else { return nil }
        return date
    }
}

/// `--from` and `--to`: the period [from, to) of a report; each defaults to
/// what the service chooses (to now, from 30 days before to).
struct PeriodOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The period's first day, Gregorian, UTC (default: 30 days before --to).", valueName: "YYYY-MM-DD"))
    var from: String?

    @Option(help: ArgumentHelp("The day after the period, Gregorian, UTC (default: now).", valueName: "YYYY-MM-DD"))
    var to: String?

    func validate() throws {
        _ = try period()
    }

    /// The times given, nil where a flag is left out. --from must be before --to.
    func period() throws -> (from: Google_Protobuf_Timestamp?, to: Google_Protobuf_Timestamp?) {
        let start = try from.map { try TimeFlag.parse($0, flag: "--from") }
        let end = try to.map { try TimeFlag.parse($0, flag: "--to") }
        if let start, let end, start.date >= end.date {
            throw ValidationError("--from: \(from ?? "") is not before --to \(to ?? "")")
        }
        return (start, end)
    }
}
