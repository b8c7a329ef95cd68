import CXModel
import CXService
import Foundation
import GRDB

/// The analytics aggregates, updated in the transaction of each change so
/// that the analytics methods read a few rows per stage and day.
enum Aggregates {
    /// A customer entered `stage` at `at`.
    static func enter(_ db: Database, stage: Stage, at time: Double) throws {
        try count(db, stage, by: 1)
        if stage.isJourneyStage { try bump(db, "entered", day: UTCDay.number(time), stage: stage) }
    }

    /// A customer left `stage` (entered at `enteredAt`) at `at`.
    static func leave(_ db: Database, stage: Stage, enteredAt: Double, at time: Double, advanced: Bool, lost: Bool) throws {
        try count(db, stage, by: -1)
        guard stage.isJourneyStage else { return }
        let day = UTCDay.number(time)
        try db.cachedStatement(sql: """
            INSERT INTO stay_day (day, stage, days, stays) VALUES (?, ?, ?, 1)
            ON CONFLICT (day, stage, days) DO UPDATE SET stays = stays + 1
            """
        ).run(.integer(day), .integer(stage.rawValue), .integer(StageMachine.wholeDays(from: enteredAt, to: time)))
        if advanced { try bump(db, "advanced", day: UTCDay.number(enteredAt), stage: stage) }
        if lost { try bump(db, "lost", day: day, stage: stage) }
    }

    /// An erased customer no longer counts in `stage`, their current one
    /// (stage_count holds one per customer row). What they did stays in
    /// the day aggregates, which name no one.
    static func forget(_ db: Database, stage: Stage) throws {
        guard stage != .unspecified else { return }
        try count(db, stage, by: -1)
    }

    /// A LOST customer came back at `at`.
    static func wonBack(_ db: Database, at time: Double) throws {
        try bump(db, "won_back", day: UTCDay.number(time), stage: .lost)
    }

    /// An event at a touchpoint ("" for none), by the customer's stage after it.
    static func touchpoint(_ db: Database, day: Int64, touchpoint: String, stage: Stage) throws {
        try db.cachedStatement(sql: """
            INSERT INTO touchpoint_day (day, touchpoint_id, stage, events) VALUES (?, ?, ?, 1)
            ON CONFLICT (day, touchpoint_id, stage) DO UPDATE SET events = events + 1
            """
        ).run(.integer(day), .text(touchpoint), .integer(stage.rawValue))
    }

    private static func count(_ db: Database, _ stage: Stage, by delta: Int) throws {
        try db.cachedStatement(sql: """
            INSERT INTO stage_count (stage, customers) VALUES (?, ?)
            ON CONFLICT (stage) DO UPDATE SET customers = customers + excluded.customers
            """
        ).run(.integer(stage.rawValue), .integer(delta))
    }

    /// `column` is one of stage_day's counters (never caller input).
    private static func bump(_ db: Database, _ column: String, day: Int64, stage: Stage) throws {
        try db.cachedStatement(sql: """
            INSERT INTO stage_day (day, stage, \(column)) VALUES (?, ?, 1)
            ON CONFLICT (day, stage) DO UPDATE SET \(column) = \(column) + 1
            """
        ).run(.integer(day), .integer(stage.rawValue))
    }
}
