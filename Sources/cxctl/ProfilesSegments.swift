import ArgumentParser
import CXModel
import CXWire
import Foundation

/// `cxctl profiles segments ...`
struct ProfilesSegmentsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "segments",
        abstract: "Group customers by a rule: define, list, count and inspect segments.",
        discussion: """
            A segment is the customers for whom its rule is true, evaluated when asked, so it \
            follows profile changes at once. A rule compares profile fields, joined with and, \
            or, not and parentheses:

              traits.tier == "gold" and traits.last_purchase_at >= now - 30d
              country in ["IR", "AE"] and age >= 25 and age < 35
              preferred_channels contains "sms" and marketing_consent.given == true
              not (traits.journey_stage == "advocacy") or traits.last_nps >= 9

            Fields: id, name, email, phone, city, region, country, occupation, education, \
            gender, birth_date, age, preferred_channels, marketing_consent.given, \
            marketing_consent.at, created_at, updated_at, attributes.<key>, traits.tier, \
            traits.journey_stage, traits.lifetime_spend (minor units), traits.purchase_count, \
            traits.last_purchase_at, traits.last_nps, traits.surveys_answered. The full \
            grammar is in proto-spec/cx/profiles/v1/profiles.proto. RULE may be "-" to read \
            it from standard input.

            Examples:
              cxctl profiles segments validate 'age >= 25 and city == "Tehran"'
              cxctl profiles segments define "Lapsing gold" --rule 'traits.tier == "gold" and traits.last_purchase_at < now - 60d'
              cxctl profiles segments members seg-7 --customers --all
              cxctl profiles segments of c-1042
            """,
        subcommands: [
            Define.self, List.self, Get.self, Update.self, Delete.self, Count.self, Members.self, Of.self,
            Validate.self,
        ]
    )
}

extension ProfilesSegmentsCommand {
    struct Define: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "define",
            abstract: "Define a segment from a rule; prints it with its member count.",
            discussion: """
                A rule that does not parse or type-check is refused with each problem's line \
                and column (INVALID_ARGUMENT, RULE_INVALID); `segments validate` shows them \
                without defining anything.

                Examples:
                  cxctl profiles segments define "Young Tehran" --rule 'age < 30 and city == "تهران"'
                  cxctl profiles segments define "Promoters" --rule 'traits.last_nps >= 9' --description "NPS 9 or 10"
                  cat rule.txt | cxctl profiles segments define "Complex" --rule -
                """)

        @Argument(help: "The segment's name, unique among segments.")
        var name: String

        @Option(help: ArgumentHelp("The rule; - reads it from standard input.", valueName: "rule"))
        var rule: String

        @Option(name: .customLong("description"), help: ArgumentHelp("What the segment is for.", valueName: "text"))
        var about: String?

        @Option(help: ArgumentHelp("Makes a retry of this command define the segment once.", valueName: "key"))
        var idempotencyKey: String?

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            var segment = Cx_Profiles_V1_Segment()
            segment.name = name
            segment.rule = profilesRuleText(rule)
            segment.description_p = about ?? ""
            var request = Cx_Profiles_V1_DefineSegmentRequest()
            request.segment = segment
            request.idempotencyKey = idempotencyKey ?? ""
            let session = try ServiceSession(.profiles, connection, format: output.format)
            let response = try await session.call(Cx_Profiles_V1_Segments.defineSegment, request)
            await session.close()
            if output.format == .json { return try printMessageJSON(response) }
            print(ProfilesView.segment(response.segment).render())
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List the segments, ordered by name.",
            discussion: """
                MEMBERS may be some minutes old here (COUNTED says when it was counted); \
                `segments get` and `segments count` count afresh.

                Examples:
                  cxctl profiles segments list
                  cxctl profiles segments list --all --json
                """)

        @OptionGroup var page: PageOptions
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let session = try ServiceSession(.profiles, connection, format: output.format)
            let request = Cx_Profiles_V1_ListSegmentsRequest()
            let result = try await session.pages(Cx_Profiles_V1_Segments.listSegments, request, page)
            await session.close()
            if output.format == .json { return try printMessageJSON(result) }
            print(result.segments.isEmpty ? "(no segments)" : ProfilesView.segments(result.segments).render())
            page.hint(next: result.nextPageToken, format: output.format)
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "get",
            abstract: "Show one segment, with a fresh member count.",
            discussion: """
                Example:
                  cxctl profiles segments get seg-7
                """)

        @Argument(help: "The segment's id.")
        var id: String

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let session = try ServiceSession(.profiles, connection, format: output.format)
            var request = Cx_Profiles_V1_GetSegmentRequest()
            request.segmentID = id
            let response = try await session.call(Cx_Profiles_V1_Segments.getSegment, request)
            await session.close()
            if output.format == .json { return try printMessageJSON(response) }
            print(ProfilesView.segment(response.segment).render())
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "update",
            abstract: "Change a segment's rule, name or description.",
            discussion: """
                Only what is given changes. A new rule is checked as in `segments define`.

                Examples:
                  cxctl profiles segments update seg-7 --rule 'traits.tier in ["gold", "platinum"]'
                  cxctl profiles segments update seg-7 --name "Top tiers" --expected-version 3
                """)

        @Argument(help: "The segment's id.")
        var id: String

        @Option(help: ArgumentHelp("The new rule; - reads it from standard input.", valueName: "rule"))
        var rule: String?

        @Option(help: ArgumentHelp("The new name.", valueName: "name"))
        var name: String?

        @Option(name: .customLong("description"), help: ArgumentHelp("The new description (\"\" empties it).", valueName: "text"))
        var about: String?

        @Option(help: ArgumentHelp("Change only if the segment is still at this version.", valueName: "version"))
        var expectedVersion: Int64?

        @Option(help: ArgumentHelp("Makes a retry of this command apply once.", valueName: "key"))
        var idempotencyKey: String?

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            guard rule != nil || name != nil || about != nil else {
                throw ValidationError("nothing to change: give --rule, --name or --description")
            }
            try checkExpectedVersion(expectedVersion)
        }

        func run() async throws {
            var segment = Cx_Profiles_V1_Segment()
            var mask: [String] = []
            if let name {
                segment.name = name
                mask.append("name")
            }
            if let about {
                segment.description_p = about
                mask.append("description")
            }
            if let rule {
                segment.rule = profilesRuleText(rule)
                mask.append("rule")
            }
            var request = Cx_Profiles_V1_UpdateSegmentRequest()
            request.segmentID = id
            request.segment = segment
            request.updateMask = mask
            request.expectedVersion = expectedVersion ?? 0
            request.idempotencyKey = idempotencyKey ?? ""
            let session = try ServiceSession(.profiles, connection, format: output.format)
            let response = try await session.call(Cx_Profiles_V1_Segments.updateSegment, request)
            await session.close()
            if output.format == .json { return try printMessageJSON(response) }
            print(ProfilesView.segment(response.segment).render())
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "delete",
            abstract: "Delete a segment (its customers are not touched).",
            discussion: """
                Example:
                  cxctl profiles segments delete seg-7
                """)

        @Argument(help: "The segment's id.")
        var id: String

        @Option(help: ArgumentHelp("Makes a retry of this command apply once.", valueName: "key"))
        var idempotencyKey: String?

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let session = try ServiceSession(.profiles, connection, format: output.format)
            var request = Cx_Profiles_V1_DeleteSegmentRequest()
            request.segmentID = id
            request.idempotencyKey = idempotencyKey ?? ""
            let response = try await session.call(Cx_Profiles_V1_Segments.deleteSegment, request)
            await session.close()
            if output.format == .json { return try printMessageJSON(response) }
            let when = response.hasDeletedAt ? " at \(ProfilesFormat.time(response.deletedAt))" : ""
            print("deleted segment \(response.segmentID)\(when)")
        }
    }

    struct Count: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "count",
            abstract: "Count the customers a segment holds now.",
            discussion: """
                Example:
                  cxctl profiles segments count seg-7
                """)

        @Argument(help: "The segment's id.")
        var id: String

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let session = try ServiceSession(.profiles, connection, format: output.format)
            var request = Cx_Profiles_V1_CountSegmentRequest()
            request.segmentID = id
            let response = try await session.call(Cx_Profiles_V1_Segments.countSegment, request)
            await session.close()
            if output.format == .json { return try printMessageJSON(response) }
            var table = Table("SEGMENT", "MEMBERS", "EVALUATED")
            table.append([id, "\(response.count)", ProfilesFormat.time(response.hasEvaluatedAt ? response.evaluatedAt : nil)])
            print(table.render())
        }
    }

    struct Members: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "members",
            abstract: "List a segment's customers, ordered by id.",
            discussion: """
                Ids only, unless --customers asks for whole profiles (smaller pages).

                Examples:
                  cxctl profiles segments members seg-7
                  cxctl profiles segments members seg-7 --customers --all
                  cxctl profiles segments members seg-7 --all --json | jq -r '.customer_ids[]'
                """)

        @Argument(help: "The segment's id.")
        var id: String

        @Flag(help: "Show the members' profiles, not just their ids.")
        var customers = false

        @OptionGroup var page: PageOptions
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let session = try ServiceSession(.profiles, connection, format: output.format)
            var request = Cx_Profiles_V1_SegmentMembersRequest()
            request.segmentID = id
            request.view = customers ? .customers : .ids
            let result = try await session.pages(Cx_Profiles_V1_Segments.segmentMembers, request, page)
            await session.close()
            if output.format == .json { return try printMessageJSON(result) }
            if customers {
                print(result.customers.isEmpty ? "(no members)" : ProfilesView.customers(result.customers).render())
            } else if result.customerIds.isEmpty {
                print("(no members)")
            } else {
                var table = Table("CUSTOMER")
                for customerID in result.customerIds { table.append([customerID]) }
                print(table.render())
            }
            page.hint(next: result.nextPageToken, format: output.format)
        }
    }

    struct Of: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "of",
            abstract: "Show the segments one customer belongs to now.",
            discussion: """
                Example:
                  cxctl profiles segments of c-1042
                """)

        @Argument(help: "The customer's id.")
        var customerID: String

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let session = try ServiceSession(.profiles, connection, format: output.format)
            var request = Cx_Profiles_V1_CustomerSegmentsRequest()
            request.customerID = customerID
            let response = try await session.call(Cx_Profiles_V1_Segments.customerSegments, request)
            await session.close()
            if output.format == .json { return try printMessageJSON(response) }
            if response.segments.isEmpty {
                print("(customer \(customerID) is in no segment)")
                return
            }
            var table = Table("SEGMENT", "NAME")
            for segment in response.segments { table.append([segment.segmentID, ProfilesFormat.text(segment.name)]) }
            print(table.render())
        }
    }

    struct Validate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "validate",
            abstract: "Check a rule without defining anything.",
            discussion: """
                Prints "ok" (with the number of customers it matches now, given --count), or \
                each problem as "line L, column C: message", columns counted in characters.

                Examples:
                  cxctl profiles segments validate 'traits.tier == "gold" and age >= 30' --count
                  cxctl profiles segments validate - < rule.txt

                Exit status: 0 the rule is good; 1 it is not (or the call failed); 64 the \
                command line is wrong.
                """)

        @Argument(help: ArgumentHelp("The rule; - reads it from standard input.", valueName: "rule"))
        var rule: String

        @Flag(help: "Also count the customers the rule matches now.")
        var count = false

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let session = try ServiceSession(.profiles, connection, format: output.format)
            var request = Cx_Profiles_V1_ValidateRuleRequest()
            request.rule = profilesRuleText(rule)
            request.countMembers = count
            let response = try await session.call(Cx_Profiles_V1_Segments.validateRule, request)
            await session.close()
            if output.format == .json {
                try printMessageJSON(response)
            } else if response.ok {
                print(response.hasMemberCount ? "ok: \(response.memberCount) customers match now" : "ok")
            } else {
                for problem in response.problems {
                    print("line \(problem.line), column \(problem.column): \(problem.message)")
                }
                if response.problems.isEmpty { print("the rule is not valid (the service named no problem)") }
            }
            if !response.ok { throw ExitCode(1) }
        }
    }
}
