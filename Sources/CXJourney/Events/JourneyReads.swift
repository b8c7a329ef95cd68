import CXModel
import CXService
import CXStore
import CXWire
import Foundation
import GRDB
import SwiftProtobuf

extension JourneyService {
    static let eventColumns = "customer_id, at, sequence, type, touchpoint_id, stage_before, stage_after, recorded_at, idempotency_key, attributes"

    static func recordedEvent(_ row: Row) throws -> Cx_Journey_V1_RecordedEvent {
        var recorded = Cx_Journey_V1_RecordedEvent()
        let customerID: String = row["customer_id"]
        recorded.event.customerID = customerID
        recorded.event.occurredAt = .at(row["at"])
        recorded.event.type = row["type"]
        recorded.event.touchpointID = row["touchpoint_id"]
        recorded.event.idempotencyKey = row["idempotency_key"]
        if let body = try row.decode(RecordBody?.self, forColumn: "attributes") {
            let sequence: Int64 = row["sequence"]
            recorded.event.attributes = try body.decode(Cx_Journey_V1_Event.self, table: "event", key: "\(customerID)/\(sequence)").attributes
        }
        recorded.stageBefore = Stage(stored: row["stage_before"])
        recorded.stageAfter = Stage(stored: row["stage_after"])
        recorded.recordedAt = .at(row["recorded_at"])
        return recorded
    }

    func getJourney(_ request: Cx_Journey_V1_GetJourneyRequest, _ context: ServerContext) async throws -> Cx_Journey_V1_GetJourneyResponse {
        try RequestCheck.id(request.customerID, field: "customer_id")
        guard (0...100).contains(request.recentEvents) else {
            throw RPCError.invalidArgument(field: "recent_events", "is \(request.recentEvents); must be 0 to 100")
        }
        let recent = request.recentEvents == 0 ? 20 : Int(request.recentEvents)
        let now = clock().timeIntervalSince1970
        return try await store.read { db in
            guard let state = try JourneyWriter.load(db, request.customerID) else { throw JourneyErrors.customerNotFound(request.customerID) }
            var response = Cx_Journey_V1_GetJourneyResponse()
            response.customerID = state.customerID
            response.stage = state.stage
            response.stageEnteredAt = .at(state.stageEnteredAt)
            response.daysInStage = StageMachine.wholeDays(from: state.stageEnteredAt, to: now)
            response.firstSeenAt = .at(state.firstSeenAt)
            response.lastEventAt = .at(state.lastEventAt)
            if let admitted = state.admittedAt { response.admittedAt = .at(admitted) }
            response.planTemplateID = state.planTemplateID ?? ""
            response.eventCount = state.eventCount
            response.timesLost = state.timesLost
            response.timesWonBack = state.timesWonBack
            let changes = try Row.fetchAll(
                db.cachedStatement(sql: "SELECT at, from_stage, to_stage, cause, detail FROM stage_change WHERE customer_id = ? ORDER BY sequence"),
                arguments: [state.customerID])
            response.history = changes.map { row in
                .with {
                    $0.at = .at(row["at"])
                    $0.from = Stage(stored: row["from_stage"])
                    $0.to = Stage(stored: row["to_stage"])
                    $0.cause = Cause(rawValue: row["cause"]) ?? .unspecified
                    $0.detail = row["detail"]
                }
            }
            response.recentEvents = try Row.fetchAll(
                db.cachedStatement(
                    sql: "SELECT \(Self.eventColumns) FROM event WHERE customer_id = ? ORDER BY at DESC, sequence DESC LIMIT ?"),
                arguments: [state.customerID, recent]
            ).map(Self.recordedEvent)
            response.openTasks = try Row.fetchAll(
                db.cachedStatement(
                    sql: "SELECT \(Self.taskColumns) FROM task WHERE customer_id = ? AND +state = ? ORDER BY due_at, number"),
                arguments: [state.customerID, Cx_Journey_V1_Task.State.open.rawValue]
            ).map { try Self.task($0, now: now) }
            return response
        }
    }

    func listEvents(_ request: Cx_Journey_V1_ListEventsRequest, _ context: ServerContext) async throws -> Cx_Journey_V1_ListEventsResponse {
        try RequestCheck.id(request.customerID, field: "customer_id")
        let size = try RequestCheck.pageSize(request.pageSize)
        let scope = "events|\(request.customerID)"
        let position = try pager.position(request.pageToken, scope: scope)
        var start: (Double, Int64)?
        if let position {
            guard position.count == 2, let at = Double(position[0]), let sequence = Int64(position[1]) else {
                throw RPCError.invalidArgument(field: "page_token", "is not a token of this listing")
            }
            start = (at, sequence)
        }
        let after = start
        return try await store.read { db in
            guard try JourneyWriter.load(db, request.customerID) != nil else { throw JourneyErrors.customerNotFound(request.customerID) }
            let rows: [Row]
            if let after {
                rows = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT \(Self.eventColumns) FROM event WHERE customer_id = ? AND (at, sequence) < (?, ?)
                        ORDER BY at DESC, sequence DESC LIMIT ?
                        """,
                    arguments: [request.customerID, after.0, after.1, size + 1])
            } else {
                rows = try Row.fetchAll(
                    db, sql: "SELECT \(Self.eventColumns) FROM event WHERE customer_id = ? ORDER BY at DESC, sequence DESC LIMIT ?",
                    arguments: [request.customerID, size + 1])
            }
            var response = Cx_Journey_V1_ListEventsResponse()
            response.events = try rows.prefix(size).map(Self.recordedEvent)
            if rows.count > size, let last = rows.prefix(size).last {
                let at: Double = last["at"]
                let sequence: Int64 = last["sequence"]
                response.nextPageToken = self.pager.nextToken(scope: scope, last: ["\(at)", "\(sequence)"], full: true)
            }
            return response
        }
    }
}
