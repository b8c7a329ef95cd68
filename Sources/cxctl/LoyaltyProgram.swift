import ArgumentParser
import CXModel
import CXWire
import Foundation

/// `cxctl loyalty program ...`
struct LoyaltyProgramCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "program",
        abstract: "Show the program in force, change it, or see what a change would do first.",
        discussion: """
            The program is the rules: tiers (lowest first, with the qualifying points each \
            needs, an earn multiplier and benefits), the qualification window, the pending \
            days, the expiry, one earn rate per currency, the bonuses and the downgrade grace \
            periods. Every change is a new version; history is never rewritten: points \
            already earned keep their amount and expiry, and tiers move to new thresholds at \
            their next evaluation.

            To change it, save it as JSON, edit the file, try it, then put it in force:

              cxctl loyalty program show --json > program.json
              cxctl loyalty program simulate --file program.json
              cxctl loyalty program update --file program.json --expected-version 3
            """,
        subcommands: [Show.self, Update.self, Simulate.self]
    )

    /// The program `--file` holds: a Program in protobuf JSON, or the whole
    /// answer of `program show --json` ({"program": {...}}). "-" reads
    /// standard input. Input that is not a program exits 64.
    static func readProgram(_ path: String) throws -> Cx_Loyalty_V1_Program {
        try readMessageFile(
            path, label: "--file \(path)", inside: Cx_Loyalty_V1_GetProgramResponse.self,
            expected: "a cx.loyalty.v1.Program in protobuf JSON (see `cxctl loyalty program show --json`)"
        ) { $0.hasProgram ? $0.program : nil }
    }
}

extension LoyaltyProgramCommand {
    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "Show the program in force: tiers, window, pending days, expiry, earn rates, bonuses.",
            discussion: """
                EARNS is the tier's multiplier of purchase points (1.5x: 150 points where the \
                earn rate gives 100). Qualifying points are purchase points before the \
                multiplier, within the qualification window. --json prints the program as \
                `program update --file` and `program simulate --file` read it.

                Examples:
                  cxctl loyalty program show
                  cxctl loyalty program show --json > program.json
                """)

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let request = Cx_Loyalty_V1_GetProgramRequest()
            try await ServiceSession.show(.loyalty, Cx_Loyalty_V1_Loyalty.getProgram, request, connection, output) {
                LoyaltyView.program($0.program)
            }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "update",
            abstract: "Put a new version of the program in force, from a JSON file.",
            discussion: """
                The file is the whole program (a field left out is not "unchanged" but its \
                zero value), in protobuf JSON: start from `cxctl loyalty program show --json`, \
                which this command reads as it is; its version and effective_at are ignored. \
                --expected-version N changes the program only if version N is still the one in \
                force, so two admins editing at once do not overwrite each other (else ABORTED, \
                VERSION_MISMATCH: show it again and redo the change). Try a change with `program \
                simulate` first.

                Examples:
                  cxctl loyalty program update --file program.json --expected-version 3
                  cxctl loyalty program update --file - --key raise-gold-2026 < program.json
                """)

        @Option(help: ArgumentHelp("The program as JSON; - reads standard input.", valueName: "path"))
        var file: String

        @Option(help: ArgumentHelp("Change only if this version is still in force.", valueName: "version"))
        var expectedVersion: Int64?

        @OptionGroup var key: KeyOption
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            try checkExpectedVersion(expectedVersion)
        }

        func run() async throws {
            var request = Cx_Loyalty_V1_UpdateProgramRequest()
            request.program = try LoyaltyProgramCommand.readProgram(file)
            request.expectedVersion = expectedVersion ?? 0
            request.idempotencyKey = key.value
            try await ServiceSession.show(.loyalty, Cx_Loyalty_V1_Loyalty.updateProgram, request, connection, output) {
                "program version \($0.program.version) is in force\n\n" + LoyaltyView.program($0.program)
            }
        }
    }

    struct Simulate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "simulate",
            abstract: "What a proposed program would do if it were in force now; changes nothing.",
            discussion: """
                Evaluates every account by the proposed thresholds (how many would move up, \
                down, or stay; members per proposed tier), values the outstanding points under \
                the program in force and the proposed one (the liability, per currency), and \
                recomputes the points the last window's purchases earned with the proposed \
                rates and multipliers (points issued per window, a forecast). The file is read \
                as `program update --file` reads it.

                Examples:
                  cxctl loyalty program simulate --file program.json
                  cxctl loyalty program simulate --file program.json --json
                """)

        @Option(help: ArgumentHelp("The proposed program as JSON; - reads standard input.", valueName: "path"))
        var file: String

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            var request = Cx_Loyalty_V1_SimulateProgramRequest()
            request.program = try LoyaltyProgramCommand.readProgram(file)
            try await ServiceSession.show(.loyalty, Cx_Loyalty_V1_Loyalty.simulateProgram, request, connection, output) {
                Self.text($0)
            }
        }

        /// The simulation's tables: moves, members per proposed tier, and the measures current against proposed.
        static func text(_ response: Cx_Loyalty_V1_SimulateProgramResponse) -> String {
            let accounts = response.accountsUp + response.accountsDown + response.accountsUnchanged
            var moves = Table("ACCOUNTS", "COUNT", "SHARE")
            for (label, count) in [("up", response.accountsUp), ("down", response.accountsDown), ("unchanged", response.accountsUnchanged)] {
                moves.append([label, LoyaltyFormat.points(count), LoyaltyFormat.share(count, of: accounts)])
            }
            var members = Table("PROPOSED TIER", "MEMBERS", "SHARE")
            for tier in response.proposedMembers {
                members.append([tier.tier, LoyaltyFormat.points(tier.members), LoyaltyFormat.share(tier.members, of: accounts)])
            }
            var measures = Table("MEASURE", "CURRENT", "PROPOSED", "CHANGE")
            measures.append([
                "points issued per window", LoyaltyFormat.points(response.pointsIssuedCurrent),
                LoyaltyFormat.points(response.pointsIssuedProposed),
                Self.change(response.pointsIssuedCurrent, response.pointsIssuedProposed) { LoyaltyFormat.signed($0) },
            ])
            let outstanding = LoyaltyFormat.points(response.outstandingPoints)
            measures.append(["outstanding points", outstanding, outstanding, "0"])
            let currencies = Set((response.liabilityCurrent + response.liabilityProposed).map(\.currency)).sorted()
            for currency in currencies {
                let current = response.liabilityCurrent.first { $0.currency == currency }?.minorUnits ?? 0
                let proposed = response.liabilityProposed.first { $0.currency == currency }?.minorUnits ?? 0
                measures.append([
                    "liability (\(currency))", ProfilesFormat.amount(current, currency: currency),
                    ProfilesFormat.amount(proposed, currency: currency),
                    Self.change(current, proposed) { (($0 > 0) ? "+" : "") + ProfilesFormat.amount($0, currency: currency) },
                ])
            }
            return [moves.render(), members.render(), measures.render()].joined(separator: "\n\n")
        }

        /// proposed − current, worded by `words`, with the percentage when current is not 0.
        static func change(_ current: Int64, _ proposed: Int64, _ words: (Int64) -> String) -> String {
            let (difference, overflow) = proposed.subtractingReportingOverflow(current)
            guard !overflow else { return "-" }
            guard current != 0 else { return words(difference) }
            return "\(words(difference)) (\(difference >= 0 ? "+" : "")\(ProfilesFormat.share(Double(difference) / Double(current))))"
        }
    }
}
