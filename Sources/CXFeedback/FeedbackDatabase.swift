import CXModel
import CXStore
import Foundation
import GRDB
import SwiftProtobuf

/// The feedback service's tables. Migrations are named and never edited
/// once shipped: add new ones.
///
/// `response` rows are append-only, but for EraseCustomer, which deletes a
/// customer's (see ``CustomerErasure``). The scores are kept beside them as
/// aggregates updated in the transaction of each response: `score_day` per
/// survey and UTC day, and `word_day`,
/// the words of detractors' and promoters' free text per survey and day.
/// Complaints keep their thread in `complaint_note`, numbered and never
/// changed, but for EraseCustomer blanking the erased customer's text.
enum FeedbackDatabase {
    static let migrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("feedback v1") { db in
            try db.execute(sql: """
                CREATE TABLE feedback_meta (key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL);
                CREATE TABLE survey (
                    id TEXT PRIMARY KEY NOT NULL,
                    state INTEGER NOT NULL,
                    created_at REAL NOT NULL,
                    closed_at REAL,
                    responses INTEGER NOT NULL DEFAULT 0,
                    body BLOB NOT NULL
                ) WITHOUT ROWID;
                CREATE TABLE response (
                    id TEXT PRIMARY KEY NOT NULL,
                    survey_id TEXT NOT NULL,
                    customer_id TEXT NOT NULL,
                    submitted_at REAL NOT NULL,
                    nps INTEGER,
                    body BLOB NOT NULL
                ) WITHOUT ROWID;
                -- When each customer last answered any survey (survey fatigue).
                CREATE TABLE contact (
                    customer_id TEXT PRIMARY KEY NOT NULL,
                    last_answered_at REAL NOT NULL,
                    answered INTEGER NOT NULL
                ) WITHOUT ROWID;
                -- kind 1: per survey (dimension = survey id). A touchpoint's,
                -- a stage's and everyone's scores sum their surveys' rows.
                CREATE TABLE score_day (
                    kind INTEGER NOT NULL,
                    dimension TEXT NOT NULL,
                    day INTEGER NOT NULL,
                    responses INTEGER NOT NULL DEFAULT 0,
                    promoters INTEGER NOT NULL DEFAULT 0,
                    passives INTEGER NOT NULL DEFAULT 0,
                    detractors INTEGER NOT NULL DEFAULT 0,
                    csat_answers INTEGER NOT NULL DEFAULT 0,
                    csat_satisfied INTEGER NOT NULL DEFAULT 0,
                    ces_answers INTEGER NOT NULL DEFAULT 0,
                    ces_sum INTEGER NOT NULL DEFAULT 0,
                    PRIMARY KEY (kind, dimension, day)
                ) WITHOUT ROWID;
                -- category: 1 detractor, 3 promoter (as SubmitResponseResponse.NpsCategory);
                -- word '' counts the texts themselves.
                CREATE TABLE word_day (
                    day INTEGER NOT NULL,
                    survey_id TEXT NOT NULL,
                    category INTEGER NOT NULL,
                    word TEXT NOT NULL,
                    count INTEGER NOT NULL,
                    PRIMARY KEY (day, survey_id, category, word)
                ) WITHOUT ROWID;
                CREATE TABLE complaint (
                    id TEXT PRIMARY KEY NOT NULL,
                    customer_id TEXT NOT NULL,
                    state INTEGER NOT NULL,
                    severity INTEGER NOT NULL,
                    owner TEXT NOT NULL DEFAULT '',
                    opened_at REAL NOT NULL,
                    first_response_due REAL NOT NULL,
                    resolution_due REAL NOT NULL,
                    first_response_at REAL,
                    resolved_at REAL,
                    goodwill_given INTEGER NOT NULL DEFAULT 0,
                    note_count INTEGER NOT NULL DEFAULT 0,
                    body BLOB NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX complaint_by_state ON complaint (state, opened_at);
                CREATE INDEX complaint_by_owner ON complaint (owner, state, opened_at);
                CREATE INDEX complaint_by_customer ON complaint (customer_id, opened_at);
                CREATE INDEX complaint_by_resolution ON complaint (resolved_at) WHERE resolved_at IS NOT NULL;
                CREATE TABLE complaint_note (
                    complaint_id TEXT NOT NULL,
                    sequence INTEGER NOT NULL,
                    kind INTEGER NOT NULL,
                    author TEXT NOT NULL,
                    text TEXT NOT NULL,
                    at REAL NOT NULL,
                    PRIMARY KEY (complaint_id, sequence)
                ) WITHOUT ROWID;
                """)
        }
        return migrator
    }()

    /// A response's or complaint's body as stored: compressed only past
    /// 1 KiB. Most are a few scores and a sentence, which zlib shrinks by a
    /// few bytes at the cost of about 6% of the writer's time (cx-bench
    /// feedback profile).
    static func body(_ message: some SwiftProtobuf.Message) throws -> RecordBody {
        let bytes: Data = try message.serializedData()
        return bytes.count < 1_024 ? RecordBody(raw: bytes) : RecordBody(encoding: bytes)
    }

    static func decodeBody<M: SwiftProtobuf.Message>(_ row: Row, _ type: M.Type, table: String, key: String) throws -> M {
        try row.decode(RecordBody.self, forColumn: "body").decode(M.self, table: table, key: key)
    }

    /// Ids that sort by creation time: 12 hex digits of milliseconds, then
    /// random hex, so new rows go to the end of their index.
    static func timeOrderedID(prefix: String, at time: Double) -> String {
        let milliseconds = String(UInt64(max(0, time * 1_000)), radix: 16)
        let random = String(UInt64.random(in: 0..<(1 << 40)), radix: 16)
        return prefix + String(repeating: "0", count: max(0, 12 - milliseconds.count)) + milliseconds
            + String(repeating: "0", count: max(0, 10 - random.count)) + random
    }
}
