import ArgumentParser
import CXModel
import CXWire
import Foundation

/// `cxctl feedback ...`: the admin's side of the feedback service.
struct FeedbackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "feedback",
        abstract: "Work with the feedback service: surveys and responses, NPS/CSAT/CES scores, detractors' words, complaints.",
        discussion: """
            Every command talks to the feedback service at $CX_FEEDBACK_ADDR, else at \
            127.0.0.1:7104; --addr overrides that for one command.

            A survey is asked at a touchpoint (journey's catalogue: store, app, after-sales, \
            ...) or for a journey stage, and holds up to 50 questions. Three kinds of question \
            feed the scores, at most one of each per survey. NPS (net promoter score) asks how \
            likely the customer is to recommend the business, 0 to 10: promoters answer 9 or \
            10, passives 7 or 8, detractors 0 to 6, and NPS = % promoters - % detractors, \
            from -100 (all detractors) to 100 (all promoters). CSAT (customer satisfaction) \
            asks how satisfied they are, 1 to 5: CSAT = % of answers 4 or 5. CES (customer \
            effort score) asks how easy it was, 1 to 7 (1 = very easy): CES = the mean, and \
            lower is better. The other kinds are single-choice, multiple-choice and free \
            text. Every score is shown with its sample size (N): an NPS of 50 from 4 answers \
            says little.

            A customer who answered any survey within a survey's recontact days is not asked \
            again (`ask` says when they may be). A detractor at or below the survey's \
            follow-up threshold (default 6) opens a complaint at once, so that someone calls \
            them back.

            Complaints move open → acknowledged → in-progress → resolved → closed (steps may \
            be skipped forward: open → resolved); resolved or closed → reopened → \
            in-progress. Any other move fails (ILLEGAL_TRANSITION) and says which moves are \
            allowed. Each severity has deadlines for the first response (a reply or \
            acknowledging it) and the resolution: low 48 h / 14 days, medium 24 h / 7 days, \
            high 4 h / 48 h, critical 1 h / 24 h. The thread of notes, replies and moves is \
            append-only.

            Enum values are typed in lowercase, as shown: in-progress, in-store, critical. \
            Days are UTC; --from and --to take a day (2026-01-01) or a time \
            (2026-01-01T09:30:00Z); a period is [--from, --to), by default the 30 days up to \
            today.

            Output is a table for people. --json (or -o json) prints the method's response \
            in protobuf's JSON mapping with the field names of \
            proto-spec/cx/feedback/v1/feedback.proto, exactly as `cxctl call feedback METHOD \
            -o json` would: enums are "SEVERITY_HIGH", fields at their default value (0, \
            false, "") are left out and 64-bit numbers are strings. The file `surveys create` \
            reads is a cx.feedback.v1.Survey in the same mapping.

            Writes that may be retried take --key: running the command again with the same \
            key applies it once and prints the first answer.

            Examples:
              cxctl feedback surveys create --file after-delivery.json
              cxctl feedback ask c-1042 after-delivery
              cxctl feedback respond after-delivery c-1042 --answer nps=3 \\
                  --answer reason="ارسال خیلی دیر بود" --channel app
              cxctl feedback scores --touchpoint logistics --by week
              cxctl feedback rank --metric csat --min-sample 50
              cxctl feedback words --from 2026-01-01
              cxctl feedback complaints --overdue
              cxctl feedback complaints move c-0195f2a1b3c40a1b2c3d4e in-progress \\
                  --author sara --note "courier called"

            Exit status: 0 success; 1 a call failed (its status code, reason and message are \
            printed on standard error); 64 the command line or an input file is wrong (a bad \
            severity, state or channel lists the valid ones).
            """,
        subcommands: [
            FeedbackSurveysCommand.self,
            FeedbackAskCommand.self,
            FeedbackRespondCommand.self,
            FeedbackScoresCommand.self,
            FeedbackRankCommand.self,
            FeedbackWordsCommand.self,
            FeedbackComplaintsCommand.self,
        ]
    )
}

/// A response's or complaint's channel: "email", ..., "in-store".
enum FeedbackChannelArgument: String, EnumArgument {
    case email, sms, app, web, phone
    case inStore = "in-store"

    var proto: Cx_Feedback_V1_Channel {
        switch self {
        case .email: .email
        case .sms: .sms
        case .app: .app
        case .web: .web
        case .phone: .phone
        case .inStore: .inStore
        }
    }
}

/// A complaint's severity: "low" ... "critical".
enum FeedbackSeverityArgument: String, EnumArgument {
    case low, medium, high, critical

    var proto: Cx_Feedback_V1_Severity {
        switch self {
        case .low: .low
        case .medium: .medium
        case .high: .high
        case .critical: .critical
        }
    }
}

/// A complaint's state: "open" ... "reopened".
enum FeedbackStateArgument: String, EnumArgument {
    case open, acknowledged
    case inProgress = "in-progress"
    case resolved, closed, reopened

    var proto: Cx_Feedback_V1_ComplaintState {
        switch self {
        case .open: .open
        case .acknowledged: .acknowledged
        case .inProgress: .inProgress
        case .resolved: .resolved
        case .closed: .closed
        case .reopened: .reopened
        }
    }

    /// The states a complaint can be moved to (every one but open).
    static let targets = allCases.filter { $0 != .open }.map(\.rawValue).joined(separator: ", ")
}

/// The score `rank` orders touchpoints by.
enum FeedbackMetricArgument: String, EnumArgument {
    case nps, csat, ces

    var proto: Cx_Feedback_V1_RankTouchpointsRequest.Metric {
        switch self {
        case .nps: .nps
        case .csat: .csat
        case .ces: .ces
        }
    }
}

/// The buckets of `scores --by`.
enum FeedbackGranularityArgument: String, EnumArgument {
    case day, week, month

    var proto: Cx_Feedback_V1_Granularity {
        switch self {
        case .day: .day
        case .week: .week
        case .month: .month
        }
    }
}

extension Cx_Feedback_V1_ListComplaintsRequest: PagedRequest {}

extension Cx_Feedback_V1_ListComplaintsResponse: PagedList {
    static var items: WritableKeyPath<Self, [Cx_Feedback_V1_Complaint]> { \.complaints }
}
