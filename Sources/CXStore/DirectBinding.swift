import Foundation
import GRDB
import GRDBSQLite

/// A value bound to a statement parameter straight through SQLite's C API.
///
/// GRDB's `execute(arguments:)` turns each argument into an existential
/// `DatabaseValueConvertible`, then a `DatabaseValue`, then binds it from a
/// nested closure per argument. On the hot writes of a busy service (a
/// loyalty purchase runs eight statements on the single writer thread) that
/// bookkeeping cost about a fifth of the writer's time, more than SQLite
/// itself spent on some of the statements. ``GRDB/Statement/run(_:)``
/// binds these values instead and still runs the statement through GRDB, so
/// its checks (an aborted transaction, a failed statement leaving the cache)
/// all stay.
public enum SQLValue {
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob(Data)
    case null

    public static func integer(_ value: Int) -> SQLValue { .integer(Int64(value)) }
    public static func integer(_ value: Int32) -> SQLValue { .integer(Int64(value)) }
    public static func integer(orNull value: Int?) -> SQLValue { value.map { .integer(Int64($0)) } ?? .null }
    public static func real(orNull value: Double?) -> SQLValue { value.map { .real($0) } ?? .null }
    public static func text(orNull value: String?) -> SQLValue { value.map { .text($0) } ?? .null }
    /// A date as seconds since 1970, the way every CX table stores time.
    public static func seconds(_ date: Date) -> SQLValue { .real(date.timeIntervalSince1970) }
    public static func seconds(orNull date: Date?) -> SQLValue { date.map { .seconds($0) } ?? .null }
    public static func body(_ body: RecordBody) -> SQLValue { .blob(body.stored) }
}

/// SQLite copies the bytes before the bind call returns.
private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

extension Statement {
    /// Runs this statement (an INSERT, UPDATE or DELETE) with `values` bound
    /// to its parameters in order.
    ///
    /// - Precondition: as many values as the statement has parameters (a
    ///   programming error otherwise, like a wrong column count).
    /// - Throws: GRDB's `DatabaseError` when SQLite refuses the statement (a
    ///   constraint, a full disk), as `execute(arguments:)` would.
    public func run(_ values: SQLValue...) throws {
        bind(values)
        try execute()
    }

    /// Runs this query with `values` bound and hands its first row to
    /// `read`, or returns nil when it has none. The row is read in place
    /// (nothing is copied out of SQLite first): `read` must not keep it, nor
    /// run this same statement again while it reads.
    public func first<T>(_ values: SQLValue..., read: (Row) throws -> T) throws -> T? {
        bind(values)
        let cursor = try Row.fetchCursor(self)
        guard let row = try cursor.next() else { return nil }
        // The cursor resets the statement when it goes, which would empty the row.
        return try withExtendedLifetime(cursor) { try read(row) }
    }

    /// Binds through GRDB's unchecked path first (which resets the statement,
    /// clears its bindings and marks them valid, so `execute()` runs it as it
    /// is), then the values with the C API.
    private func bind(_ values: [SQLValue]) {
        let statement = sqliteStatement
        precondition(
            values.count == Int(sqlite3_bind_parameter_count(statement)),
            "\(values.count) values for \(sqlite3_bind_parameter_count(statement)) parameters: \(sql)")
        setUncheckedArguments(StatementArguments())
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let code: Int32
            switch value {
            case .integer(let value): code = sqlite3_bind_int64(statement, index, value)
            case .real(let value): code = sqlite3_bind_double(statement, index, value)
            case .null: code = sqlite3_bind_null(statement, index)
            case .text(var value):
                code = value.withUTF8 { bytes in
                    // An empty buffer may have no address, which SQLite would bind as NULL.
                    guard let base = bytes.baseAddress, !bytes.isEmpty else { return sqlite3_bind_text(statement, index, "", 0, transient) }
                    return base.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                        sqlite3_bind_text(statement, index, $0, Int32(bytes.count), transient)
                    }
                }
            case .blob(let value):
                code = value.withUnsafeBytes { bytes in
                    guard let base = bytes.baseAddress, !bytes.isEmpty else { return sqlite3_bind_zeroblob(statement, index, 0) }
                    return sqlite3_bind_blob(statement, index, base, Int32(bytes.count), transient)
                }
            }
            // Binding only fails on a misuse (an index out of range, a value
            // past SQLite's length limit): a bug, as GRDB treats it too.
            precondition(code == SQLITE_OK, "binding parameter \(index) of \(sql) failed: SQLite code \(code)")
        }
    }
}
