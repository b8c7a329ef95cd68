import CXModel
import CXStore
import Foundation
import GRDB

/// The profiles service's tables. Migrations are named and never edited
/// once shipped: add new ones.
enum ProfilesDatabase {
    static let migrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("profiles v1 customers") { db in
            // A tombstone (erased_at set) keeps the id and nothing else.
            try db.execute(sql: """
                CREATE TABLE customer (
                    id TEXT PRIMARY KEY NOT NULL,
                    version INTEGER NOT NULL,
                    erased_at REAL,
                    body BLOB,
                    CHECK ((erased_at IS NULL) <> (body IS NULL))
                ) WITHOUT ROWID;
                CREATE TABLE customer_token (
                    token TEXT NOT NULL,
                    field INTEGER NOT NULL,
                    customer_id TEXT NOT NULL,
                    PRIMARY KEY (token, field, customer_id)
                ) WITHOUT ROWID;
                CREATE INDEX customer_token_by_customer ON customer_token (customer_id);
                CREATE TABLE trait_clock (
                    customer_id TEXT NOT NULL,
                    path TEXT NOT NULL,
                    occurred_at REAL NOT NULL,
                    PRIMARY KEY (customer_id, path)
                ) WITHOUT ROWID;
                CREATE TABLE profiles_meta (key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL);
                """)
        }
        migrator.registerMigration("profiles v1 segments") { db in
            try db.execute(sql: """
                CREATE TABLE segment (
                    id TEXT PRIMARY KEY NOT NULL,
                    name_key TEXT NOT NULL UNIQUE,
                    body BLOB NOT NULL
                );
                CREATE TABLE segment_member (
                    segment_id TEXT NOT NULL REFERENCES segment (id) ON DELETE CASCADE,
                    customer_id TEXT NOT NULL,
                    PRIMARY KEY (segment_id, customer_id)
                ) WITHOUT ROWID;
                CREATE INDEX segment_member_by_customer ON segment_member (customer_id);
                CREATE TABLE segment_flip (
                    segment_id TEXT NOT NULL REFERENCES segment (id) ON DELETE CASCADE,
                    customer_id TEXT NOT NULL,
                    due REAL NOT NULL,
                    PRIMARY KEY (segment_id, customer_id)
                ) WITHOUT ROWID;
                CREATE INDEX segment_flip_by_due ON segment_flip (due);
                CREATE INDEX segment_flip_by_customer ON segment_flip (customer_id);
                """)
        }
        migrator.registerMigration("profiles v1 personas") { db in
            try db.execute(sql: """
                CREATE TABLE persona (
                    id TEXT PRIMARY KEY NOT NULL,
                    name_key TEXT NOT NULL UNIQUE,
                    body BLOB NOT NULL
                );
                """)
        }
        migrator.registerMigration("profiles v2 spend history") { db in
            // Lifetime spend as each UpdateTraits reported it: spend within any
            // window is the difference of two points, so trends need no
            // purchase log in this service.
            try db.execute(sql: """
                CREATE TABLE spend_point (
                    customer_id TEXT NOT NULL,
                    at REAL NOT NULL,
                    lifetime INTEGER NOT NULL,
                    PRIMARY KEY (customer_id, at)
                ) WITHOUT ROWID;
                """)
        }
        return migrator
    }()

    // MARK: customers

    enum Stored: Sendable {
        case live(Cx_Profiles_V1_Customer)
        case erased(Date)
    }

    /// Reads and writes here bind straight through SQLite's C API
    /// (CXStore's DirectBinding): an import runs them for every row.
    static func customer(_ db: Database, id: String) throws -> Stored? {
        try db.cachedStatement(sql: "SELECT erased_at, body FROM customer WHERE id = ?").first(.text(id)) { row in
            if let erased = row[0] as Double? { return .erased(Date(timeIntervalSince1970: erased)) }
            let body = try row.decode(RecordBody.self, atIndex: 1)
            return .live(try body.decode(Cx_Profiles_V1_Customer.self, table: "customer", key: id))
        }
    }

    /// Inserts or replaces a live customer and its search tokens; a
    /// replaced customer leaves `cache` when the transaction commits.
    ///
    /// - Parameter encoded: `customer` encoded by ``encode(_:)`` before the
    ///   transaction, off the writer thread every write shares: compressing
    ///   the body and cutting the search tokens took 40% of that thread in
    ///   cx-bench profiles' import.
    static func save(_ db: Database, _ customer: Cx_Profiles_V1_Customer, isNew: Bool, cache: CustomerCache, encoded: Encoded? = nil) throws {
        let encoded = try encoded ?? encode(customer)
        if isNew {
            try db.cachedStatement(sql: "INSERT INTO customer (id, version, body) VALUES (?, ?, ?)")
                .run(.text(customer.id), .integer(customer.version), .body(encoded.body))
        } else {
            try db.cachedStatement(sql: "UPDATE customer SET version = ?, body = ? WHERE id = ?")
                .run(.integer(customer.version), .body(encoded.body), .text(customer.id))
            try db.cachedStatement(sql: "DELETE FROM customer_token WHERE customer_id = ?").run(.text(customer.id))
            cache.invalidateOnCommit(db, id: customer.id)
        }
        let insert = try db.cachedStatement(sql: "INSERT OR IGNORE INTO customer_token (token, field, customer_id) VALUES (?, ?, ?)")
        for (token, field) in encoded.tokens {
            try insert.run(.text(token), .integer(field.rawValue), .text(customer.id))
        }
    }

    /// What ``save(_:_:isNew:cache:encoded:)`` writes for a customer, worked
    /// out from it alone.
    struct Encoded: Sendable {
        let body: RecordBody
        let tokens: [(String, SearchField)]
    }

    static func encode(_ customer: Cx_Profiles_V1_Customer) throws -> Encoded {
        Encoded(body: try RecordBody(customer), tokens: searchTokens(customer))
    }

    /// Erases a customer's personal data for good, keeping a tombstone of the id.
    static func erase(_ db: Database, id: String, at: Date, cache: CustomerCache) throws {
        try db.execute(sql: "UPDATE customer SET erased_at = ?, body = NULL WHERE id = ?", arguments: [at.timeIntervalSince1970, id])
        cache.invalidateOnCommit(db, id: id)
        for table in ["customer_token", "trait_clock", "segment_member", "segment_flip", "spend_point"] {
            try db.execute(sql: "DELETE FROM \(table) WHERE customer_id = ?", arguments: [id])
        }
        // Stored first answers about the customer (an upsert's customer, a trait update).
        try Idempotency.forget(db, subject: id)
    }

    /// Live customers with ids after `after`, in id order.
    static func customers(_ db: Database, after: String?, limit: Int) throws -> [Cx_Profiles_V1_Customer] {
        let rows = try Row.fetchAll(
            db,
            sql: "SELECT id, body FROM customer WHERE id > ? AND body IS NOT NULL ORDER BY id LIMIT ?",
            arguments: [after ?? "", limit])
        return try rows.map(liveCustomer)
    }

    /// Calls `body` with every live customer, one row at a time (a cursor,
    /// so 100,000 customers are never in memory together).
    static func forEachLiveCustomer(_ db: Database, _ body: (Cx_Profiles_V1_Customer) throws -> Void) throws {
        let cursor = try Row.fetchCursor(db, sql: "SELECT id, body FROM customer WHERE body IS NOT NULL")
        while let row = try cursor.next() { try body(try liveCustomer(row)) }
    }

    /// The customer of a row of (id, body).
    static func liveCustomer(_ row: Row) throws -> Cx_Profiles_V1_Customer {
        let id: String = try row.decode(String.self, forColumn: "id")
        return try row.decode(RecordBody.self, forColumn: "body").decode(Cx_Profiles_V1_Customer.self, table: "customer", key: id)
    }

    // MARK: search

    enum SearchField: Int, CaseIterable {
        case name = 1, email = 2, phone = 3
    }

    static func searchTokens(_ c: Cx_Profiles_V1_Customer) -> [(String, SearchField)] {
        var tokens: [(String, SearchField)] = []
        for token in CXText.searchTokens(c.name) { tokens.append((token, .name)) }
        if !c.email.isEmpty {
            let email = CXText.normalizeEmail(c.email)
            tokens.append((email, .email))
            for token in CXText.searchTokens(c.email) where token != email { tokens.append((token, .email)) }
        }
        for digits in phoneVariants(c.phone) { tokens.append((digits, .phone)) }
        return tokens
    }

    /// A phone's digits, and the same without a leading 00, country code 98
    /// or trunk 0, so "0912…", "912…" and "+98912…" all find it.
    static func phoneVariants(_ phone: String) -> [String] {
        let digits = CXText.phoneDigits(phone)
        guard !digits.isEmpty else { return [] }
        var variants = [digits]
        var rest = Substring(digits)
        if rest.hasPrefix("00") { rest = rest.dropFirst(2) }
        if rest.hasPrefix("98") { rest = rest.dropFirst(2) }
        if rest.hasPrefix("0") { rest = rest.dropFirst(1) }
        if !rest.isEmpty, rest != Substring(digits) { variants.append(String(rest)) }
        return variants
    }

    // MARK: meta

    static func meta(_ db: Database, _ key: String) throws -> Data? {
        try Data.fetchOne(db.cachedStatement(sql: "SELECT value FROM profiles_meta WHERE key = ?"), arguments: [key])
    }

    static func setMeta(_ db: Database, _ key: String, _ value: Data) throws {
        try db.cachedStatement(sql: "INSERT OR REPLACE INTO profiles_meta (key, value) VALUES (?, ?)").execute(arguments: [key, value])
    }
}
