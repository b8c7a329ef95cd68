import ArgumentParser
import CXModel
import Foundation
import SwiftProtobuf

/// A stage as the command line names it: "assessment", ..., "advocacy", "lost".
enum JourneyStageArgument: String, EnumArgument {
    case assessment, admission, affirmation, activation, acclimation, accomplishment, acceptance, advocacy, lost

    var proto: Cx_Journey_V1_Stage {
        switch self {
        case .assessment: .assessment
        case .admission: .admission
        case .affirmation: .affirmation
        case .activation: .activation
        case .acclimation: .acclimation
        case .accomplishment: .accomplishment
        case .acceptance: .acceptance
        case .advocacy: .advocacy
        case .lost: .lost
        }
    }

    /// The eight stages of the journey, in order, for help and error texts.
    static let journeyList = allCases.filter { $0 != .lost }.map(\.rawValue).joined(separator: ", ")

    /// The stages of `arguments` for a field that takes the eight stages but
    /// not LOST (a touchpoint's stages, say); `flag` names it in the error.
    static func journeyStages(_ arguments: [Self], flag: String) throws -> [Cx_Journey_V1_Stage] {
        var seen = Set<Self>()
        for argument in arguments {
            guard argument != .lost else {
                throw ValidationError("\(flag): lost is not a stage of the journey here; one of \(journeyList)")
            }
            guard seen.insert(argument).inserted else {
                throw ValidationError("\(flag): \(argument.rawValue) is given twice")
            }
        }
        return arguments.map(\.proto)
    }
}

/// A touchpoint's channel as the command line names it: "website", ..., "after-sales".
enum JourneyChannelArgument: String, EnumArgument {
    case website, social, store, product, packaging, logistics, phone, email, sms, app
    case afterSales = "after-sales"
    case event

    var proto: Cx_Journey_V1_Channel {
        switch self {
        case .website: .website
        case .social: .social
        case .store: .store
        case .product: .product
        case .packaging: .packaging
        case .logistics: .logistics
        case .phone: .phone
        case .email: .email
        case .sms: .sms
        case .app: .app
        case .afterSales: .afterSales
        case .event: .event
        }
    }
}

/// A task state for `tasks list --state`.
enum JourneyTaskStateArgument: String, EnumArgument {
    case open, done, skipped

    var proto: Cx_Journey_V1_Task.State {
        switch self {
        case .open: .open
        case .done: .done
        case .skipped: .skipped
        }
    }
}

/// The words the journey commands use for the contract's enums: the
/// command line's names, so what is shown can be typed back.
enum JourneyNames {
    static func stage(_ stage: Cx_Journey_V1_Stage) -> String {
        stage.name.isEmpty ? "-" : stage.name
    }

    static func channel(_ channel: Cx_Journey_V1_Channel) -> String {
        channel.name.isEmpty ? "-" : channel.name
    }

    static func cause(_ cause: Cx_Journey_V1_StageChange.Cause) -> String {
        switch cause {
        case .unspecified: "-"
        case .event: "event"
        case .quiet: "quiet"
        case .winBack: "win-back"
        case .manual: "by hand"
        case .UNRECOGNIZED(let number): "cause(\(number))"
        }
    }

    static func state(_ task: Cx_Journey_V1_Task) -> String {
        switch task.state {
        case .unspecified: "-"
        case .open: task.overdue ? "open, overdue" : "open"
        case .done: "done"
        case .skipped: "skipped"
        case .UNRECOGNIZED(let number): "state(\(number))"
        }
    }

    /// "activation → acclimation"; "new → assessment" for a customer's
    /// first event; just the stage when it did not change.
    static func move(_ before: Cx_Journey_V1_Stage, _ after: Cx_Journey_V1_Stage) -> String {
        before == after ? stage(after) : "\(before == .unspecified ? "new" : stage(before)) → \(stage(after))"
    }

    /// A touchpoint's stages: "all" when it names none.
    static func stages(_ stages: [Cx_Journey_V1_Stage]) -> String {
        stages.isEmpty ? "all" : stages.map(stage).joined(separator: ", ")
    }
}

/// How the journey commands show values in tables.
enum JourneyFormat {
    /// 12000 → "12,000".
    static func count(_ value: some BinaryInteger) -> String {
        (value < 0 ? "-" : "") + ProfilesFormat.grouped(UInt64(value.magnitude))
    }

    /// "1 day", "12 days".
    static func days(_ value: some BinaryInteger) -> String {
        value == 1 ? "1 day" : "\(count(value)) days"
    }

    static func time(_ timestamp: Google_Protobuf_Timestamp, if present: Bool) -> String {
        ProfilesFormat.time(present ? timestamp : nil)
    }

    /// Attributes as "k=v, k=v", by key; "-" for none.
    static func attributes(_ attributes: [String: String]) -> String {
        attributes.isEmpty ? "-" : attributes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
    }
}

/// Tables of the journey service's messages.
enum JourneyView {
    /// Where a customer is, then the stage history, the recent events and the open tasks.
    static func journey(_ journey: Cx_Journey_V1_GetJourneyResponse) -> String {
        var summary = Table("FIELD", "VALUE")
        summary.append(["customer", journey.customerID])
        let entered = JourneyFormat.time(journey.stageEnteredAt, if: journey.hasStageEnteredAt)
        summary.append(["stage", "\(JourneyNames.stage(journey.stage)) (\(JourneyFormat.days(journey.daysInStage)), since \(entered))"])
        summary.append(["first seen", JourneyFormat.time(journey.firstSeenAt, if: journey.hasFirstSeenAt)])
        summary.append(["last event", JourneyFormat.time(journey.lastEventAt, if: journey.hasLastEventAt)])
        summary.append(["events", JourneyFormat.count(journey.eventCount)])
        if journey.hasAdmittedAt {
            let plan = journey.planTemplateID.isEmpty ? "" : " (plan \(journey.planTemplateID))"
            summary.append(["admitted", ProfilesFormat.time(journey.admittedAt) + plan])
        } else {
            summary.append(["admitted", "not yet"])
        }
        summary.append(["times lost", "\(journey.timesLost) (won back \(journey.timesWonBack))"])
        var sections = [summary.render()]
        sections.append(journey.history.isEmpty ? "(no stage changes)" : history(journey.history).render())
        sections.append(journey.recentEvents.isEmpty ? "(no events)" : events(journey.recentEvents).render())
        sections.append(journey.openTasks.isEmpty ? "(no open tasks)" : tasks(journey.openTasks).render())
        return sections.joined(separator: "\n\n")
    }

    /// Stage changes, oldest first.
    static func history(_ changes: [Cx_Journey_V1_StageChange]) -> Table {
        var table = Table("CHANGED AT", "FROM", "TO", "CAUSE", "DETAIL")
        for change in changes {
            table.append([
                JourneyFormat.time(change.at, if: change.hasAt), change.from == .unspecified ? "new" : JourneyNames.stage(change.from),
                JourneyNames.stage(change.to),
                JourneyNames.cause(change.cause), ProfilesFormat.short(change.detail, 60),
            ])
        }
        return table
    }

    /// Recorded events, as the service gives them (newest first).
    static func events(_ events: [Cx_Journey_V1_RecordedEvent]) -> Table {
        var table = Table("OCCURRED AT", "TYPE", "TOUCHPOINT", "STAGE", "ATTRIBUTES")
        for recorded in events {
            let event = recorded.event
            table.append([
                JourneyFormat.time(event.occurredAt, if: event.hasOccurredAt), event.type, ProfilesFormat.text(event.touchpointID),
                JourneyNames.move(recorded.stageBefore, recorded.stageAfter),
                ProfilesFormat.short(JourneyFormat.attributes(event.attributes), 60),
            ])
        }
        return table
    }

    /// Tasks, in the order given; a task's id starts with its customer's.
    static func tasks(_ tasks: [Cx_Journey_V1_Task]) -> Table {
        var table = Table("DUE", "TASK", "STAGE", "ACTION", "OWNER", "TOUCHPOINT", "STATE")
        for task in tasks {
            table.append([
                JourneyFormat.time(task.dueAt, if: task.hasDueAt), task.id, JourneyNames.stage(task.stage),
                ProfilesFormat.short(task.action, 60), ProfilesFormat.text(task.ownerRole), ProfilesFormat.text(task.touchpointID),
                JourneyNames.state(task),
            ])
        }
        return table
    }

    /// One task, field by field.
    static func task(_ task: Cx_Journey_V1_Task) -> Table {
        var table = Table("FIELD", "VALUE")
        table.append(["task", task.id])
        table.append(["customer", task.customerID])
        table.append(["state", JourneyNames.state(task)])
        table.append(["action", ProfilesFormat.text(task.action)])
        table.append(["owner", ProfilesFormat.text(task.ownerRole)])
        table.append(["stage", JourneyNames.stage(task.stage)])
        table.append(["touchpoint", ProfilesFormat.text(task.touchpointID)])
        table.append(["due", "\(JourneyFormat.time(task.dueAt, if: task.hasDueAt)) (day \(task.dayOffset) of plan \(task.planTemplateID))"])
        if task.hasClosedAt { table.append(["closed", ProfilesFormat.time(task.closedAt)]) }
        if !task.note.isEmpty { table.append([task.state == .skipped ? "reason" : "note", ProfilesFormat.text(task.note)]) }
        return table
    }

    static func touchpoints(_ touchpoints: [Cx_Journey_V1_Touchpoint]) -> Table {
        var table = Table("ID", "NAME", "CHANNEL", "STAGES", "STATUS")
        for touchpoint in touchpoints {
            table.append([
                touchpoint.id, ProfilesFormat.short(touchpoint.name, 40), JourneyNames.channel(touchpoint.channel),
                JourneyNames.stages(touchpoint.stages), touchpoint.retired ? "retired" : "active",
            ])
        }
        return table
    }

    /// The rules: version, then the stage settings, then the moves.
    static func rules(_ rules: Cx_Journey_V1_Rules) -> String {
        var settings = Table("SETTING", "VALUE")
        let since = rules.hasEffectiveAt ? " (in force since \(ProfilesFormat.time(rules.effectiveAt)))" : ""
        settings.append(["version", "\(rules.version)\(since)"])
        settings.append(["future tolerance", "\(JourneyFormat.count(rules.futureToleranceSeconds)) s (how far ahead of the server's clock an event may be)"])
        var stages = Table("STAGE", "LOST AFTER", "STALLED AFTER")
        for setting in rules.stages.sorted(by: { $0.stage.rawValue < $1.stage.rawValue }) {
            stages.append([
                JourneyNames.stage(setting.stage), "\(JourneyFormat.days(setting.quietDays)) quiet",
                "\(JourneyFormat.days(setting.normDays)) in the stage",
            ])
        }
        var moves = Table("EVENT TYPE", "MOVES TO")
        for move in rules.moves.sorted(by: { ($0.stage.rawValue, $0.eventType) < ($1.stage.rawValue, $1.eventType) }) {
            moves.append([move.eventType, JourneyNames.stage(move.stage)])
        }
        return [settings.render(), stages.render(), rules.moves.isEmpty ? "(no moves: events move no one)" : moves.render()]
            .joined(separator: "\n\n")
    }

    static func templates(_ templates: [Cx_Journey_V1_PlanTemplate]) -> Table {
        var table = Table("ID", "NAME", "PRODUCT", "SEGMENT", "STEPS", "LAST DAY")
        for template in templates {
            table.append([
                template.id, ProfilesFormat.short(template.name, 40), ProfilesFormat.text(template.product),
                ProfilesFormat.text(template.segment), "\(template.steps.count)",
                template.steps.map(\.dayOffset).max().map { "day \($0)" } ?? "-",
            ])
        }
        return table
    }

    /// A template's fields, then its steps in day order.
    static func template(_ template: Cx_Journey_V1_PlanTemplate) -> String {
        var fields = Table("FIELD", "VALUE")
        fields.append(["id", template.id])
        fields.append(["name", ProfilesFormat.text(template.name)])
        fields.append(["product", template.product.isEmpty ? "- (not chosen by product)" : template.product])
        fields.append(["segment", template.segment.isEmpty ? "- (not chosen by segment)" : template.segment])
        var steps = Table("DAY", "STAGE", "ACTION", "OWNER", "TOUCHPOINT")
        for step in template.steps.sorted(by: { $0.dayOffset < $1.dayOffset }) {
            steps.append([
                "\(step.dayOffset)", JourneyNames.stage(step.stage), ProfilesFormat.short(step.action, 60),
                ProfilesFormat.text(step.ownerRole), ProfilesFormat.text(step.touchpointID),
            ])
        }
        return fields.render() + "\n\n" + (template.steps.isEmpty ? "(no steps)" : steps.render())
    }
}
