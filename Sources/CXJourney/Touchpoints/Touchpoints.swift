import CXModel
import CXService
import CXStore
import CXWire
import Foundation
import GRDB

typealias Channel = Cx_Journey_V1_Channel

/// The touchpoint catalogue: where customers meet the business.
enum Touchpoints {
    static let maxNameLength = 200

    /// One touchpoint per channel, named after it.
    static func defaults() -> [Cx_Journey_V1_Touchpoint] {
        let all: [(String, Channel)] = [
            ("Website", .website), ("Social media", .social), ("Store", .store), ("Product", .product), ("Packaging", .packaging),
            ("Delivery", .logistics), ("Phone", .phone), ("Email", .email), ("SMS", .sms), ("App", .app),
            ("After-sales service", .afterSales), ("Events", .event),
        ]
        return all.map { name, channel in
            .with {
                $0.id = channel.name
                $0.name = name
                $0.channel = channel
            }
        }
    }

    static func validate(_ touchpoint: Cx_Journey_V1_Touchpoint, field: String) throws(RPCError) {
        try RequestCheck.id(touchpoint.id, field: "\(field).id")
        let name = touchpoint.name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty else { throw .invalidArgument(field: "\(field).name", "must not be empty") }
        guard touchpoint.name.unicodeScalars.count <= maxNameLength else {
            throw .invalidArgument(field: "\(field).name", "is \(touchpoint.name.unicodeScalars.count) characters; at most \(maxNameLength)")
        }
        if case .UNRECOGNIZED(let value) = touchpoint.channel {
            throw .invalidArgument(field: "\(field).channel", "\(value) is not a channel")
        }
        guard touchpoint.channel != .unspecified else { throw .invalidArgument(field: "\(field).channel", "is required") }
        var seen: Set<Int> = []
        for (index, stage) in touchpoint.stages.enumerated() {
            try Stage.check(stage, field: "\(field).stages[\(index)]")
            guard seen.insert(stage.rawValue).inserted else {
                throw .invalidArgument(field: "\(field).stages[\(index)]", "\(stage.name) is listed twice")
            }
        }
    }

    static func save(_ db: Database, _ touchpoint: Cx_Journey_V1_Touchpoint) throws {
        try db.execute(
            sql: """
                INSERT INTO touchpoint (id, retired, body) VALUES (?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET retired = excluded.retired, body = excluded.body
                """,
            arguments: [touchpoint.id, touchpoint.retired, try RecordBody(touchpoint)])
    }

    static func fetch(_ db: Database, _ id: String) throws -> Cx_Journey_V1_Touchpoint? {
        guard let row = try Row.fetchOne(db, sql: "SELECT body FROM touchpoint WHERE id = ?", arguments: [id]) else { return nil }
        return try JourneyDatabase.decodeBody(row, Cx_Journey_V1_Touchpoint.self, table: "touchpoint", key: id)
    }

    /// Refuses an event at an unknown or retired touchpoint ("" is none, always fine).
    static func requireInService(_ db: Database, _ id: String, field: String) throws {
        guard !id.isEmpty else { return }
        guard let retired = try Bool.fetchOne(db.cachedStatement(sql: "SELECT retired FROM touchpoint WHERE id = ?"), arguments: [id])
        else {
            throw JourneyErrors.touchpointNotFound(id, field: field)
        }
        guard !retired else {
            throw RPCError(
                code: .failedPrecondition, message: "\(field): touchpoint \(RequestCheck.quoted(id)) is retired; it takes no new events",
                fieldViolations: [.init(field: field, description: "retired")], reason: "TOUCHPOINT_RETIRED")
        }
    }
}

extension JourneyService {
    func createTouchpoint(_ request: Cx_Journey_V1_CreateTouchpointRequest, _ context: ServerContext) async throws
        -> Cx_Journey_V1_CreateTouchpointResponse
    {
        var proposed = request.touchpoint
        proposed.retired = false
        try Touchpoints.validate(proposed, field: "touchpoint")
        let touchpoint = proposed
        return try await store.write { db in
            if try Touchpoints.fetch(db, touchpoint.id) != nil {
                throw RPCError(
                    code: .alreadyExists, message: "a touchpoint with id \(RequestCheck.quoted(touchpoint.id)) already exists",
                    reason: "TOUCHPOINT_EXISTS")
            }
            try Touchpoints.save(db, touchpoint)
            return .with { $0.touchpoint = touchpoint }
        }
    }

    func updateTouchpoint(_ request: Cx_Journey_V1_UpdateTouchpointRequest, _ context: ServerContext) async throws
        -> Cx_Journey_V1_UpdateTouchpointResponse
    {
        let proposed = request.touchpoint
        try Touchpoints.validate(proposed, field: "touchpoint")
        return try await store.write { db in
            var touchpoint = proposed
            guard let existing = try Touchpoints.fetch(db, touchpoint.id) else {
                throw JourneyErrors.touchpointNotFound(touchpoint.id, field: "touchpoint.id")
            }
            touchpoint.retired = existing.retired
            try Touchpoints.save(db, touchpoint)
            return .with { $0.touchpoint = touchpoint }
        }
    }

    func listTouchpoints(_ request: Cx_Journey_V1_ListTouchpointsRequest, _ context: ServerContext) async throws
        -> Cx_Journey_V1_ListTouchpointsResponse
    {
        try await store.read { db in
            var response = Cx_Journey_V1_ListTouchpointsResponse()
            let rows = try Row.fetchAll(
                db, sql: "SELECT id, body FROM touchpoint \(request.includeRetired ? "" : "WHERE retired = 0") ORDER BY id")
            for row in rows {
                response.touchpoints.append(
                    try JourneyDatabase.decodeBody(row, Cx_Journey_V1_Touchpoint.self, table: "touchpoint", key: row["id"]))
            }
            return response
        }
    }

    func retireTouchpoint(_ request: Cx_Journey_V1_RetireTouchpointRequest, _ context: ServerContext) async throws
        -> Cx_Journey_V1_RetireTouchpointResponse
    {
        try RequestCheck.id(request.id, field: "id")
        return try await store.write { db in
            guard var touchpoint = try Touchpoints.fetch(db, request.id) else {
                throw JourneyErrors.touchpointNotFound(request.id, field: "id")
            }
            touchpoint.retired = true
            try Touchpoints.save(db, touchpoint)
            return .with { $0.touchpoint = touchpoint }
        }
    }
}
