import ArgumentParser
import CXModel
import CXWire
import Foundation

/// `cxctl journey touchpoints ...`
struct JourneyTouchpointsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "touchpoints",
        abstract: "The catalogue of touchpoints: where customers meet the business.",
        discussion: """
            A touchpoint has an id (what events name), a name in any script, a channel \
            (website, social, store, product, packaging, logistics, phone, email, sms, app, \
            after-sales, event) and the stages it serves (none: all). A new service starts \
            with one touchpoint per channel, named after it. Touchpoints are never deleted: a \
            retired one stays for the events that name it and is refused for new ones.

            Examples:
              cxctl journey touchpoints
              cxctl journey touchpoints create --id instagram --name "اینستاگرام" \\
                  --channel social --stage assessment --stage advocacy
              cxctl journey touchpoints update instagram --name "Instagram page"
              cxctl journey touchpoints retire fax
            """,
        subcommands: [List.self, Create.self, Update.self, Retire.self],
        defaultSubcommand: List.self
    )

    /// One touchpoint, field by field.
    static func text(_ touchpoint: Cx_Journey_V1_Touchpoint) -> String {
        var table = Table("FIELD", "VALUE")
        table.append(["id", touchpoint.id])
        table.append(["name", ProfilesFormat.text(touchpoint.name)])
        table.append(["channel", JourneyNames.channel(touchpoint.channel)])
        table.append(["stages", JourneyNames.stages(touchpoint.stages)])
        table.append(["status", touchpoint.retired ? "retired" : "active"])
        return table.render()
    }
}

extension JourneyTouchpointsCommand {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List the touchpoints, by id.",
            discussion: """
                Examples:
                  cxctl journey touchpoints list
                  cxctl journey touchpoints list --include-retired --json
                """)

        @Flag(help: "Show retired touchpoints too.")
        var includeRetired = false

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            var request = Cx_Journey_V1_ListTouchpointsRequest()
            request.includeRetired = includeRetired
            try await ServiceSession.show(.journey, Cx_Journey_V1_Journey.listTouchpoints, request, connection, output) {
                $0.touchpoints.isEmpty ? "(no touchpoints)" : JourneyView.touchpoints($0.touchpoints).render()
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create",
            abstract: "Add a touchpoint to the catalogue.",
            discussion: """
                An id in use is ALREADY_EXISTS. --stage may be given once per stage it serves; \
                without it, the touchpoint serves every stage.

                Examples:
                  cxctl journey touchpoints create --id instagram --name "اینستاگرام" \\
                      --channel social
                  cxctl journey touchpoints create --id welcome-call --name "Welcome call" \\
                      --channel phone --stage affirmation --stage activation
                """)

        @Option(help: ArgumentHelp("The touchpoint's id: 1 to 64 of A-Z a-z 0-9 - _ . :", valueName: "id"))
        var id: String

        @Option(help: ArgumentHelp("Its name, 1 to 200 characters, any script.", valueName: "name"))
        var name: String

        @Option(help: "Its channel.")
        var channel: JourneyChannelArgument

        @Option(name: .customLong("stage"), help: "A stage it serves; repeat for more (default: all).")
        var stages: [JourneyStageArgument] = []

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            try FlagCheck.length(name, 1...200, flag: "--name")
            _ = try JourneyStageArgument.journeyStages(stages, flag: "--stage")
        }

        func run() async throws {
            var request = Cx_Journey_V1_CreateTouchpointRequest()
            request.touchpoint.id = id
            request.touchpoint.name = name
            request.touchpoint.channel = channel.proto
            request.touchpoint.stages = try JourneyStageArgument.journeyStages(stages, flag: "--stage")
            try await ServiceSession.show(.journey, Cx_Journey_V1_Journey.createTouchpoint, request, connection, output) {
                JourneyTouchpointsCommand.text($0.touchpoint)
            }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "update",
            abstract: "Change a touchpoint's name, channel or stages.",
            discussion: """
                What is not given stays as it is: cxctl reads the touchpoint, changes what the \
                flags say, and writes it back. --stage replaces all its stages; --all-stages \
                makes it serve every stage.

                Examples:
                  cxctl journey touchpoints update instagram --name "Instagram page"
                  cxctl journey touchpoints update welcome-call --stage activation
                  cxctl journey touchpoints update welcome-call --all-stages
                """)

        @Argument(help: "The touchpoint's id.")
        var id: String

        @Option(help: ArgumentHelp("Its new name, 1 to 200 characters.", valueName: "name"))
        var name: String?

        @Option(help: "Its new channel.")
        var channel: JourneyChannelArgument?

        @Option(name: .customLong("stage"), help: "A stage it serves; repeat for more. Replaces its stages.")
        var stages: [JourneyStageArgument] = []

        @Flag(help: "It serves every stage.")
        var allStages = false

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            if let name { try FlagCheck.length(name, 1...200, flag: "--name") }
            _ = try JourneyStageArgument.journeyStages(stages, flag: "--stage")
            if allStages, !stages.isEmpty {
                throw ValidationError("--all-stages and --stage contradict each other: give one of them")
            }
            if name == nil, channel == nil, stages.isEmpty, !allStages {
                throw ValidationError("nothing to change: give --name, --channel, --stage or --all-stages")
            }
        }

        func run() async throws {
            try await ServiceSession.printAnswer(of: .journey, connection, output, calling: { session in
                var list = Cx_Journey_V1_ListTouchpointsRequest()
                list.includeRetired = true
                let touchpoints = try await session.call(Cx_Journey_V1_Journey.listTouchpoints, list).touchpoints
                var request = Cx_Journey_V1_UpdateTouchpointRequest()
                request.touchpoint = try changed(touchpoints.first { $0.id == id })
                return try await session.call(Cx_Journey_V1_Journey.updateTouchpoint, request)
            }, as: { JourneyTouchpointsCommand.text($0.touchpoint) })
        }

        /// The touchpoint as it is, with what the flags change; an id the
        /// catalogue does not hold is sent as it is, for the service's NOT_FOUND.
        func changed(_ current: Cx_Journey_V1_Touchpoint?) throws -> Cx_Journey_V1_Touchpoint {
            var touchpoint = current ?? Cx_Journey_V1_Touchpoint()
            touchpoint.id = id
            touchpoint.retired = false
            if let name { touchpoint.name = name }
            if let channel { touchpoint.channel = channel.proto }
            if allStages { touchpoint.stages = [] }
            if !stages.isEmpty { touchpoint.stages = try JourneyStageArgument.journeyStages(stages, flag: "--stage") }
            return touchpoint
        }
    }

    struct Retire: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "retire",
            abstract: "Retire a touchpoint: kept for the events that name it, refused for new ones.",
            discussion: """
                A new event at a retired touchpoint is FAILED_PRECONDITION (TOUCHPOINT_RETIRED).

                Examples:
                  cxctl journey touchpoints retire fax
                """)

        @Argument(help: "The touchpoint's id.")
        var id: String

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            var request = Cx_Journey_V1_RetireTouchpointRequest()
            request.id = id
            try await ServiceSession.show(.journey, Cx_Journey_V1_Journey.retireTouchpoint, request, connection, output) {
                JourneyTouchpointsCommand.text($0.touchpoint)
            }
        }
    }
}
