import Foundation
import GRDB
import XCTest

@testable import CXStore

/// `Statement.run` and `Statement.first` against a real SQLite file: every
/// kind of value goes in and comes back as GRDB's own binding would store
/// it, and failures are GRDB's errors with the statement still usable.
final class DirectBindingTests: XCTestCase {
    var directory: URL!
    var store: Store!

    override func setUp() async throws {
        directory = try temporaryDirectory()
        var migrator = DatabaseMigrator()
        migrator.registerMigration("test v1 kinds") { db in
            try db.execute(sql: """
                CREATE TABLE kinds (
                    id TEXT PRIMARY KEY NOT NULL,
                    number INTEGER NOT NULL,
                    fraction REAL,
                    label TEXT,
                    bytes BLOB NOT NULL,
                    CHECK (number >= 0)
                )
                """)
        }
        store = try Store(directory: directory, name: "kinds", migrator: migrator)
    }

    override func tearDown() async throws {
        try store.close()
        try? FileManager.default.removeItem(at: directory)
    }

    static let insert = "INSERT INTO kinds (id, number, fraction, label, bytes) VALUES (?, ?, ?, ?, ?)"
    static let select = "SELECT number, fraction, label, bytes FROM kinds WHERE id = ?"

    func testValuesOfEveryKindRoundTripAsGRDBBindsThem() async throws {
        let persian = "سلام، مشتری ۱۲۳"
        let bytes = Data([0, 1, 2, 0, 255])
        try await store.write { db in
            let statement = try db.cachedStatement(sql: Self.insert)
            try statement.run(.text("a"), .integer(Int64.max), .real(-1.5), .text(persian), .blob(bytes))
            // Empty text and blob are values, not NULL; nil optionals are NULL.
            try statement.run(.text("b"), .integer(0), .real(orNull: nil), .text(""), .blob(Data()))
            try statement.run(.text("c"), .integer(Int32(7)), .seconds(Date(timeIntervalSince1970: 1_700_000_000.25)), .text(orNull: nil),
                .body(RecordBody(raw: Data("x".utf8))))
            // The same rows as GRDB's own binding stores them.
            try db.execute(sql: Self.insert, arguments: ["a2", Int64.max, -1.5, persian, bytes])
        }
        try await store.read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT id, number, fraction, label, bytes, typeof(label), typeof(bytes) FROM kinds ORDER BY id")
            XCTAssertEqual(rows.map { $0["id"] as String }, ["a", "a2", "b", "c"])
            XCTAssertEqual(Array(rows[0].databaseValues.dropFirst()), Array(rows[1].databaseValues.dropFirst()))
            XCTAssertEqual(rows[0]["label"] as String, persian)
            XCTAssertEqual(rows[0]["bytes"] as Data, bytes)
            XCTAssertEqual(rows[2]["fraction"] as Double?, nil)
            XCTAssertEqual(rows[2][5] as String, "text")
            XCTAssertEqual(rows[2][6] as String, "blob")
            XCTAssertEqual(rows[2]["label"] as String, "")
            XCTAssertEqual(rows[3]["fraction"] as Double, 1_700_000_000.25)
            XCTAssertEqual(rows[3]["number"] as Int, 7)
            XCTAssertEqual(rows[3][5] as String, "null")
        }
    }

    func testFirstReadsTheRowInPlaceAndNilWhenThereIsNone() async throws {
        try await store.write { db in
            try db.cachedStatement(sql: Self.insert).run(.text("a"), .integer(42), .real(0.5), .text("label"), .blob(Data([9])))
        }
        let (found, missing, reused) = try await store.read { db in
            let statement = try db.cachedStatement(sql: Self.select)
            let found = try statement.first(.text("a")) { row in
                (try row.decode(Int64.self, atIndex: 0), row[1] as Double?, try row.decode(String.self, atIndex: 2), try row.decode(Data.self, atIndex: 3))
            }
            let missing = try statement.first(.text("nobody")) { row in try row.decode(Int64.self, atIndex: 0) }
            // Bound anew each time: the statement keeps nothing of the last call.
            let reused = try statement.first(.text("a")) { row in try row.decode(Int64.self, atIndex: 0) }
            return (found, missing, reused)
        }
        XCTAssertEqual(found?.0, 42)
        XCTAssertEqual(found?.1, 0.5)
        XCTAssertEqual(found?.2, "label")
        XCTAssertEqual(found?.3, Data([9]))
        XCTAssertNil(missing)
        XCTAssertEqual(reused, 42)
    }

    func testAConstraintFailureIsGRDBsErrorAndChangesNothing() async throws {
        try await store.write { db in
            try db.cachedStatement(sql: Self.insert).run(.text("a"), .integer(1), .null, .null, .blob(Data()))
        }
        do {
            try await store.write { db in
                let statement = try db.cachedStatement(sql: Self.insert)
                try statement.run(.text("b"), .integer(2), .null, .null, .blob(Data()))
                try statement.run(.text("c"), .integer(-1), .null, .null, .blob(Data()))
            }
            XCTFail("a negative number passed the CHECK constraint")
        } catch let error as DatabaseError {
            XCTAssertEqual(error.resultCode, .SQLITE_CONSTRAINT)
            XCTAssertEqual(error.sql, Self.insert)
        }
        do {
            try await store.write { db in
                try db.cachedStatement(sql: Self.insert).run(.text("a"), .integer(3), .null, .null, .blob(Data()))
            }
            XCTFail("a duplicate id passed the primary key")
        } catch let error as DatabaseError {
            XCTAssertEqual(error.extendedResultCode, .SQLITE_CONSTRAINT_PRIMARYKEY)
        }
        // The failed writes left nothing, and the statement works again after its failure.
        try await store.write { db in
            try db.cachedStatement(sql: Self.insert).run(.text("d"), .integer(4), .null, .null, .blob(Data()))
        }
        let ids = try await store.read { db in try String.fetchAll(db, sql: "SELECT id FROM kinds ORDER BY id") }
        XCTAssertEqual(ids, ["a", "d"])
    }
}
