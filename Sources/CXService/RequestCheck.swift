import CXModel
import CXStore
import CXWire
import Foundation
import GRDB
import SwiftProtobuf

/// Checks every service applies to the same kinds of request field, so an
/// id, a page size or an idempotency key is refused with the same words in
/// profiles, loyalty, journey and feedback.
public enum RequestCheck {
    public static let maxIDLength = 64
    public static let maxIdempotencyKeyLength = 128

    /// An id: 1 to 64 ASCII letters, digits and `._:-` (ids appear in page
    /// tokens, logs and other services' events).
    public static func id(_ id: String, field: String) throws(RPCError) {
        guard !id.isEmpty else { throw .invalidArgument(field: field, "must not be empty") }
        guard id.count <= maxIDLength else {
            throw .invalidArgument(field: field, "is \(id.count) characters; at most \(maxIDLength)")
        }
        let allowed = id.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: ":"), UInt8(ascii: "-"):
                true
            default:
                false
            }
        }
        guard allowed else {
            throw .invalidArgument(field: field, "\(quoted(id)) may hold only ASCII letters, digits and . _ : -")
        }
    }

    /// The idempotency key of a write: the request's field or the
    /// "idempotency-key" metadata (equal when both are set); nil when neither is.
    public static func idempotencyKey(_ field: String, _ context: ServerContext, fieldName: String = "idempotency_key")
        throws(RPCError) -> String?
    {
        let metadata = context.metadata["idempotency-key"] ?? ""
        if !field.isEmpty, !metadata.isEmpty, field != metadata {
            throw RPCError(
                code: .invalidArgument,
                message: "\(fieldName): \(quoted(field)) differs from the idempotency-key metadata \(quoted(metadata))",
                fieldViolations: [.init(field: fieldName, description: "differs from the idempotency-key metadata")],
                reason: "IDEMPOTENCY_KEY_MISMATCH")
        }
        let key = field.isEmpty ? metadata : field
        if key.isEmpty { return nil }
        guard key.count <= maxIdempotencyKeyLength else {
            throw .invalidArgument(field: fieldName, "is \(key.count) characters; at most \(maxIdempotencyKeyLength)")
        }
        return key
    }

    /// Like ``idempotencyKey(_:_:fieldName:)`` for writes that must carry one.
    public static func requiredIdempotencyKey(_ field: String, _ context: ServerContext, fieldName: String = "idempotency_key")
        throws(RPCError) -> String
    {
        guard let key = try idempotencyKey(field, context, fieldName: fieldName) else {
            throw .invalidArgument(
                field: fieldName, "is required: a retry of this write must not apply it twice (or send \"idempotency-key\" metadata)")
        }
        return key
    }

    /// A page size: 0 means `standard`, more than `max` is read as `max`,
    /// negative is refused.
    public static func pageSize(_ requested: Int32, field: String = "page_size", standard: Int = 50, max: Int = 1_000)
        throws(RPCError) -> Int
    {
        guard requested >= 0 else { throw .invalidArgument(field: field, "\(requested) is negative") }
        return requested == 0 ? standard : Swift.min(Int(requested), max)
    }

    /// An ISO 4217 code: three uppercase ASCII letters.
    public static func currency(_ code: String, field: String) throws(RPCError) {
        guard code.utf8.count == 3, code.utf8.allSatisfy({ (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }) else {
            throw .invalidArgument(field: field, "\(quoted(code)) is not an ISO 4217 code such as \"IRR\" or \"USD\"")
        }
    }

    /// `"value"`, shortened to 60 characters, for error messages.
    public static func quoted(_ value: String) -> String {
        let shown = value.count > 60 ? String(value.prefix(60)) + "…" : value
        return "\"\(shown)\""
    }
}

/// Page tokens of one service: signed, scoped to the listing and its
/// request, and short-lived (see ``PageTokenCodec``).
public struct Pager: Sendable {
    let codec: PageTokenCodec
    let clock: @Sendable () -> Date

    public init(secret: [UInt8], clock: @escaping @Sendable () -> Date) {
        codec = PageTokenCodec(secret: secret)
        self.clock = clock
    }

    /// The position a page token carries, or nil for the first page.
    public func position(_ token: String, scope: String, field: String = "page_token") throws(RPCError) -> [String]? {
        guard !token.isEmpty else { return nil }
        do {
            return try codec.decode(token, expectedScope: scope, now: clock()).position
        } catch {
            throw RPCError(
                // The codec's descriptions begin with "page_token" already.
                code: .invalidArgument, message: field == "page_token" ? "\(error)" : "\(field): \(error)",
                fieldViolations: [.init(field: field, description: "\(error)")], reason: "PAGE_TOKEN_INVALID")
        }
    }

    /// The token for the page after `last`; empty when the page was not
    /// full (the end).
    public func nextToken(scope: String, last: [String]?, full: Bool) -> String {
        guard full, let last else { return "" }
        return codec.encode(PageToken(scope: scope, position: last, issuedAt: clock()))
    }

    /// The secret a service keeps in its store, made at first start.
    public static func secret(_ db: Database, table: String) throws -> [UInt8] {
        if let secret = try Data.fetchOne(db, sql: "SELECT value FROM \(table) WHERE key = 'page_token_secret'") {
            return Array(secret)
        }
        var generator = SystemRandomNumberGenerator()
        let secret = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        try db.execute(sql: "INSERT INTO \(table) (key, value) VALUES ('page_token_secret', ?)", arguments: [Data(secret)])
        return secret
    }
}

extension Store {
    /// Runs `body` in a write, once per idempotency key (none: every call
    /// runs): in a group-commit transaction, or with `alone` in one of its
    /// own (for long scans that must not hold up other writers' batches).
    /// `subjects` names the customers the stored answer is about, so that
    /// erasing one of them forgets it (``Idempotency/forget(_:subject:)``).
    public func idempotentWrite<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ scope: String, key: String?, request: Request, alone: Bool = false,
        subjects: @escaping @Sendable (Database, Response) throws -> [String] = { _, _ in [] },
        _ body: @escaping @Sendable (Database) throws -> Response
    ) async throws -> Response {
        let once: @Sendable (Database) throws -> Response = { db in
            guard let key else { return try body(db) }
            return try Idempotency.run(db, scope: scope, key: key, request: request, subjects: subjects) { try body(db) }
        }
        return alone ? try await writeAlone(once) : try await write(once)
    }
}
