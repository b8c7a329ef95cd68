import CXModel
import Foundation

/// One customer's place on the journey: the `customer` row.
struct JourneyState: Sendable {
    var customerID: String
    var stage: Stage
    var stageEnteredAt: Double
    var firstSeenAt: Double
    var lastEventAt: Double
    var lostFrom: Stage?
    var lostAt: Double?
    var admittedAt: Double?
    var planTemplateID: String?
    var eventCount: Int64 = 0
    var eventSequence: Int64 = 0
    var changeCount: Int64 = 0
    var taskCount: Int64 = 0
    var timesLost: Int32 = 0
    var timesWonBack: Int32 = 0
}

typealias Cause = Cx_Journey_V1_StageChange.Cause

/// A move from one stage to another.
struct Transition: Equatable, Sendable {
    var from: Stage
    var to: Stage
    var at: Double
    var cause: Cause
    var detail: String
}

/// What events and silence do to a customer's stage: plain functions, no
/// database (the journey rules of proto-spec/cx/journey/v1/journey.proto).
enum StageMachine {
    /// The move an event of `type` at `time` makes, if any. `state` nil is
    /// a customer's first event: they start at the event's stage, or at
    /// ASSESSMENT when its type moves nobody.
    static func move(_ state: JourneyState?, type: String, at time: Double, rules: CompiledRules) -> Transition? {
        let mapped = rules.stage(for: type)
        guard let state else {
            return Transition(from: .unspecified, to: mapped ?? .assessment, at: time, cause: .event, detail: type)
        }
        if state.stage == .lost {
            // An event from before they went quiet does not bring them back.
            guard let lostAt = state.lostAt, time > lostAt else { return nil }
            let from = state.lostFrom ?? .assessment
            let to = (mapped.map { $0.rawValue > from.rawValue } ?? false) ? mapped! : from
            return Transition(from: .lost, to: to, at: time, cause: .winBack, detail: type)
        }
        guard let mapped, mapped.rawValue > state.stage.rawValue else { return nil }
        // A late event moves forward but never to before the current stay began.
        return Transition(from: state.stage, to: mapped, at: max(time, state.stageEnteredAt), cause: .event, detail: type)
    }

    /// The move silence makes: LOST at the moment the quiet period ran out.
    static func quiet(_ state: JourneyState, now: Double, rules: CompiledRules) -> Transition? {
        guard let quietAt = quietDeadline(state, rules: rules), quietAt <= now else { return nil }
        return Transition(from: state.stage, to: .lost, at: quietAt, cause: .quiet, detail: "")
    }

    /// Applies `transition` to the state's own fields (the writer keeps the
    /// history and aggregates).
    static func apply(_ transition: Transition, to state: inout JourneyState) {
        if transition.to == .lost {
            state.lostFrom = transition.from
            state.lostAt = transition.at
            state.timesLost += 1
        } else if transition.cause == .winBack {
            // A move out of LOST by hand is a correction, not a win-back.
            state.timesWonBack += 1
        }
        state.stage = transition.to
        state.stageEnteredAt = transition.at
        state.changeCount += 1
    }

    /// When a customer in their stage becomes LOST if nothing happens.
    static func quietDeadline(_ state: JourneyState, rules: CompiledRules) -> Double? {
        guard state.stage != .lost, let quiet = rules.quietSeconds(state.stage) else { return nil }
        return state.lastEventAt + quiet
    }

    /// Whole days from `start` to `end` (0 when end is before start).
    static func wholeDays(from start: Double, to end: Double) -> Int32 {
        Int32(clamping: Int64(max(0, (end - start) / 86_400).rounded(.down)))
    }
}
