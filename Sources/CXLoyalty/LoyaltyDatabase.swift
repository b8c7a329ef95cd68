import CXModel
import CXStore
import Foundation
import GRDB
import SwiftProtobuf

/// The loyalty service's tables. Migrations are named and never edited
/// once shipped: add new ones.
///
/// The ledger is append-only: `ledger` rows are inserted and never updated
/// or deleted, except that erasing a customer (``LoyaltyErasure``) deletes
/// all of that customer's rows, with its account. What changes is kept
/// beside it, in the account's row:
/// `balance` (always the sum of the account's ledger, updated in the same
/// transaction as each entry) and `lots`, the points of each earning entry
/// not yet spent or expired (their sum is the balance too), which is what
/// makes expiry and "spend what expires first" possible without rewriting
/// history. The lots live in the account row, not a table of their own, so
/// a purchase writes one row fewer at a random place (see ``PointLot``).
enum LoyaltyDatabase {
    static let migrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("loyalty v1") { db in
            try db.execute(sql: """
                CREATE TABLE loyalty_meta (key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL);
                CREATE TABLE program (
                    version INTEGER PRIMARY KEY,
                    effective_at REAL NOT NULL,
                    body BLOB NOT NULL
                );
                CREATE TABLE account (
                    customer_id TEXT PRIMARY KEY NOT NULL,
                    tier TEXT NOT NULL,
                    balance INTEGER NOT NULL CHECK (balance >= 0),
                    currency TEXT NOT NULL,
                    lifetime_spend INTEGER NOT NULL DEFAULT 0,
                    purchase_count INTEGER NOT NULL DEFAULT 0,
                    last_purchase_at REAL,
                    enrolled_at REAL NOT NULL,
                    tier_since REAL NOT NULL,
                    next_review_at REAL NOT NULL,
                    grace_used INTEGER NOT NULL DEFAULT 0,
                    referred_by TEXT,
                    last_sequence INTEGER NOT NULL DEFAULT 0,
                    lots BLOB NOT NULL DEFAULT x'',
                    next_expiry_at REAL
                ) WITHOUT ROWID;
                CREATE INDEX account_by_tier ON account (tier);
                CREATE INDEX account_by_expiry ON account (next_expiry_at) WHERE next_expiry_at IS NOT NULL;
                CREATE TABLE ledger (
                    customer_id TEXT NOT NULL,
                    sequence INTEGER NOT NULL,
                    kind INTEGER NOT NULL,
                    points INTEGER NOT NULL,
                    balance_after INTEGER NOT NULL CHECK (balance_after >= 0),
                    at REAL NOT NULL,
                    available_at REAL,
                    expires_at REAL,
                    reference TEXT NOT NULL,
                    description TEXT NOT NULL,
                    program_version INTEGER NOT NULL,
                    qualifying INTEGER NOT NULL DEFAULT 0,
                    counts_at REAL,
                    PRIMARY KEY (customer_id, sequence)
                ) WITHOUT ROWID;
                CREATE INDEX ledger_by_time ON ledger (at);
                CREATE TABLE purchase (
                    order_id TEXT PRIMARY KEY NOT NULL,
                    customer_id TEXT NOT NULL,
                    fingerprint INTEGER NOT NULL,
                    amount INTEGER NOT NULL CHECK (amount > 0),
                    currency TEXT NOT NULL,
                    refunded INTEGER NOT NULL DEFAULT 0,
                    points INTEGER NOT NULL,
                    qualifying INTEGER NOT NULL,
                    points_reversed INTEGER NOT NULL DEFAULT 0,
                    qualifying_reversed INTEGER NOT NULL DEFAULT 0,
                    lot_sequence INTEGER NOT NULL,
                    purchased_at REAL NOT NULL,
                    tier TEXT NOT NULL,
                    response BLOB NOT NULL,
                    CHECK (refunded <= amount)
                ) WITHOUT ROWID;
                CREATE TABLE refund (
                    order_id TEXT NOT NULL,
                    refund_id TEXT NOT NULL,
                    fingerprint INTEGER NOT NULL,
                    response BLOB NOT NULL,
                    PRIMARY KEY (refund_id)
                ) WITHOUT ROWID;
                CREATE TABLE referral (
                    referee_id TEXT PRIMARY KEY NOT NULL,
                    referrer_id TEXT NOT NULL,
                    created_at REAL NOT NULL,
                    rewarded_at REAL
                ) WITHOUT ROWID;
                CREATE TABLE reward (
                    id TEXT PRIMARY KEY NOT NULL,
                    body BLOB NOT NULL
                ) WITHOUT ROWID;
                CREATE TABLE redemption (
                    id TEXT PRIMARY KEY NOT NULL,
                    customer_id TEXT NOT NULL,
                    code TEXT NOT NULL UNIQUE,
                    body BLOB NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX redemption_by_customer ON redemption (customer_id);
                CREATE TABLE redemption_lot (
                    redemption_id TEXT NOT NULL,
                    position INTEGER NOT NULL,
                    points INTEGER NOT NULL CHECK (points > 0),
                    available_at REAL NOT NULL,
                    expires_at REAL NOT NULL,
                    PRIMARY KEY (redemption_id, position)
                ) WITHOUT ROWID;
                CREATE TABLE tier_decision (
                    customer_id TEXT NOT NULL,
                    sequence INTEGER NOT NULL,
                    decided_at REAL NOT NULL,
                    outcome INTEGER NOT NULL,
                    from_tier TEXT NOT NULL,
                    to_tier TEXT NOT NULL,
                    body BLOB NOT NULL,
                    PRIMARY KEY (customer_id, sequence)
                ) WITHOUT ROWID;
                CREATE INDEX tier_decision_by_time ON tier_decision (decided_at);
                """)
        }
        // Where an account's qualifying-points sum starts reading its ledger
        // (see ``AccountView/qualifyingPoints(_:_:program:now:)``): 0 and
        // 1970 read it all, which is right for every existing account.
        migrator.registerMigration("loyalty v2 qualifying floor") { db in
            try db.execute(sql: """
                ALTER TABLE account ADD COLUMN qualifying_floor INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE account ADD COLUMN qualifying_floor_at REAL NOT NULL DEFAULT 0;
                """)
        }
        return migrator
    }()

    static func decodeBody<M: SwiftProtobuf.Message>(_ row: Row, _ type: M.Type, table: String, key: String) throws -> M {
        try row.decode(RecordBody.self, forColumn: "body").decode(M.self, table: table, key: key)
    }
}
