import CXStore
import CXWire
import GRDB
import Synchronization
import SwiftProtobuf

/// The newest row of a versioned table — `version INTEGER PRIMARY KEY,
/// effective_at REAL, body BLOB`, one row per version, never updated (the
/// loyalty program, the journey rules) — decoded once per version.
///
/// Every write asks the database which version is newest (one indexed
/// lookup) and decodes only when that changed, so a version written earlier
/// in the same group-commit batch is never missed. A version is known by its
/// number *and* its time: one read inside a batch that then failed to commit
/// is never mistaken for the one that later commits under the same number.
public final class NewestVersion<Value: Sendable>: Sendable {
    private let table: String
    private let decode: @Sendable (RecordBody, Int64) throws -> Value
    private let current = Mutex<(version: Int64, effectiveAt: Double, value: Value)?>(nil)

    /// - Parameters:
    ///   - table: the versioned table (never caller input).
    ///   - transform: what is kept of each version (its compiled form).
    public init<Message: SwiftProtobuf.Message>(table: String, _ type: Message.Type, transform: @escaping @Sendable (Message) -> Value) {
        self.table = table
        decode = { body, version in transform(try body.decode(Message.self, table: table, key: "\(version)")) }
    }

    /// The newest version's value, inside a read or a write.
    public func value(_ db: Database) throws -> Value {
        guard let (version, effectiveAt) = try db.cachedStatement(sql: "SELECT version, effective_at FROM \(table) ORDER BY version DESC LIMIT 1")
            .first(read: { row in (try row.decode(Int64.self, atIndex: 0), try row.decode(Double.self, atIndex: 1)) })
        else {
            throw RPCError(code: .internal, message: "the \(table) table holds no version")
        }
        if let cached = current.withLock({ $0 }), cached.version == version, cached.effectiveAt == effectiveAt {
            return cached.value
        }
        guard let row = try Row.fetchOne(db, sql: "SELECT body FROM \(table) WHERE version = ?", arguments: [version]) else {
            throw RPCError(code: .internal, message: "\(table) version \(version) vanished while being read")
        }
        let value = try decode(try row.decode(RecordBody.self, forColumn: "body"), version)
        current.withLock { $0 = (version, effectiveAt, value) }
        return value
    }
}

extension NewestVersion where Value: SwiftProtobuf.Message {
    /// Keeps each version's message as it is.
    public convenience init(table: String, _ type: Value.Type) {
        self.init(table: table, type, transform: { $0 })
    }
}
