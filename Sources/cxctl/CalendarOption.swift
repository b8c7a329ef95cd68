import ArgumentParser
import CXModel
import Foundation
import Synchronization

/// --calendar's value: a `CXCalendar` by name, any case.
enum CalendarArgument: String, CaseIterable, ExpressibleByArgument {
    case gregorian, persian

    init?(argument: String) {
        self.init(rawValue: argument.lowercased())
    }

    var calendar: CXCalendar {
        switch self {
        case .gregorian: .gregorian
        case .persian: .persian
        }
    }
}

/// The calendar every table and line of this run shows dates in: the
/// --calendar flag's, else $CX_CALENDAR's, else Gregorian. Process-wide, so
/// every date formatter (`ProfilesFormat.time`, `.day`, `.date`) follows it
/// without each command passing it along. JSON output never uses it.
enum DisplayCalendar {
    private static let chosen = Mutex<CXCalendar?>(nil)

    static var current: CXCalendar {
        if let flag = chosen.withLock({ $0 }) { return flag }
        return (try? fromEnvironment()) ?? .gregorian
    }

    /// Set by --calendar (`CalendarOptions`), before the command runs.
    static func choose(_ calendar: CXCalendar) {
        chosen.withLock { $0 = calendar }
    }

    /// $CX_CALENDAR: nil when unset or empty; an error naming the choices
    /// when it is set to anything else.
    static func fromEnvironment() throws -> CXCalendar? {
        guard let text = ProcessInfo.processInfo.environment["CX_CALENDAR"], !text.isEmpty else { return nil }
        guard let calendar = CXCalendar(rawValue: text.lowercased()) else {
            throw ValidationError("$CX_CALENDAR: \"\(text)\" is not \(CXCalendar.allCases.map(\.rawValue).joined(separator: " or "))")
        }
        return calendar
    }
}

/// `--calendar gregorian|persian`, part of `OutputOptions`, so every command
/// that prints a table takes it.
struct CalendarOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        """
        Calendar of the dates in tables: gregorian (ISO 8601, the default) or persian \
        (Solar Hijri, "1405-01-01 14:30:05 UTC"); default $CX_CALENDAR. Times are UTC in both. \
        JSON output stays ISO 8601 Gregorian, and dates typed in flags (YYYY-MM-DD) are Gregorian.
        """,
        valueName: "calendar"))
    var calendar: CalendarArgument?

    /// Chooses the calendar for the run (ArgumentParser validates option
    /// groups as it parses them, before `run`).
    func validate() throws {
        DisplayCalendar.choose(try calendar?.calendar ?? DisplayCalendar.fromEnvironment() ?? .gregorian)
    }
}
