import Foundation
import GRDB

/// An effect on another service, written in the same transaction as the
/// change that caused it, so that the change and the promise to tell the
/// peer commit or vanish together.
public struct OutboxEvent: Sendable, Hashable {
    /// Unique per event; the receiver dedupes by it, which makes redelivery harmless.
    public var eventID: String
    /// The peer service: `profiles`, `journey`, ...
    public var destination: String
    /// The peer's method: `/cx.profiles.v1.Profiles/UpdateTraits`.
    public var method: String
    /// Events with the same destination and ordering key are delivered in
    /// the order they were written (a customer id).
    public var orderingKey: String
    /// The request message, protobuf binary.
    public var payload: Data

    public init(eventID: String, destination: String, method: String, orderingKey: String, payload: Data) {
        self.eventID = eventID
        self.destination = destination
        self.method = method
        self.orderingKey = orderingKey
        self.payload = payload
    }
}

/// A stored event waiting for delivery.
public struct PendingOutboxEvent: Sendable, Hashable {
    /// The outbox's own order.
    public var sequence: Int64
    public var event: OutboxEvent
    /// Failed delivery attempts so far.
    public var attempts: Int
    /// The last attempts in a row the peer refused the event itself (see
    /// ``Store/outboxFailed(sequence:error:retryAt:refused:)``); 0 after any other failure.
    public var refusals: Int = 0
    public var createdAt: Date
}

/// How much is waiting for one destination (`cxctl outbox`).
public struct OutboxBacklog: Sendable, Hashable {
    public var destination: String
    /// Events waiting for delivery.
    public var pending: Int
    /// When the oldest waiting event was written.
    public var oldest: Date?
    public var lastError: String?
    /// Events set aside because the peer refused them for good.
    public var refused: Int = 0
}

/// An event its peer refused for good, set aside so the events behind it
/// (the same customer's) go on; kept until put back by ``Store/outboxRequeueRefused(destination:eventIDs:now:)``.
public struct RefusedOutboxEvent: Sendable, Hashable {
    public var sequence: Int64
    public var event: OutboxEvent
    public var attempts: Int
    public var createdAt: Date
    public var refusedAt: Date
    /// The peer's answer.
    public var error: String
}

/// The outbox table: events go in with a service's write, come out in
/// order per (destination, ordering key) for the relay, and leave once the
/// peer has acknowledged them.
public enum Outbox {
    static func migrate(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("cxstore v1 outbox") { db in
            try db.execute(sql: """
                CREATE TABLE cx_outbox (
                    sequence INTEGER PRIMARY KEY AUTOINCREMENT,
                    event_id TEXT NOT NULL UNIQUE CHECK (event_id <> ''),
                    destination TEXT NOT NULL CHECK (destination <> ''),
                    method TEXT NOT NULL CHECK (method LIKE '/%/%'),
                    ordering_key TEXT NOT NULL,
                    payload BLOB NOT NULL,
                    created_at REAL NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
                    next_attempt_at REAL NOT NULL,
                    last_error TEXT
                );
                CREATE INDEX cx_outbox_by_key ON cx_outbox (destination, ordering_key, sequence);
                CREATE INDEX cx_outbox_due ON cx_outbox (next_attempt_at);
                """)
        }
    }

    /// Adds `event` to the outbox. Call inside the write that caused it.
    ///
    /// - Throws: a constraint error if the event id was used before.
    public static func enqueue(_ db: Database, _ event: OutboxEvent, now: Date = Date()) throws {
        // Payloads are stored uncompressed: an event lives until its peer
        // acknowledges it, and compressing it costs more than it saves.
        try db.cachedStatement(
            sql: """
                INSERT INTO cx_outbox (event_id, destination, method, ordering_key, payload, created_at, next_attempt_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """
        ).run(
            .text(event.eventID), .text(event.destination), .text(event.method), .text(event.orderingKey),
            .body(RecordBody(raw: event.payload)), .seconds(now), .seconds(now))
    }

    /// Replaces the per-key and due-time indexes with one per destination
    /// in sequence order. Every event used to go into an index at a random
    /// place (keys are customer ids); a service writing events for many
    /// customers paid a random page per event at every commit. Rows of one
    /// destination now sit in the index in the order they were written.
    static func migrateByDestination(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("cxstore v3 outbox by destination") { db in
            try db.execute(sql: """
                DROP INDEX cx_outbox_by_key;
                DROP INDEX cx_outbox_due;
                CREATE INDEX cx_outbox_by_destination ON cx_outbox (destination, sequence);
                """)
        }
    }

    /// Events a peer refused for good move to `cx_outbox_refused`, keeping
    /// their id, so nothing a service promised to tell is ever dropped.
    static func migrateRefused(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("cxstore v4 outbox refused") { db in
            try db.execute(sql: """
                CREATE TABLE cx_outbox_refused (
                    sequence INTEGER PRIMARY KEY,
                    event_id TEXT NOT NULL UNIQUE,
                    destination TEXT NOT NULL,
                    method TEXT NOT NULL,
                    ordering_key TEXT NOT NULL,
                    payload BLOB NOT NULL,
                    created_at REAL NOT NULL,
                    attempts INTEGER NOT NULL,
                    refused_at REAL NOT NULL,
                    error TEXT NOT NULL
                );
                CREATE INDEX cx_outbox_refused_by_destination ON cx_outbox_refused (destination, sequence);
                ALTER TABLE cx_outbox ADD COLUMN refusals INTEGER NOT NULL DEFAULT 0;
                """)
        }
    }

    /// Deletes every event with `orderingKey` (a customer id), waiting or
    /// refused: what a service erases must not be sent on, now or by a retry.
    /// Call inside the erasing write.
    ///
    /// - Returns: how many events were deleted.
    public static func forget(_ db: Database, orderingKey: String) throws -> Int {
        var deleted = 0
        for table in ["cx_outbox", "cx_outbox_refused"] {
            try db.execute(sql: "DELETE FROM \(table) WHERE ordering_key = ?", arguments: [orderingKey])
            deleted += db.changesCount
        }
        return deleted
    }

    /// Pending events of one destination a round looks at, oldest first.
    /// Past them, events wait until the ones ahead are delivered.
    public static let dueWindow = 10_000

    /// Events due now, at most one per (destination, ordering key): the
    /// oldest, so a later event never overtakes an earlier one that is
    /// still failing. Oldest first. Per destination, the first
    /// ``dueWindow`` pending events are considered.
    static func due(_ db: Database, now: Date, limit: Int) throws -> [PendingOutboxEvent] {
        var chosen: [Int64] = []
        for destination in try String.fetchAll(db, sql: "SELECT DISTINCT destination FROM cx_outbox") {
            var seen = Set<String>()
            var found = 0
            let cursor = try Row.fetchCursor(
                db,
                sql: """
                    SELECT sequence, ordering_key, next_attempt_at FROM cx_outbox
                    WHERE destination = ? ORDER BY sequence LIMIT ?
                    """,
                arguments: [destination, dueWindow])
            while found < limit, let row = try cursor.next() {
                // The first event of a key is its oldest; later ones wait for it.
                guard seen.insert(try row.decode(String.self, atIndex: 1)).inserted else { continue }
                if try row.decode(Double.self, atIndex: 2) <= now.timeIntervalSince1970 {
                    chosen.append(try row.decode(Int64.self, atIndex: 0))
                    found += 1
                }
            }
        }
        chosen.sort()
        let select = try db.cachedStatement(sql: "SELECT * FROM cx_outbox WHERE sequence = ?")
        return try chosen.prefix(limit).compactMap { sequence in
            guard let row = try Row.fetchOne(select, arguments: [sequence]) else { return nil }
            // decode(forColumn:) throws on a NULL or mistyped value, where subscripting would trap.
            let body = try row.decode(RecordBody.self, forColumn: "payload")
            return PendingOutboxEvent(
                sequence: sequence,
                event: OutboxEvent(
                    eventID: try row.decode(String.self, forColumn: "event_id"),
                    destination: try row.decode(String.self, forColumn: "destination"),
                    method: try row.decode(String.self, forColumn: "method"),
                    orderingKey: try row.decode(String.self, forColumn: "ordering_key"),
                    payload: try body.bytes(table: "cx_outbox", key: "\(sequence)")),
                attempts: try row.decode(Int.self, forColumn: "attempts"),
                refusals: try row.decode(Int.self, forColumn: "refusals"),
                createdAt: Date(timeIntervalSince1970: try row.decode(Double.self, forColumn: "created_at")))
        }
    }
}

extension Store {
    /// Events the relay should deliver now (see ``Outbox``).
    ///
    /// A reader can see a batch that committed while its flush is still
    /// running (``StoreOptions/Flush/offWriter``); its events are returned
    /// only after a flush that began after the read, so no peer ever hears
    /// of a change a power cut could still undo.
    public func outboxDue(now: Date = Date(), limit: Int = 100) async throws -> [PendingOutboxEvent] {
        let due = try await read { db in try Outbox.due(db, now: now, limit: limit) }
        if !due.isEmpty { try await flushed() }
        return due
    }

    /// The peer acknowledged the event: it leaves the outbox.
    public func outboxDelivered(sequence: Int64) async throws {
        try await write { db in try db.execute(sql: "DELETE FROM cx_outbox WHERE sequence = ?", arguments: [sequence]) }
    }

    /// Delivery failed: try again at `retryAt`.
    /// - Parameter refused: the peer refused the event itself (counted in
    ///   a row in `refusals`); any other failure (down, busy, a wrong token)
    ///   starts that count again.
    public func outboxFailed(sequence: Int64, error: String, retryAt: Date, refused: Bool = false) async throws {
        try await write { db in
            try db.execute(
                sql: """
                    UPDATE cx_outbox SET attempts = attempts + 1, refusals = CASE WHEN ? THEN refusals + 1 ELSE 0 END,
                        last_error = ?, next_attempt_at = ?
                    WHERE sequence = ?
                    """,
                arguments: [refused, String(error.prefix(1_000)), retryAt.timeIntervalSince1970, sequence])
        }
    }

    /// What is waiting and what was refused, per destination, with the
    /// oldest waiting event's time.
    public func outboxBacklog() async throws -> [OutboxBacklog] {
        try await read { db in
            var backlog: [String: OutboxBacklog] = [:]
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT destination, COUNT(*) AS pending, MIN(created_at) AS oldest,
                           (SELECT last_error FROM cx_outbox e WHERE e.destination = o.destination
                            AND e.last_error IS NOT NULL ORDER BY e.sequence DESC LIMIT 1) AS last_error
                    FROM cx_outbox o GROUP BY destination
                    """)
            {
                let destination: String = row["destination"]
                backlog[destination] = OutboxBacklog(
                    destination: destination, pending: row["pending"],
                    oldest: (row["oldest"] as Double?).map(Date.init(timeIntervalSince1970:)),
                    lastError: row["last_error"])
            }
            for row in try Row.fetchAll(db, sql: "SELECT destination, COUNT(*) AS refused FROM cx_outbox_refused GROUP BY destination") {
                let destination: String = row["destination"]
                backlog[destination, default: OutboxBacklog(destination: destination, pending: 0)].refused = row["refused"]
            }
            return backlog.values.sorted { $0.destination < $1.destination }
        }
    }

    /// The peer refused the event for good: it leaves the line (so the
    /// same key's later events go on) and is kept in `cx_outbox_refused`.
    public func outboxRefused(sequence: Int64, error: String, now: Date = Date()) async throws {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO cx_outbox_refused
                        (sequence, event_id, destination, method, ordering_key, payload, created_at, attempts, refused_at, error)
                    SELECT sequence, event_id, destination, method, ordering_key, payload, created_at, attempts + 1, ?, ?
                    FROM cx_outbox WHERE sequence = ?
                    """,
                arguments: [now.timeIntervalSince1970, String(error.prefix(1_000)), sequence])
            try db.execute(sql: "DELETE FROM cx_outbox WHERE sequence = ?", arguments: [sequence])
        }
    }

    /// Refused events of `destination`, newest first.
    public func outboxRefusedEvents(destination: String, limit: Int) async throws -> [RefusedOutboxEvent] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM cx_outbox_refused WHERE destination = ? ORDER BY sequence DESC LIMIT ?",
                arguments: [destination, limit]
            ).map { row in
                let sequence: Int64 = try row.decode(Int64.self, forColumn: "sequence")
                return RefusedOutboxEvent(
                    sequence: sequence,
                    event: OutboxEvent(
                        eventID: try row.decode(String.self, forColumn: "event_id"),
                        destination: try row.decode(String.self, forColumn: "destination"),
                        method: try row.decode(String.self, forColumn: "method"),
                        orderingKey: try row.decode(String.self, forColumn: "ordering_key"),
                        payload: try row.decode(RecordBody.self, forColumn: "payload").bytes(table: "cx_outbox_refused", key: "\(sequence)")),
                    attempts: try row.decode(Int.self, forColumn: "attempts"),
                    createdAt: Date(timeIntervalSince1970: try row.decode(Double.self, forColumn: "created_at")),
                    refusedAt: Date(timeIntervalSince1970: try row.decode(Double.self, forColumn: "refused_at")),
                    error: try row.decode(String.self, forColumn: "error"))
            }
        }
    }

    /// Puts refused events back in line, due now, with their ids (so a
    /// peer that did apply one dedupes it) and the time they were written.
    /// They go to the end of the line:
    /// a customer's events written since are not held back for them.
    ///
    /// - Parameters:
    ///   - destination: nil for every destination.
    ///   - eventIDs: empty for every refused event (of the destination);
    ///     at most 1,000 (SQLite's limit on parameters is far above it).
    /// - Returns: how many were put back.
    public func outboxRequeueRefused(destination: String?, eventIDs: [String], now: Date = Date()) async throws -> Int {
        precondition(eventIDs.count <= 1_000, "at most 1,000 event ids at once")
        return try await write { db in
            var conditions: [String] = []
            var arguments: [any DatabaseValueConvertible] = [now.timeIntervalSince1970]
            if let destination {
                conditions.append("destination = ?")
                arguments.append(destination)
            }
            if !eventIDs.isEmpty {
                conditions.append("event_id IN (\(Array(repeating: "?", count: eventIDs.count).joined(separator: ", ")))")
                arguments += eventIDs
            }
            let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            try db.execute(
                sql: """
                    INSERT INTO cx_outbox (event_id, destination, method, ordering_key, payload, created_at, next_attempt_at)
                    SELECT event_id, destination, method, ordering_key, payload, created_at, ? FROM cx_outbox_refused \(filter) ORDER BY sequence
                    """,
                arguments: StatementArguments(arguments))
            let requeued = db.changesCount
            try db.execute(
                sql: "DELETE FROM cx_outbox_refused \(filter)", arguments: StatementArguments(Array(arguments.dropFirst())))
            return requeued
        }
    }
}
