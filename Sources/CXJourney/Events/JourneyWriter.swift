import CXModel
import CXService
import CXStore
import CXWire
import Foundation
import GRDB

/// Writes what events and silence do, inside one store transaction: the
/// customer row, the event and stage history, the 100-day tasks, the
/// aggregates and the outbox event to profiles.
///
/// An event runs about ten statements on the single writer thread; they bind
/// their values straight through SQLite's C API (`Statement.run` and
/// `Statement.first`, CXStore's DirectBinding), where GRDB's
/// `execute(arguments:)` boxed each value in two existentials first.
struct JourneyWriter {
    let rules: CompiledRules
    /// When the call began (recorded_at, and the time of a first
    /// "thank you" for an admission in the past).
    let now: Double
    let destinations: Set<CXServiceName>
    /// The plan templates this operation's admissions have read.
    let plans = PlanTemplates.Cache()

    // MARK: - Customer rows

    static func load(_ db: Database, _ id: String) throws -> JourneyState? {
        try db.cachedStatement(sql: """
            SELECT stage, stage_entered_at, first_seen_at, last_event_at, lost_from, lost_at, admitted_at,
                   plan_template_id, event_count, event_sequence, change_count, task_count, times_lost, times_won_back
            FROM customer WHERE customer_id = ?
            """
        ).first(.text(id)) { row in
            JourneyState(
                customerID: id, stage: Stage(stored: row[0]), stageEnteredAt: row[1], firstSeenAt: row[2], lastEventAt: row[3],
                lostFrom: (row[4] as Int?).map(Stage.init(stored:)), lostAt: row[5], admittedAt: row[6],
                planTemplateID: row[7], eventCount: row[8], eventSequence: row[9], changeCount: row[10], taskCount: row[11],
                timesLost: row[12], timesWonBack: row[13])
        }
    }

    /// Saves an event's changes to a known customer who did not change
    /// stage: only the columns an event moves, so SQLite leaves the stage
    /// index alone (an UPDATE that names an indexed column rewrites its index
    /// entry even when the value is the same).
    static func saveEvent(_ db: Database, _ state: JourneyState) throws {
        try db.cachedStatement(sql: """
            UPDATE customer SET first_seen_at = ?, last_event_at = ?, event_count = ?, event_sequence = ?
            WHERE customer_id = ?
            """
        ).run(.real(state.firstSeenAt), .real(state.lastEventAt), .integer(state.eventCount), .integer(state.eventSequence), .text(state.customerID))
    }

    static func save(_ db: Database, _ state: JourneyState) throws {
        try db.cachedStatement(sql: """
            INSERT INTO customer (customer_id, stage, stage_entered_at, first_seen_at, last_event_at, lost_from, lost_at,
                admitted_at, plan_template_id, event_count, event_sequence, change_count, task_count, times_lost, times_won_back)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (customer_id) DO UPDATE SET
                stage = excluded.stage, stage_entered_at = excluded.stage_entered_at, first_seen_at = excluded.first_seen_at,
                last_event_at = excluded.last_event_at,
                lost_from = excluded.lost_from, lost_at = excluded.lost_at,
                admitted_at = excluded.admitted_at, plan_template_id = excluded.plan_template_id,
                event_count = excluded.event_count, event_sequence = excluded.event_sequence,
                change_count = excluded.change_count, task_count = excluded.task_count,
                times_lost = excluded.times_lost, times_won_back = excluded.times_won_back
            """
        ).run(
            .text(state.customerID), .integer(state.stage.rawValue), .real(state.stageEnteredAt), .real(state.firstSeenAt),
            .real(state.lastEventAt), .integer(orNull: state.lostFrom?.rawValue), .real(orNull: state.lostAt), .real(orNull: state.admittedAt),
            .text(orNull: state.planTemplateID), .integer(state.eventCount), .integer(state.eventSequence), .integer(state.changeCount),
            .integer(state.taskCount), .integer(state.timesLost), .integer(state.timesWonBack))
    }

    // MARK: - Events

    /// Records a checked event (its type valid, its touchpoint known and in
    /// service, its time set and not too far ahead) and applies the rules.
    func record(_ db: Database, _ event: Cx_Journey_V1_Event, at time: Double) throws -> Cx_Journey_V1_RecordEventResponse {
        let existing = try Self.load(db, event.customerID)
        var state =
            existing
            ?? JourneyState(customerID: event.customerID, stage: .unspecified, stageEnteredAt: time, firstSeenAt: time, lastEventAt: time)
        let before = state.stage
        var response = Cx_Journey_V1_RecordEventResponse()
        response.stageBefore = before
        if let transition = StageMachine.move(existing, type: event.type, at: time, rules: rules) {
            try change(db, &state, transition)
            response.moved = true
            response.wonBack = transition.cause == .winBack
            response.tasksCreated = try admitIfFirst(db, &state, at: transition.at, attributes: event.attributes)
        }
        state.eventSequence += 1
        state.eventCount += 1
        state.lastEventAt = max(state.lastEventAt, time)
        state.firstSeenAt = min(state.firstSeenAt, time)
        try db.cachedStatement(sql: """
            INSERT INTO event (customer_id, at, sequence, type, touchpoint_id, stage_before, stage_after, recorded_at, idempotency_key, attributes)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """
        ).run(
            .text(event.customerID), .real(time), .integer(state.eventSequence), .text(event.type), .text(event.touchpointID),
            .integer(before.rawValue), .integer(state.stage.rawValue), .real(now), .text(event.idempotencyKey),
            event.attributes.isEmpty ? .null : .body(try RecordBody(Cx_Journey_V1_Event.with { $0.attributes = event.attributes })))
        try Aggregates.touchpoint(db, day: UTCDay.number(time), touchpoint: event.touchpointID, stage: state.stage)
        if existing != nil, !response.moved {
            try Self.saveEvent(db, state)
        } else {
            try Self.save(db, state)
        }
        response.stage = state.stage
        return response
    }

    // MARK: - Stage changes

    /// Moves the customer, keeping history, aggregates and the outbox event.
    func change(_ db: Database, _ state: inout JourneyState, _ transition: Transition) throws {
        let from = state.stage
        if from != .unspecified {
            let advanced = transition.to.isJourneyStage && from.isJourneyStage && transition.to.rawValue > from.rawValue
            try Aggregates.leave(
                db, stage: from, enteredAt: state.stageEnteredAt, at: transition.at, advanced: advanced, lost: transition.to == .lost)
        }
        if transition.cause == .winBack { try Aggregates.wonBack(db, at: transition.at) }
        StageMachine.apply(transition, to: &state)
        try Aggregates.enter(db, stage: transition.to, at: transition.at)
        try db.cachedStatement(sql: """
            INSERT INTO stage_change (customer_id, sequence, at, from_stage, to_stage, cause, detail) VALUES (?, ?, ?, ?, ?, ?, ?)
            """
        ).run(
            .text(state.customerID), .integer(state.changeCount), .real(transition.at), .integer(from.rawValue),
            .integer(transition.to.rawValue), .integer(transition.cause.rawValue), .text(transition.detail))
        try tellProfiles(db, state, at: transition.at)
    }

    /// The first time a customer reaches ADMISSION or later: the plan
    /// template becomes tasks. Returns how many.
    func admitIfFirst(_ db: Database, _ state: inout JourneyState, at time: Double, attributes: [String: String]) throws -> Int32 {
        guard state.admittedAt == nil, state.stage.isJourneyStage, state.stage.rawValue >= Stage.admission.rawValue else { return 0 }
        state.admittedAt = time
        guard let template = try PlanTemplates.choose(db, attributes: attributes, cache: plans) else { return 0 }
        state.planTemplateID = template.id
        let statement = try db.cachedStatement(sql: """
            INSERT INTO task (customer_id, number, template_id, day_offset, stage, touchpoint_id, action, owner_role, due_at, state)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, \(Cx_Journey_V1_Task.State.open.rawValue))
            """)
        for step in template.steps {
            state.taskCount += 1
            try statement.run(
                .text(state.customerID), .integer(state.taskCount), .text(template.id), .integer(step.dayOffset),
                .integer(step.stage.rawValue), .text(step.touchpointID), .text(step.action), .text(step.ownerRole),
                .real(time + Double(step.dayOffset) * 86_400))
        }
        return Int32(template.steps.count)
    }

    /// Marks the customer LOST if their quiet period has run out.
    func detectLost(_ db: Database, _ id: String) throws -> Bool {
        guard var state = try Self.load(db, id), let transition = StageMachine.quiet(state, now: now, rules: rules) else { return false }
        try change(db, &state, transition)
        try Self.save(db, state)
        return true
    }

    /// Sets profiles' journey_stage trait (through the outbox).
    private func tellProfiles(_ db: Database, _ state: JourneyState, at time: Double) throws {
        guard destinations.contains(.profiles) else { return }
        var request = Cx_Profiles_V1_UpdateTraitsRequest()
        request.customerID = state.customerID
        let milliseconds = String(UInt64(max(0, now * 1_000)), radix: 16)
        request.eventID = "journey:\(String(repeating: "0", count: max(0, 12 - milliseconds.count)))\(milliseconds):\(state.customerID):\(state.changeCount)"
        request.source = "journey"
        request.occurredAt = .at(time)
        request.updateMask = ["journey_stage"]
        request.traits.journeyStage = state.stage.name
        try Outbox.enqueue(
            db,
            OutboxEvent(
                eventID: request.eventID, destination: CXServiceName.profiles.rawValue,
                method: Cx_Profiles_V1_Customers.updateTraits.fullName, orderingKey: state.customerID,
                payload: try request.serializedData()))
    }
}
