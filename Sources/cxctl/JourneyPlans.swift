import ArgumentParser
import CXModel
import CXWire
import Foundation
import SwiftProtobuf

/// `cxctl journey plans ...`
struct JourneyPlansCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plans",
        abstract: "The 100-day plan templates that become a new customer's tasks.",
        discussion: """
            When a customer is first admitted, a template's steps become tasks due on the \
            admission day plus the step's day (0 to 366). The template is the one the admitting \
            event's plan attribute names; else the one whose product, or else whose segment, \
            equals that attribute of the event; else "default". Templates are changed by \
            replacing them whole; tasks already made stay as they are.

            Examples:
              cxctl journey plans
              cxctl journey plans show default --json > default.json
              cxctl journey plans put laptop.json
              cxctl journey plans delete laptop
            """,
        subcommands: [List.self, Show.self, Put.self, Delete.self],
        defaultSubcommand: List.self
    )
}

extension JourneyPlansCommand {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List the plan templates, by id.",
            discussion: """
                Examples:
                  cxctl journey plans list
                  cxctl journey plans list --json
                """)

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let request = Cx_Journey_V1_ListPlanTemplatesRequest()
            try await ServiceSession.show(.journey, Cx_Journey_V1_Journey.listPlanTemplates, request, connection, output) {
                $0.templates.isEmpty ? "(no plan templates)" : JourneyView.templates($0.templates).render()
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "Show one plan template and its steps, in day order.",
            discussion: """
                --json prints the template as `plans put` reads it.

                Examples:
                  cxctl journey plans show default
                  cxctl journey plans show default --json > laptop.json
                """)

        @Argument(help: "The template's id.")
        var id: String

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let session = try ServiceSession(.journey, connection, format: output.format)
            let templates = try await session.call(Cx_Journey_V1_Journey.listPlanTemplates, Cx_Journey_V1_ListPlanTemplatesRequest())
            await session.close()
            guard let template = templates.templates.first(where: { $0.id == id }) else {
                let known = templates.templates.map(\.id).joined(separator: ", ")
                try failCall(
                    RPCError(code: .notFound, message: "no plan template \"\(id)\"; there are \(known.isEmpty ? "none" : known)"),
                    target: session.target, what: "plans show", output: output.format)
            }
            if output.format == .json {
                try printMessageJSON(template)
            } else {
                print(JourneyView.template(template))
            }
        }
    }

    struct Put: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "put",
            abstract: "Create a plan template, or replace the one with its id, from a JSON file.",
            discussion: """
                The file is a cx.journey.v1.PlanTemplate in protobuf JSON (`plans show ID \
                --json` prints one): an id, a name, product and segment (each may be empty: \
                never chosen by it) and 1 to 100 steps, each with its day (0 to 366), stage \
                ("STAGE_ACTIVATION"), action, owner role and touchpoint (may be empty).

                Example laptop.json:
                  {"id": "laptop", "name": "Laptop buyers", "product": "laptop",
                   "steps": [
                     {"day_offset": 1, "stage": "STAGE_AFFIRMATION", "touchpoint_id": "phone",
                      "action": "تماس خوشامد: آیا لپ‌تاپ سالم رسید؟", "owner_role": "success"},
                     {"day_offset": 14, "stage": "STAGE_ACTIVATION", "touchpoint_id": "email",
                      "action": "Send the setup guide", "owner_role": "support"}]}

                Examples:
                  cxctl journey plans put laptop.json
                  cxctl journey plans put - < laptop.json
                """)

        @Argument(help: ArgumentHelp("The template as JSON; - reads standard input.", valueName: "file"))
        var file: String

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            var request = Cx_Journey_V1_PutPlanTemplateRequest()
            request.template = try readMessageFile(
                file, label: file, inside: Cx_Journey_V1_PutPlanTemplateResponse.self,
                expected: "a cx.journey.v1.PlanTemplate in protobuf JSON (see `cxctl journey plans show ID --json`)"
            ) { $0.hasTemplate ? $0.template : nil }
            try await ServiceSession.show(.journey, Cx_Journey_V1_Journey.putPlanTemplate, request, connection, output) {
                "plan template \($0.template.id) \($0.created ? "created" : "replaced")\n\n" + JourneyView.template($0.template)
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "delete",
            abstract: "Delete a plan template; the tasks it made stay.",
            discussion: """
                "default" cannot be deleted (FAILED_PRECONDITION, DEFAULT_TEMPLATE), only \
                replaced with `plans put`.

                Examples:
                  cxctl journey plans delete laptop
                """)

        @Argument(help: "The template's id.")
        var id: String

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            var request = Cx_Journey_V1_DeletePlanTemplateRequest()
            request.id = id
            try await ServiceSession.show(.journey, Cx_Journey_V1_Journey.deletePlanTemplate, request, connection, output) { _ in
                "plan template \(id) deleted"
            }
        }
    }
}

/// `cxctl journey tasks ...`
struct JourneyTasksCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tasks",
        abstract: "The tasks of the first 100 days: what is due, what is overdue; complete or skip them.",
        discussion: """
            A task is open until it is completed or skipped; it is overdue once its due time \
            has passed while open. Task ids are the customer's id, "/" and a number: c-1042/3.

            Examples:
              cxctl journey tasks
              cxctl journey tasks --owner success --due-within 2
              cxctl journey tasks --overdue
              cxctl journey tasks --customer c-1042 --state done
              cxctl journey tasks complete c-1042/3 --note "called; the guide helped"
              cxctl journey tasks skip c-1042/4 --reason "customer asked not to be called"
            """,
        subcommands: [List.self, Complete.self, Skip.self],
        defaultSubcommand: List.self
    )
}

extension JourneyTasksCommand {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List tasks, soonest due first (default: every open task).",
            discussion: """
                --due-within 2 lists the open tasks due in the next two days, and those already \
                overdue; --overdue only the overdue ones. Filters combine.

                Examples:
                  cxctl journey tasks list --owner support --overdue
                  cxctl journey tasks list --customer c-1042 --state skipped --json
                """)

        @Option(help: ArgumentHelp("Only this customer's tasks.", valueName: "id"))
        var customer: String?

        @Option(help: ArgumentHelp("Only tasks of this owner role (success, support, sales, ...).", valueName: "role"))
        var owner: String?

        @Option(help: "Only tasks in this state (default: open).")
        var state: JourneyTaskStateArgument?

        @Flag(help: "Only open tasks past their due time.")
        var overdue = false

        @Option(help: ArgumentHelp("Only open tasks due within this many days from now, 1 to 366.", valueName: "days"))
        var dueWithin: Int?

        @OptionGroup var page: PageOptions
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            if let dueWithin, !(1...366).contains(dueWithin) {
                throw ValidationError("--due-within: \(dueWithin) must be 1 to 366")
            }
            if let state, state != .open, overdue || dueWithin != nil {
                throw ValidationError(
                    "--\(overdue ? "overdue" : "due-within") lists open tasks; --state \(state.rawValue) contradicts it")
            }
        }

        func run() async throws {
            var request = Cx_Journey_V1_ListTasksRequest()
            request.customerID = customer ?? ""
            request.ownerRole = owner ?? ""
            request.state = state?.proto ?? .unspecified
            request.overdueOnly = overdue
            if let dueWithin {
                request.dueBefore = Google_Protobuf_Timestamp(date: Date().addingTimeInterval(Double(dueWithin) * 86_400))
            }
            try await ServiceSession.showPages(.journey, Cx_Journey_V1_Journey.listTasks, request, page, connection, output) {
                $0.tasks.isEmpty ? "(no tasks)" : JourneyView.tasks($0.tasks).render()
            }
        }
    }

    struct Complete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "complete",
            abstract: "Complete an open task, with a note.",
            discussion: """
                A task already done or skipped is FAILED_PRECONDITION (TASK_CLOSED); with the \
                same --key, a retry prints the first answer instead.

                Examples:
                  cxctl journey tasks complete c-1042/3 --note "called; the guide helped"
                """)

        @Argument(help: ArgumentHelp("The task's id: customer/n.", valueName: "task-id"))
        var task: String

        @Option(help: ArgumentHelp("What was done, up to 1000 characters.", valueName: "text"))
        var note: String?

        @OptionGroup var key: KeyOption
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            if let note { try FlagCheck.length(note, 0...1000, flag: "--note") }
        }

        func run() async throws {
            var request = Cx_Journey_V1_CompleteTaskRequest()
            request.taskID = task
            request.note = note ?? ""
            request.idempotencyKey = key.value
            try await ServiceSession.show(.journey, Cx_Journey_V1_Journey.completeTask, request, connection, output) {
                JourneyView.task($0.task).render()
            }
        }
    }

    struct Skip: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "skip",
            abstract: "Skip an open task, with the reason.",
            discussion: """
                As `tasks complete`; the reason is required and kept with the task.

                Examples:
                  cxctl journey tasks skip c-1042/4 --reason "customer asked not to be called"
                """)

        @Argument(help: ArgumentHelp("The task's id: customer/n.", valueName: "task-id"))
        var task: String

        @Option(help: ArgumentHelp("Why, 1 to 1000 characters.", valueName: "text"))
        var reason: String

        @OptionGroup var key: KeyOption
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            try FlagCheck.length(reason, 1...1000, flag: "--reason")
        }

        func run() async throws {
            var request = Cx_Journey_V1_SkipTaskRequest()
            request.taskID = task
            request.reason = reason
            request.idempotencyKey = key.value
            try await ServiceSession.show(.journey, Cx_Journey_V1_Journey.skipTask, request, connection, output) {
                JourneyView.task($0.task).render()
            }
        }
    }
}
