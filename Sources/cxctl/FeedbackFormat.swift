import CXModel
import Foundation
import SwiftProtobuf

/// The words the feedback commands use for the contract's enums that are
/// never typed (the typed ones are named by their `EnumArgument`).
enum FeedbackNames {
    static func kind(_ kind: Cx_Feedback_V1_Question.Kind) -> String {
        switch kind {
        case .unspecified: "-"
        case .nps: "nps"
        case .csat: "csat"
        case .ces: "ces"
        case .singleChoice: "single-choice"
        case .multipleChoice: "multiple-choice"
        case .text: "text"
        case .UNRECOGNIZED(let number): "kind(\(number))"
        }
    }

    static func category(_ category: Cx_Feedback_V1_SubmitResponseResponse.NpsCategory) -> String {
        switch category {
        case .unspecified: "-"
        case .detractor: "detractor"
        case .passive: "passive"
        case .promoter: "promoter"
        case .UNRECOGNIZED(let number): "category(\(number))"
        }
    }

    static func noteKind(_ kind: Cx_Feedback_V1_ComplaintNote.Kind) -> String {
        switch kind {
        case .unspecified: "-"
        case .note: "note"
        case .reply: "reply"
        case .event: "event"
        case .UNRECOGNIZED(let number): "kind(\(number))"
        }
    }

    static func surveyState(_ state: Cx_Feedback_V1_Survey.State) -> String {
        switch state {
        case .unspecified: "-"
        case .open: "open"
        case .closed: "closed"
        case .UNRECOGNIZED(let number): "state(\(number))"
        }
    }

    /// "in-progress", with ", overdue" when past a deadline.
    static func state(_ complaint: Cx_Feedback_V1_Complaint) -> String {
        FeedbackStateArgument.name(complaint.state) + (complaint.overdue ? ", overdue" : "")
    }
}

/// How the feedback commands show scores: each with its sample size, "-"
/// when there is no answer to score.
enum FeedbackFormat {
    /// -100 to 100: "42.9".
    static func nps(_ scores: Cx_Feedback_V1_Scores) -> String {
        scores.npsAnswers > 0 ? String(format: "%.1f", scores.nps) : "-"
    }

    /// The % of answers 4 or 5: "80.0%".
    static func csat(_ scores: Cx_Feedback_V1_Scores) -> String {
        scores.csatAnswers > 0 ? String(format: "%.1f%%", scores.csat) : "-"
    }

    /// The mean effort, 1 to 7: "2.50".
    static func ces(_ scores: Cx_Feedback_V1_Scores) -> String {
        scores.cesAnswers > 0 ? String(format: "%.2f", scores.ces) : "-"
    }

    /// "1 promoter", "12 promoters".
    static func count(_ value: Int64, _ noun: String) -> String {
        "\(JourneyFormat.count(value)) \(noun)\(value == 1 ? "" : "s")"
    }

    /// The columns of `cells`: each score with its sample size.
    static let scoreHeaders = ["NPS", "NPS N", "CSAT", "CSAT N", "CES", "CES N"]

    static func cells(_ scores: Cx_Feedback_V1_Scores) -> [String] {
        [
            nps(scores), JourneyFormat.count(scores.npsAnswers), csat(scores), JourneyFormat.count(scores.csatAnswers), ces(scores),
            JourneyFormat.count(scores.cesAnswers),
        ]
    }

    /// A day in the run's calendar: "2026-01-05" (or "1404-10-15").
    static func day(_ timestamp: Google_Protobuf_Timestamp, if present: Bool) -> String {
        ProfilesFormat.day(present ? timestamp : nil)
    }

    /// Hours with one decimal: "26.5 h".
    static func hours(_ hours: Double) -> String {
        String(format: "%.1f h", hours)
    }

    /// A period as the flags gave it, for the line above a report.
    static func period(_ period: PeriodOptions) -> String {
        switch (period.from, period.to) {
        case (nil, nil): "the 30 days up to today"
        case (let from?, nil): "\(from) up to today"
        case (nil, let to?): "the 30 days before \(to)"
        case (let from?, let to?): "\(from) to \(to) (not included)"
        }
    }
}

/// Tables of the feedback service's messages.
enum FeedbackView {
    /// A survey's fields, then its questions in order.
    static func survey(_ survey: Cx_Feedback_V1_Survey) -> String {
        var fields = Table("FIELD", "VALUE")
        fields.append(["id", survey.id])
        fields.append(["name", ProfilesFormat.text(survey.name)])
        fields.append(["state", FeedbackNames.surveyState(survey.state)])
        fields.append(["touchpoint", ProfilesFormat.text(survey.touchpointID)])
        fields.append(["stage", ProfilesFormat.text(survey.stage)])
        fields.append(["recontact", survey.recontactDays > 0 ? "not asked again within \(JourneyFormat.days(survey.recontactDays))" : "no window"])
        fields.append(["survey bonus", survey.surveyBonus ? "yes (loyalty's survey bonus per response)" : "no"])
        fields.append(["follow-up", followUp(survey)])
        fields.append(["created", JourneyFormat.time(survey.createdAt, if: survey.hasCreatedAt)])
        if survey.hasClosedAt { fields.append(["closed", ProfilesFormat.time(survey.closedAt)]) }
        fields.append(["responses", JourneyFormat.count(survey.responses)])
        var questions = Table("QUESTION", "KIND", "REQUIRED", "TEXT", "OPTIONS")
        for question in survey.questions {
            questions.append([
                question.id, FeedbackNames.kind(question.kind), question.required ? "yes" : "no", ProfilesFormat.short(question.text, 60),
                question.options.isEmpty ? "-" : ProfilesFormat.short(question.options.joined(separator: ", "), 60),
            ])
        }
        return fields.render() + "\n\n" + (survey.questions.isEmpty ? "(no questions)" : questions.render())
    }

    static func followUp(_ survey: Cx_Feedback_V1_Survey) -> String {
        guard survey.questions.contains(where: { $0.kind == .nps }) else { return "- (asks no NPS)" }
        let threshold = survey.hasFollowUpThreshold ? survey.followUpThreshold : 6
        return threshold < 0 ? "never" : "a complaint for NPS \(threshold) or less"
    }

    static func surveys(_ surveys: [Cx_Feedback_V1_Survey]) -> Table {
        var table = Table("ID", "NAME", "STATE", "TOUCHPOINT", "STAGE", "QUESTIONS", "RESPONSES", "CREATED")
        for survey in surveys {
            table.append([
                survey.id, ProfilesFormat.short(survey.name, 40), FeedbackNames.surveyState(survey.state),
                ProfilesFormat.text(survey.touchpointID), ProfilesFormat.text(survey.stage), "\(survey.questions.count)",
                JourneyFormat.count(survey.responses), JourneyFormat.time(survey.createdAt, if: survey.hasCreatedAt),
            ])
        }
        return table
    }

    /// A complaint's fields, then its thread when it has one.
    static func complaint(_ complaint: Cx_Feedback_V1_Complaint) -> String {
        var fields = Table("FIELD", "VALUE")
        fields.append(["id", complaint.id])
        fields.append(["customer", complaint.customerID])
        fields.append(["state", FeedbackNames.state(complaint)])
        fields.append(["severity", FeedbackSeverityArgument.name(complaint.severity)])
        fields.append(["category", ProfilesFormat.text(complaint.category)])
        fields.append(["description", ProfilesFormat.text(complaint.description_p)])
        fields.append(["owner", ProfilesFormat.text(complaint.owner)])
        fields.append(["touchpoint", ProfilesFormat.text(complaint.touchpointID)])
        fields.append(["channel", FeedbackChannelArgument.name(complaint.channel)])
        if !complaint.responseID.isEmpty { fields.append(["from response", complaint.responseID]) }
        fields.append(["opened", JourneyFormat.time(complaint.openedAt, if: complaint.hasOpenedAt)])
        fields.append(["first response", deadline(complaint.firstResponseAt, complaint.hasFirstResponseAt, due: complaint.firstResponseDue)])
        fields.append(["resolution", deadline(complaint.resolvedAt, complaint.hasResolvedAt, due: complaint.resolutionDue)])
        guard !complaint.thread.isEmpty else { return fields.render() }
        return fields.render() + "\n\n" + thread(complaint.thread).render()
    }

    /// "2026-01-05T10:00:00Z" when done, else "due 2026-01-06T09:00:00Z".
    static func deadline(_ done: Google_Protobuf_Timestamp, _ isDone: Bool, due: Google_Protobuf_Timestamp) -> String {
        isDone ? "\(ProfilesFormat.time(done)) (due \(ProfilesFormat.time(due)))" : "due \(ProfilesFormat.time(due))"
    }

    /// The thread, in the order written.
    static func thread(_ notes: [Cx_Feedback_V1_ComplaintNote]) -> Table {
        var table = Table("#", "AT", "KIND", "AUTHOR", "TEXT")
        for note in notes {
            table.append([
                "\(note.sequence)", JourneyFormat.time(note.at, if: note.hasAt), FeedbackNames.noteKind(note.kind),
                ProfilesFormat.text(note.author), ProfilesFormat.text(note.text),
            ])
        }
        return table
    }

    static func complaints(_ complaints: [Cx_Feedback_V1_Complaint]) -> Table {
        var table = Table("ID", "OPENED", "CUSTOMER", "SEVERITY", "STATE", "CATEGORY", "OWNER", "RESOLUTION DUE")
        for complaint in complaints {
            table.append([
                complaint.id, JourneyFormat.time(complaint.openedAt, if: complaint.hasOpenedAt), complaint.customerID,
                FeedbackSeverityArgument.name(complaint.severity), FeedbackNames.state(complaint), ProfilesFormat.short(complaint.category, 30),
                ProfilesFormat.text(complaint.owner), JourneyFormat.time(complaint.resolutionDue, if: complaint.hasResolutionDue),
            ])
        }
        return table
    }
}
