import Foundation
import GRDB
import SwiftProtobuf

/// Makes a retried write harmless: the first answer to a (scope, key) is
/// stored in the same transaction as the write, and a retry gets it back
/// without the write running again.
public enum Idempotency {
    /// Runs `body` unless `key` was used before in `scope`; either way
    /// returns the response of the first run. Call inside ``Store/write(_:)``.
    ///
    /// - Throws: ``StoreError/idempotencyKeyReused(scope:key:)`` when the key
    ///   was used for a different request (the write does not run), or what
    ///   `body` throws (and nothing is recorded, so a retry runs again).
    ///
    /// - Parameter subjects: the customers the stored answer is about (ids,
    ///   which hold no spaces), from the answer or the database after `body`:
    ///   ``forget(_:subject:)`` removes it when one of them is erased. An
    ///   answer naming nobody needs none.
    public static func run<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ db: Database,
        scope: String,
        key: String,
        request: Request,
        subjects: (Database, Response) throws -> [String] = { _, _ in [] },
        _ body: () throws -> Response
    ) throws -> Response {
        let fingerprint = try Self.fingerprint(of: request)
        // Cached statements: this runs once per keyed write (per event in a
        // journey batch), and compiling the SQL each time cost more than the lookup.
        // Bound straight through SQLite's C API (DirectBinding.swift): a
        // journey batch runs this lookup and the insert below once per event.
        if let (storedFingerprint, stored) = try db.cachedStatement(
            sql: "SELECT request_fingerprint, response FROM cx_idempotency WHERE scope = ? AND key = ?"
        ).first(.text(scope), .text(key), read: { row in
            // decode(atIndex:) throws on a NULL or mistyped value, where subscripting would trap.
            (try row.decode(Int64.self, atIndex: 0), try row.decode(RecordBody.self, atIndex: 1))
        }) {
            guard storedFingerprint == fingerprint else {
                throw StoreError.idempotencyKeyReused(scope: scope, key: key)
            }
            return try stored.decode(Response.self, table: "cx_idempotency", key: "\(scope)/\(key)")
        }
        let response = try body()
        let named = try subjects(db, response).filter { !$0.isEmpty }
        try db.cachedStatement(
            sql: "INSERT INTO cx_idempotency (scope, key, request_fingerprint, response, created_at, subjects) VALUES (?, ?, ?, ?, ?, ?)"
        ).run(
            .text(scope), .text(key), .integer(fingerprint), .body(try RecordBody(response)), .real(Date().timeIntervalSince1970),
            .text(orNull: named.isEmpty ? nil : named.joined(separator: " ")))
        return response
    }

    /// Removes every stored answer about `subject` (a customer being
    /// erased): a retry of one of those writes then runs again, and finds
    /// the customer gone. Call inside the erasing write.
    ///
    /// Scans the answers kept (``StoreOptions/idempotencyRetention``): no
    /// index by customer, which every keyed write would pay for, for the
    /// sake of a rare erasure.
    ///
    /// - Returns: how many answers were removed.
    @discardableResult
    public static func forget(_ db: Database, subject: String) throws -> Int {
        guard !subject.isEmpty else { return 0 }
        try db.execute(
            sql: "DELETE FROM cx_idempotency WHERE subjects IS NOT NULL AND instr(' ' || subjects || ' ', ' ' || ? || ' ') > 0",
            arguments: [subject])
        return db.changesCount
    }

    static func migrateSubjects(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("cxstore v5 idempotency subjects") { db in
            try db.execute(sql: "ALTER TABLE cx_idempotency ADD COLUMN subjects TEXT")
        }
    }

    /// FNV-1a 64 of the request's deterministic encoding, as a signed
    /// integer for SQLite: what tells a retry from a different request
    /// under the same key.
    public static func fingerprint(of request: some SwiftProtobuf.Message) throws -> Int64 {
        var options = BinaryEncodingOptions()
        options.useDeterministicOrdering = true
        let bytes: [UInt8] = try request.serializedBytes(options: options)
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return Int64(bitPattern: hash)
    }
}
