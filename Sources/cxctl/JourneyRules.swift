import ArgumentParser
import CXModel
import CXWire
import Foundation

/// `cxctl journey rules ...`
struct JourneyRulesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "The rules in force: which event types move customers where, and when a customer is lost or stalled.",
        discussion: """
            The rules hold the moves (an event type and the stage it moves a customer to, \
            forward only), and for each of the eight stages its quiet days (quiet for longer: \
            lost) and its norm days (in the stage for longer: stalled). Every change is a new \
            version, for events recorded from then on.

            To change them, save them as JSON, edit the file, and set it:

              cxctl journey rules show --json > rules.json
              cxctl journey rules set rules.json --expected-version 3
            """,
        subcommands: [Show.self, Update.self],
        defaultSubcommand: Show.self
    )
}

extension JourneyRulesCommand {
    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "Show the rules in force.",
            discussion: """
                --json prints them as `rules set` reads them.

                Examples:
                  cxctl journey rules show
                  cxctl journey rules show --json > rules.json
                """)

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let request = Cx_Journey_V1_GetRulesRequest()
            try await ServiceSession.show(.journey, Cx_Journey_V1_Journey.getRules, request, connection, output) {
                JourneyView.rules($0.rules)
            }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set",
            abstract: "Put new rules in force, from a JSON file.",
            discussion: """
                The file holds the whole rules (a field left out is not "unchanged" but its zero \
                value) in protobuf JSON: start from `cxctl journey rules show --json`, which this \
                command reads as it is; its version and effective_at are ignored. Stages are \
                written as in that output: "STAGE_ACTIVATION". The stages list must name each of \
                the eight stages once. A malformed rule is INVALID_ARGUMENT naming it \
                ("rules.moves[3].event_type").

                --expected-version N changes the rules only if version N is still the one in \
                force, so two admins editing at once do not overwrite each other (else \
                FAILED_PRECONDITION, VERSION_CONFLICT: show them again and redo the change).

                Example rules.json:
                  {"moves": [{"event_type": "first_purchase", "stage": "STAGE_ADMISSION"}],
                   "stages": [{"stage": "STAGE_ASSESSMENT", "quiet_days": 90,
                               "norm_days": 30}, ...],
                   "future_tolerance_seconds": 300}

                Examples:
                  cxctl journey rules set rules.json --expected-version 3
                  cxctl journey rules set - < rules.json
                """)

        @Argument(help: ArgumentHelp("The rules as JSON; - reads standard input.", valueName: "file"))
        var file: String

        @Option(help: ArgumentHelp("Change only if this version is still in force.", valueName: "version"))
        var expectedVersion: Int64?

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            try checkExpectedVersion(expectedVersion)
        }

        func run() async throws {
            var request = Cx_Journey_V1_UpdateRulesRequest()
            request.rules = try readMessageFile(
                file, label: file, inside: Cx_Journey_V1_GetRulesResponse.self,
                expected: "cx.journey.v1.Rules in protobuf JSON (see `cxctl journey rules show --json`)"
            ) { $0.hasRules ? $0.rules : nil }
            request.expectedVersion = expectedVersion ?? 0
            try await ServiceSession.show(.journey, Cx_Journey_V1_Journey.updateRules, request, connection, output) {
                "version \($0.rules.version) of the rules is in force\n\n" + JourneyView.rules($0.rules)
            }
        }
    }
}
