import CXModel
import CXStore
import Foundation
import GRDB
import SwiftProtobuf

/// The journey service's tables. Migrations are named and never edited
/// once shipped: add new ones.
///
/// `customer` holds each customer's place (one row, updated per event);
/// `event` and `stage_change` are append-only histories; `task` holds the
/// 100-day plans. The analytics tables (`stage_count`, `stage_day`,
/// `stay_day`, `touchpoint_day`) are aggregates kept in the transaction of
/// every event, keyed by stage and UTC day, so that Funnel and
/// TouchpointActivity sum a few rows per day instead of scanning customers.
enum JourneyDatabase {
    static let migrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("journey v1") { db in
            try db.execute(sql: """
                CREATE TABLE journey_meta (key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL);
                CREATE TABLE rules (
                    version INTEGER PRIMARY KEY,
                    effective_at REAL NOT NULL,
                    body BLOB NOT NULL
                );
                CREATE TABLE touchpoint (
                    id TEXT PRIMARY KEY NOT NULL,
                    retired INTEGER NOT NULL DEFAULT 0,
                    body BLOB NOT NULL
                ) WITHOUT ROWID;
                CREATE TABLE plan_template (
                    id TEXT PRIMARY KEY NOT NULL,
                    body BLOB NOT NULL
                ) WITHOUT ROWID;
                -- last_event_at is never before stage_entered_at, so the
                -- stage index finds every customer who may have gone quiet
                -- (DetectLost) without an index on last_event_at, which
                -- every event would rewrite.
                CREATE TABLE customer (
                    customer_id TEXT PRIMARY KEY NOT NULL,
                    stage INTEGER NOT NULL,
                    stage_entered_at REAL NOT NULL,
                    first_seen_at REAL NOT NULL,
                    last_event_at REAL NOT NULL,
                    lost_from INTEGER,
                    lost_at REAL,
                    admitted_at REAL,
                    plan_template_id TEXT,
                    event_count INTEGER NOT NULL,
                    event_sequence INTEGER NOT NULL,
                    change_count INTEGER NOT NULL,
                    task_count INTEGER NOT NULL,
                    times_lost INTEGER NOT NULL,
                    times_won_back INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX customer_by_stage ON customer (stage, stage_entered_at);
                CREATE TABLE event (
                    customer_id TEXT NOT NULL,
                    at REAL NOT NULL,
                    sequence INTEGER NOT NULL,
                    type TEXT NOT NULL,
                    touchpoint_id TEXT NOT NULL,
                    stage_before INTEGER NOT NULL,
                    stage_after INTEGER NOT NULL,
                    recorded_at REAL NOT NULL,
                    idempotency_key TEXT NOT NULL,
                    attributes BLOB,
                    PRIMARY KEY (customer_id, at, sequence)
                ) WITHOUT ROWID;
                CREATE TABLE stage_change (
                    customer_id TEXT NOT NULL,
                    sequence INTEGER NOT NULL,
                    at REAL NOT NULL,
                    from_stage INTEGER NOT NULL,
                    to_stage INTEGER NOT NULL,
                    cause INTEGER NOT NULL,
                    detail TEXT NOT NULL,
                    PRIMARY KEY (customer_id, sequence)
                ) WITHOUT ROWID;
                CREATE TABLE task (
                    customer_id TEXT NOT NULL,
                    number INTEGER NOT NULL,
                    template_id TEXT NOT NULL,
                    day_offset INTEGER NOT NULL,
                    stage INTEGER NOT NULL,
                    touchpoint_id TEXT NOT NULL,
                    action TEXT NOT NULL,
                    owner_role TEXT NOT NULL,
                    due_at REAL NOT NULL,
                    state INTEGER NOT NULL,
                    closed_at REAL,
                    note TEXT NOT NULL DEFAULT '',
                    PRIMARY KEY (customer_id, number)
                ) WITHOUT ROWID;
                CREATE INDEX task_by_state ON task (state, due_at);
                CREATE INDEX task_by_owner ON task (owner_role, state, due_at);
                CREATE TABLE stage_count (stage INTEGER PRIMARY KEY, customers INTEGER NOT NULL);
                -- entered and advanced by the day the stay began (a cohort:
                -- advanced counts entries of that day that have since moved
                -- on); lost and won_back by the day it happened.
                CREATE TABLE stage_day (
                    day INTEGER NOT NULL,
                    stage INTEGER NOT NULL,
                    entered INTEGER NOT NULL DEFAULT 0,
                    advanced INTEGER NOT NULL DEFAULT 0,
                    lost INTEGER NOT NULL DEFAULT 0,
                    won_back INTEGER NOT NULL DEFAULT 0,
                    PRIMARY KEY (day, stage)
                ) WITHOUT ROWID;
                -- Stays that ended on `day`, by whole days in the stage.
                CREATE TABLE stay_day (
                    day INTEGER NOT NULL,
                    stage INTEGER NOT NULL,
                    days INTEGER NOT NULL,
                    stays INTEGER NOT NULL,
                    PRIMARY KEY (day, stage, days)
                ) WITHOUT ROWID;
                CREATE TABLE touchpoint_day (
                    day INTEGER NOT NULL,
                    touchpoint_id TEXT NOT NULL,
                    stage INTEGER NOT NULL,
                    events INTEGER NOT NULL,
                    PRIMARY KEY (day, touchpoint_id, stage)
                ) WITHOUT ROWID;
                """)
        }
        return migrator
    }()

    static func decodeBody<M: SwiftProtobuf.Message>(_ row: Row, _ type: M.Type, table: String, key: String) throws -> M {
        try row.decode(RecordBody.self, forColumn: "body").decode(M.self, table: table, key: key)
    }

}
