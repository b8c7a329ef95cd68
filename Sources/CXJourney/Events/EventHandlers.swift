import CXModel
import CXService
import CXStore
import CXWire
import Foundation
import GRDB

extension JourneyService {
    static let maxBatch = 1_000
    static let maxAttributes = 32

    /// The checks that need no database: ids, type, attributes.
    static func checkShape(_ event: Cx_Journey_V1_Event, field: String) throws(RPCError) {
        try RequestCheck.id(event.customerID, field: "\(field).customer_id")
        try StageRules.validateEventType(event.type, field: "\(field).type")
        if !event.touchpointID.isEmpty { try RequestCheck.id(event.touchpointID, field: "\(field).touchpoint_id") }
        guard event.attributes.count <= maxAttributes else {
            throw .invalidArgument(field: "\(field).attributes", "has \(event.attributes.count) entries; at most \(maxAttributes)")
        }
        for (key, value) in event.attributes {
            guard !key.isEmpty, key.unicodeScalars.count <= 64 else {
                throw .invalidArgument(field: "\(field).attributes", "key \(RequestCheck.quoted(key)) must be 1 to 64 characters")
            }
            guard value.unicodeScalars.count <= 1_024 else {
                throw .invalidArgument(field: "\(field).attributes[\(key)]", "is \(value.unicodeScalars.count) characters; at most 1024")
            }
        }
        guard event.idempotencyKey.count <= RequestCheck.maxIdempotencyKeyLength else {
            throw .invalidArgument(
                field: "\(field).idempotency_key", "is \(event.idempotencyKey.count) characters; at most \(RequestCheck.maxIdempotencyKeyLength)")
        }
    }

    /// The event's time, refused when too far ahead of `now`.
    static func eventTime(_ event: Cx_Journey_V1_Event, now: Date, rules: CompiledRules, field: String) throws(RPCError) -> Double {
        guard event.hasOccurredAt else { return now.timeIntervalSince1970 }
        let time = event.occurredAt.date.timeIntervalSince1970
        guard time.isFinite, time >= 0 else {
            throw .invalidArgument(field: "\(field).occurred_at", "must be after 1970-01-01")
        }
        guard time <= now.timeIntervalSince1970 + rules.futureTolerance else {
            let ahead = Int(time - now.timeIntervalSince1970)
            throw RPCError(
                code: .invalidArgument,
                message: "\(field).occurred_at: \(event.occurredAt.date.ISO8601Format()) is \(ahead) s ahead of the server's clock; "
                    + "at most \(Int(rules.futureTolerance)) s is allowed (rules.future_tolerance_seconds)",
                fieldViolations: [.init(field: "\(field).occurred_at", description: "in the future")], reason: "EVENT_IN_FUTURE")
        }
        return time
    }

    /// Checks `event` against the database and records it, once per idempotency key.
    ///
    /// A retry gets its first answer before the touchpoint is looked at: an
    /// event recorded before its touchpoint was retired is not refused when
    /// it arrives again (an outbox redelivering it would otherwise move it
    /// to its refused events).
    /// - Parameter inService: touchpoints already found in service in this
    /// operation (a batch names a few touchpoints many times; nothing can
    /// retire one in the middle of an operation).
    static func recordChecked(
        _ db: Database, _ writer: JourneyWriter, _ event: Cx_Journey_V1_Event, now: Date, field: String,
        inService: inout Set<String>
    ) throws -> Cx_Journey_V1_RecordEventResponse {
        let time = try eventTime(event, now: now, rules: writer.rules, field: field)
        func record() throws -> Cx_Journey_V1_RecordEventResponse {
            if !inService.contains(event.touchpointID) {
                try Touchpoints.requireInService(db, event.touchpointID, field: "\(field).touchpoint_id")
                inService.insert(event.touchpointID)
            }
            return try writer.record(db, event, at: time)
        }
        guard !event.idempotencyKey.isEmpty else { return try record() }
        return try Idempotency.run(db, scope: "event", key: event.idempotencyKey, request: event) { try record() }
    }

    func recordEvent(_ request: Cx_Journey_V1_RecordEventRequest, _ context: ServerContext) async throws
        -> Cx_Journey_V1_RecordEventResponse
    {
        guard request.hasEvent else { throw RPCError.invalidArgument(field: "event", "is required") }
        var event = request.event
        try Self.checkShape(event, field: "event")
        if let key = try RequestCheck.idempotencyKey(event.idempotencyKey, context, fieldName: "event.idempotency_key") {
            event.idempotencyKey = key
        }
        let now = clock()
        let checked = event
        return try await store.write { db in
            var inService: Set<String> = []
            return try Self.recordChecked(db, try self.writer(db, now: now), checked, now: now, field: "event", inService: &inService)
        }
    }

    func recordEvents(_ request: Cx_Journey_V1_RecordEventsRequest, _ context: ServerContext) async throws
        -> Cx_Journey_V1_RecordEventsResponse
    {
        guard !request.events.isEmpty else { throw RPCError.invalidArgument(field: "events", "must hold at least one event") }
        guard request.events.count <= Self.maxBatch else {
            throw RPCError.invalidArgument(field: "events", "has \(request.events.count) events; at most \(Self.maxBatch) per call")
        }
        let now = clock()
        return try await store.write { db in
            var inService: Set<String> = []
            let writer = try self.writer(db, now: now)
            var response = Cx_Journey_V1_RecordEventsResponse()
            response.results.reserveCapacity(request.events.count)
            for (index, event) in request.events.enumerated() {
                var result = Cx_Journey_V1_EventResult()
                do {
                    // Every refusal comes before the event writes anything, so a
                    // refused event leaves no trace and the batch goes on.
                    try Self.checkShape(event, field: "events[\(index)]")
                    result.response = try Self.recordChecked(
                        db, writer, event, now: now, field: "events[\(index)]", inService: &inService)
                    response.recorded += 1
                } catch let error as RPCError {
                    result.code = Int32(error.code.rawValue)
                    result.message = error.message
                    result.reason = error.reason
                    response.failed += 1
                } catch let error as StoreError {
                    guard case .idempotencyKeyReused = error else { throw error }
                    let rpc = error.rpcError
                    result.code = Int32(rpc.code.rawValue)
                    result.message = "events[\(index)].idempotency_key: \(rpc.message)"
                    result.reason = rpc.reason
                    response.failed += 1
                }
                response.results.append(result)
            }
            return response
        }
    }

    func moveStage(_ request: Cx_Journey_V1_MoveStageRequest, _ context: ServerContext) async throws -> Cx_Journey_V1_MoveStageResponse {
        try RequestCheck.id(request.customerID, field: "customer_id")
        try Stage.check(request.stage, field: "stage", allowLost: true)
        try PlanTemplates.text(request.reason, field: "reason", max: 500)
        let key = try RequestCheck.idempotencyKey(request.idempotencyKey, context)
        let now = clock()
        return try await store.idempotentWrite("move-stage", key: key, request: request) { db in
            let writer = try self.writer(db, now: now)
            guard var state = try JourneyWriter.load(db, request.customerID) else {
                throw JourneyErrors.customerNotFound(request.customerID)
            }
            var response = Cx_Journey_V1_MoveStageResponse()
            response.stageBefore = state.stage
            if state.stage != request.stage {
                let time = max(now.timeIntervalSince1970, state.stageEnteredAt)
                try writer.change(db, &state, Transition(from: state.stage, to: request.stage, at: time, cause: .manual, detail: request.reason))
                _ = try writer.admitIfFirst(db, &state, at: time, attributes: [:])
                // A move by hand starts a new quiet period, or a customer moved
                // out of LOST would be lost again at the next DetectLost.
                if request.stage != .lost { state.lastEventAt = max(state.lastEventAt, time) }
                try JourneyWriter.save(db, state)
            }
            response.stage = state.stage
            return response
        }
    }

    func detectLost(_ request: Cx_Journey_V1_DetectLostRequest, _ context: ServerContext) async throws -> Cx_Journey_V1_DetectLostResponse {
        let marked = try await markQuietCustomersLost()
        return .with { $0.markedLost = marked }
    }

    /// Marks LOST every customer whose quiet period ran out, a page at a
    /// time in transactions of their own, so events keep flowing. Since a
    /// customer's last event is never before they entered their stage, the
    /// stage index narrows the search to those who entered it more than its
    /// quiet days ago; each one found leaves the stage, so the next page
    /// starts where this one ended.
    func markQuietCustomersLost(pageSize: Int = 500) async throws -> Int64 {
        let now = clock()
        var total: Int64 = 0
        while true {
            let marked = try await store.writeAlone { db -> Int in
                let writer = try self.writer(db, now: now)
                var marked = 0
                for stage in Stage.journey {
                    guard let quiet = writer.rules.quietSeconds(stage), marked < pageSize else { continue }
                    let cutoff = now.timeIntervalSince1970 - quiet
                    let due = try String.fetchAll(
                        db.cachedStatement(sql: """
                            SELECT customer_id FROM customer WHERE stage = ? AND stage_entered_at <= ? AND last_event_at <= ?
                            ORDER BY stage_entered_at, customer_id LIMIT ?
                            """),
                        arguments: [stage.rawValue, cutoff, cutoff, pageSize - marked])
                    for id in due where try writer.detectLost(db, id) { marked += 1 }
                }
                return marked
            }
            total += Int64(marked)
            if marked < pageSize { return total }
        }
    }
}
