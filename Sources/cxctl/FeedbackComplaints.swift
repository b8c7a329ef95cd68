import ArgumentParser
import CXModel
import CXWire
import Foundation

/// `cxctl feedback complaints ...`
struct FeedbackComplaintsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "complaints",
        abstract: "Complaints and their follow-up: list, show, open, move, assign, note; resolution times.",
        discussion: """
            A complaint is opened by hand (`open`) or by a detractor's response. It moves \
            open → acknowledged → in-progress → resolved → closed, forward steps may be \
            skipped, and a resolved or closed one may be reopened (then in-progress or \
            resolved again). Its severity sets its deadlines: a first response (a reply, or \
            acknowledging it) and a resolution; past either unmet, it is overdue. Every move, \
            assignment, note and reply is kept in its thread, numbered, never changed.

            Examples:
              cxctl feedback complaints
              cxctl feedback complaints --overdue --owner sara
              cxctl feedback complaints open c-1042 --category delivery --severity high \\
                  --description "بسته دو هفته دیر رسید" --touchpoint logistics
              cxctl feedback complaints assign c-0195f2a1b3c40a1b2c3d4e sara --author ali
              cxctl feedback complaints note c-0195f2a1b3c40a1b2c3d4e --author sara --reply \\
                  --text "عذرخواهی می‌کنیم؛ پیک فردا تماس می‌گیرد"
              cxctl feedback complaints move c-0195f2a1b3c40a1b2c3d4e resolved --author sara \\
                  --goodwill --note "refunded the shipping"
              cxctl feedback complaints stats --from 2026-01-01
            """,
        subcommands: [List.self, Show.self, Open.self, Move.self, Assign.self, Note.self, Stats.self],
        defaultSubcommand: List.self
    )
}

extension FeedbackComplaintsCommand {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List complaints, oldest first, a page at a time (default: all).",
            discussion: """
                Filters combine. The list leaves the threads out: `complaints show ID` has one.

                Examples:
                  cxctl feedback complaints list --state open
                  cxctl feedback complaints list --overdue --owner sara --all
                  cxctl feedback complaints list --customer c-1042 --json
                """)

        @Option(help: "Only complaints in this state.")
        var state: FeedbackStateArgument?

        @Option(help: ArgumentHelp("Only complaints assigned to this owner.", valueName: "owner"))
        var owner: String?

        @Option(help: ArgumentHelp("Only this customer's complaints.", valueName: "id"))
        var customer: String?

        @Flag(help: "Only complaints past a deadline they have not met.")
        var overdue = false

        @OptionGroup var page: PageOptions
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            if let owner { try FlagCheck.length(owner, 1...64, flag: "--owner") }
        }

        func run() async throws {
            var request = Cx_Feedback_V1_ListComplaintsRequest()
            request.state = state?.proto ?? .unspecified
            request.owner = owner ?? ""
            request.customerID = customer ?? ""
            request.overdueOnly = overdue
            try await ServiceSession.showPages(.feedback, Cx_Feedback_V1_Feedback.listComplaints, request, page, connection, output) {
                $0.complaints.isEmpty ? "(no complaints)" : FeedbackView.complaints($0.complaints).render()
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "Show one complaint, its deadlines and its thread.",
            discussion: """
                The thread lists what happened, in order: its opening, moves and assignments \
                (event), internal notes (note) and what the customer was told (reply).

                Examples:
                  cxctl feedback complaints show c-0195f2a1b3c40a1b2c3d4e
                """)

        @Argument(help: ArgumentHelp("The complaint's id.", valueName: "complaint-id"))
        var id: String

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            var request = Cx_Feedback_V1_GetComplaintRequest()
            request.complaintID = id
            try await ServiceSession.show(.feedback, Cx_Feedback_V1_Feedback.getComplaint, request, connection, output) {
                FeedbackView.complaint($0.complaint)
            }
        }
    }

    struct Open: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "open",
            abstract: "Open a complaint for a customer.",
            discussion: """
                Its deadlines start now, by --severity: first response within 48 h (low), \
                24 h (medium), 4 h (high) or 1 h (critical); resolution within 14 days, 7 \
                days, 48 h or 24 h.

                Examples:
                  cxctl feedback complaints open c-1042 --category delivery --severity high \\
                      --description "بسته دو هفته دیر رسید" --touchpoint logistics --channel phone
                  cxctl feedback complaints open c-1042 --category billing --severity low \\
                      --description "charged twice" --key ticket-5531
                """)

        @Argument(help: "The customer's id (the profiles service's).")
        var customer: String

        @Option(help: ArgumentHelp("What it is about, 1 to 64 characters: delivery, billing, ...", valueName: "category"))
        var category: String

        @Option(help: "How serious it is.")
        var severity: FeedbackSeverityArgument

        @Option(help: ArgumentHelp("What happened, 1 to 4000 characters, any script.", valueName: "text"))
        var description: String

        @Option(help: ArgumentHelp("Where it happened: a touchpoint id (journey's catalogue).", valueName: "id"))
        var touchpoint: String?

        @Option(help: "How the customer complained.")
        var channel: FeedbackChannelArgument?

        @OptionGroup var key: KeyOption
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            try FlagCheck.length(category, 1...64, flag: "--category")
            try FlagCheck.length(description, 1...4000, flag: "--description")
        }

        func run() async throws {
            var request = Cx_Feedback_V1_OpenComplaintRequest()
            request.complaint.customerID = customer
            request.complaint.category = category
            request.complaint.severity = severity.proto
            request.complaint.description_p = description
            request.complaint.touchpointID = touchpoint ?? ""
            request.complaint.channel = channel?.proto ?? .unspecified
            request.idempotencyKey = key.value
            try await ServiceSession.show(.feedback, Cx_Feedback_V1_Feedback.openComplaint, request, connection, output) {
                "complaint \($0.complaint.id) opened\n\n" + FeedbackView.complaint($0.complaint)
            }
        }
    }

    struct Move: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "move",
            abstract: "Move a complaint to another state, with who did it and why.",
            discussion: """
                STATE is one of acknowledged, in-progress, resolved, closed, reopened. The \
                moves allowed: open → acknowledged, in-progress or resolved; acknowledged → \
                in-progress or resolved; in-progress → resolved; resolved → closed or \
                reopened; closed → reopened; reopened → in-progress or resolved. Any other is \
                FAILED_PRECONDITION (ILLEGAL_TRANSITION). Acknowledging is a first response. \
                --goodwill, with resolved only, awards loyalty's goodwill bonus to the \
                customer, once per complaint.

                Examples:
                  cxctl feedback complaints move c-0195f2a1b3c40a1b2c3d4e acknowledged --author sara
                  cxctl feedback complaints move c-0195f2a1b3c40a1b2c3d4e resolved --author sara \\
                      --note "refunded the shipping" --goodwill --key resolve-5531
                """)

        @Argument(help: ArgumentHelp("The complaint's id.", valueName: "complaint-id"))
        var id: String

        @Argument(help: "The state to move it to.")
        var state: FeedbackStateArgument

        @Option(help: ArgumentHelp("Who moves it, 1 to 64 characters.", valueName: "name"))
        var author: String

        @Option(help: ArgumentHelp("Why, up to 4000 characters: kept in the thread.", valueName: "text"))
        var note: String?

        @Flag(help: "With resolved: award loyalty's goodwill bonus.")
        var goodwill = false

        @OptionGroup var key: KeyOption
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            guard state != .open else {
                throw ValidationError("STATE: a complaint is opened once, never moved back to open; one of \(FeedbackStateArgument.targets)")
            }
            try FlagCheck.length(author, 1...64, flag: "--author")
            if let note { try FlagCheck.length(note, 0...4000, flag: "--note") }
            if goodwill, state != .resolved {
                throw ValidationError("--goodwill goes with resolved: the bonus makes up for a complaint when it is resolved")
            }
        }

        func run() async throws {
            var request = Cx_Feedback_V1_MoveComplaintRequest()
            request.complaintID = id
            request.to = state.proto
            request.author = author
            request.note = note ?? ""
            request.goodwill = goodwill
            request.idempotencyKey = key.value
            try await ServiceSession.show(.feedback, Cx_Feedback_V1_Feedback.moveComplaint, request, connection, output) {
                "complaint \($0.complaint.id) is \(FeedbackNames.state($0.complaint))\n\n" + FeedbackView.complaint($0.complaint)
            }
        }
    }

    struct Assign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "assign",
            abstract: "Give a complaint to an owner.",
            discussion: """
                The assignment is kept in the thread; assigning it to its owner changes nothing.

                Examples:
                  cxctl feedback complaints assign c-0195f2a1b3c40a1b2c3d4e sara --author ali
                """)

        @Argument(help: ArgumentHelp("The complaint's id.", valueName: "complaint-id"))
        var id: String

        @Argument(help: ArgumentHelp("Who is to follow it up, 1 to 64 characters.", valueName: "owner"))
        var owner: String

        @Option(help: ArgumentHelp("Who assigns it, 1 to 64 characters.", valueName: "name"))
        var author: String

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            try FlagCheck.length(owner, 1...64, flag: "OWNER")
            try FlagCheck.length(author, 1...64, flag: "--author")
        }

        func run() async throws {
            var request = Cx_Feedback_V1_AssignComplaintRequest()
            request.complaintID = id
            request.owner = owner
            request.author = author
            try await ServiceSession.show(.feedback, Cx_Feedback_V1_Feedback.assignComplaint, request, connection, output) {
                "complaint \($0.complaint.id) is assigned to \($0.complaint.owner)\n\n" + FeedbackView.complaint($0.complaint)
            }
        }
    }

    struct Note: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "note",
            abstract: "Add an internal note to a complaint's thread, or with --reply what the customer was told.",
            discussion: """
                The first reply is the complaint's first response (it meets that deadline). \
                Notes and replies are never changed or removed.

                Examples:
                  cxctl feedback complaints note c-0195f2a1b3c40a1b2c3d4e --author sara \\
                      --text "courier says the address was wrong"
                  cxctl feedback complaints note c-0195f2a1b3c40a1b2c3d4e --author sara --reply \\
                      --text "عذرخواهی می‌کنیم؛ پیک فردا تماس می‌گیرد" --key reply-1
                """)

        @Argument(help: ArgumentHelp("The complaint's id.", valueName: "complaint-id"))
        var id: String

        @Option(help: ArgumentHelp("Who writes it, 1 to 64 characters.", valueName: "name"))
        var author: String

        @Option(help: ArgumentHelp("The note, 1 to 4000 characters, any script.", valueName: "text"))
        var text: String

        @Flag(help: "It is a reply sent to the customer, not an internal note.")
        var reply = false

        @OptionGroup var key: KeyOption
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            try FlagCheck.length(author, 1...64, flag: "--author")
            try FlagCheck.length(text, 1...4000, flag: "--text")
        }

        func run() async throws {
            var request = Cx_Feedback_V1_AddComplaintNoteRequest()
            request.complaintID = id
            request.kind = reply ? .reply : .note
            request.author = author
            request.text = text
            request.idempotencyKey = key.value
            try await ServiceSession.show(.feedback, Cx_Feedback_V1_Feedback.addComplaintNote, request, connection, output) {
                "\(FeedbackNames.noteKind($0.note.kind)) #\($0.note.sequence) added to complaint \(id)\n\n"
                    + FeedbackView.thread([$0.note]).render()
            }
        }
    }

    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "stats",
            abstract: "Complaints opened and resolved per severity over a period, how fast, and deadlines missed.",
            discussion: """
                OPENED counts the complaints opened in the period; RESOLVED those resolved in \
                it, with the MEDIAN and P90 hours from opening to resolution, and how many of \
                them missed their first-response or resolution deadline. Open and overdue are \
                counts as of now. The period is [--from, --to), default the 30 days up to today.

                Examples:
                  cxctl feedback complaints stats
                  cxctl feedback complaints stats --from 2026-01-01 --to 2026-04-01 --json
                """)

        @OptionGroup var period: PeriodOptions
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            var request = Cx_Feedback_V1_ComplaintStatsRequest()
            let (from, to) = try period.period()
            if let from { request.from = from }
            if let to { request.to = to }
            try await ServiceSession.show(.feedback, Cx_Feedback_V1_Feedback.complaintStats, request, connection, output) { response in
                var table = Table("SEVERITY", "OPENED", "RESOLVED", "MEDIAN", "P90", "LATE FIRST RESPONSE", "LATE RESOLUTION")
                for stats in response.bySeverity {
                    table.append([
                        FeedbackSeverityArgument.name(stats.severity), JourneyFormat.count(stats.opened), JourneyFormat.count(stats.resolved),
                        stats.resolved > 0 ? FeedbackFormat.hours(stats.medianHours) : "-",
                        stats.resolved > 0 ? FeedbackFormat.hours(stats.p90Hours) : "-",
                        JourneyFormat.count(stats.firstResponseBreaches), JourneyFormat.count(stats.resolutionBreaches),
                    ])
                }
                var now = Table("NOW", "COMPLAINTS")
                now.append(["open", JourneyFormat.count(response.openNow)])
                now.append(["overdue", JourneyFormat.count(response.overdueNow)])
                return "complaints of \(FeedbackFormat.period(period))\n\n" + table.render() + "\n\n" + now.render()
            }
        }
    }
}
