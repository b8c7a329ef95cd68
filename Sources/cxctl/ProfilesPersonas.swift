import ArgumentParser
import CXModel
import CXWire
import Foundation

/// `cxctl profiles personas ...`
struct ProfilesPersonasCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "personas",
        abstract: "The archetypes the business targets: define them, match customers to them.",
        discussion: """
            A persona is described by weighted criteria; a customer's score for it is the \
            weight of the criteria they meet over the weight of all its criteria, 0 to 1. A \
            customer matches their best persona when that score is at least the minimum \
            (0.5 unless --min-score says otherwise).

            Examples:
              cxctl profiles personas define "Busy professional" \\
                  --criterion 'age >= 30' --criterion 'age < 45' \\
                  --criterion 'occupation in manager, engineer, doctor weight 2' \\
                  --criterion 'preferred_channels contains app'
              cxctl profiles personas match c-1042
              cxctl profiles personas distribution --min-score 0.6
            """,
        subcommands: [Define.self, List.self, Delete.self, Match.self, Distribution.self]
    )
}

/// `FIELD OP VALUE[,VALUE] [weight W]` as a persona criterion.
enum ProfilesCriterionParser {
    static let listOperators: Set<String> = ["in", "not in"]

    static func parse(_ text: String) throws -> Cx_Profiles_V1_Criterion {
        func problem(_ what: String) -> ValidationError {
            ValidationError(
                "--criterion \"\(text)\": \(what). Write FIELD OP VALUE[,VALUE] [weight W], for example "
                    + "'age >= 30', 'country in IR, AE weight 2', 'attributes.goals contains saving'")
        }
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))

        // FIELD: up to a space or an operator character.
        let fieldEnd = rest.firstIndex(where: { $0.isWhitespace || "=!<>".contains($0) }) ?? rest.endIndex
        let field = String(rest[..<fieldEnd])
        guard !field.isEmpty else { throw problem("it has no field") }
        rest = rest[fieldEnd...].drop(while: { $0.isWhitespace })

        // OP
        var parsedOp: String?
        if let afterNot = word("not", in: rest), let afterIn = word("in", in: afterNot.drop(while: { $0.isWhitespace })) {
            parsedOp = "not in"
            rest = afterIn
        } else if let afterWord = word("contains", in: rest) {
            parsedOp = "contains"
            rest = afterWord
        } else if let afterWord = word("in", in: rest) {
            parsedOp = "in"
            rest = afterWord
        } else {
            for symbol in ["==", "!=", "<=", ">=", "<", ">"] where rest.hasPrefix(symbol) {
                parsedOp = symbol
                rest = rest.dropFirst(symbol.count)
                break
            }
        }
        guard let op = parsedOp else {
            throw problem("after \(field) comes no operator (==, !=, <, <=, >, >=, in, not in, contains)")
        }

        // [weight W] at the end
        var valuesText = rest.trimmingCharacters(in: .whitespaces)
        var weight: Double = 0
        let words = valuesText.split(whereSeparator: { $0.isWhitespace })
        if words.count >= 2, words[words.count - 2] == "weight", let number = Double(String(words[words.count - 1])),
            let weightWord = valuesText.range(of: "weight", options: .backwards)
        {
            guard number > 0, number <= 1000 else { throw problem("the weight must be more than 0 and at most 1000") }
            weight = number
            valuesText = valuesText[..<weightWord.lowerBound].trimmingCharacters(in: .whitespaces)
        }

        // VALUE[,VALUE]
        let values: [String]
        if listOperators.contains(op) {
            var list = valuesText
            if list.hasPrefix("["), list.hasSuffix("]") { list = String(list.dropFirst().dropLast()) }
            values = list.split(separator: ",", omittingEmptySubsequences: false).map {
                unquoted($0.trimmingCharacters(in: .whitespaces))
            }
            if values.contains(where: \.isEmpty) { throw problem("one of its values is empty") }
        } else {
            values = [unquoted(valuesText)]
        }
        if values.isEmpty || values == [""] { throw problem("it has no value after \(op)") }

        var criterion = Cx_Profiles_V1_Criterion()
        criterion.field = field
        criterion.op = op
        criterion.values = values
        criterion.weight = weight
        return criterion
    }

    /// What follows `word` at the start of `text`, when a space or the end follows the word.
    static func word(_ word: String, in text: Substring) -> Substring? {
        guard text.hasPrefix(word) else { return nil }
        let after = text.dropFirst(word.count)
        guard after.isEmpty || after.first?.isWhitespace == true else { return nil }
        return after
    }

    /// `"gold"` → `gold`: values are sent without quotes.
    static func unquoted(_ value: String) -> String {
        guard value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") else { return value }
        return String(value.dropFirst().dropLast())
    }
}

extension ProfilesPersonasCommand {
    struct Define: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "define",
            abstract: "Define a persona from weighted criteria.",
            discussion: """
                Each --criterion is FIELD OP VALUE[,VALUE] [weight W]: a field of the segment \
                rule language (`cxctl profiles segments --help`), an operator (==, !=, <, <=, \
                >, >=, in, not in, contains), the value without quotes (several, separated by \
                commas, for in and not in) and optionally a weight, more than 0 and at most \
                1000 (default 1). 1 to 32 criteria.

                Examples:
                  cxctl profiles personas define "Young saver" --description "Under 30, saving for something big" \\
                      --criterion 'age < 30' --criterion 'attributes.goals contains save weight 2'
                  cxctl profiles personas define "Gulf traveller" --criterion 'country in AE, QA, KW' \\
                      --criterion 'traits.purchase_count >= 3'
                """)

        @Argument(help: "The persona's name, unique among personas.")
        var name: String

        @Option(
            name: .customLong("criterion"),
            help: ArgumentHelp("A criterion: FIELD OP VALUE[,VALUE] [weight W]; repeatable.", valueName: "criterion"))
        var criteria: [String] = []

        @Option(name: .customLong("description"), help: ArgumentHelp("Who this person is, what they want.", valueName: "text"))
        var about: String?

        @Option(help: ArgumentHelp("Makes a retry of this command define the persona once.", valueName: "key"))
        var idempotencyKey: String?

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            guard (1...32).contains(criteria.count) else {
                throw ValidationError("a persona needs 1 to 32 --criterion options; \(criteria.count) given")
            }
            for criterion in criteria { _ = try ProfilesCriterionParser.parse(criterion) }
        }

        func run() async throws {
            var persona = Cx_Profiles_V1_Persona()
            persona.name = name
            persona.description_p = about ?? ""
            persona.criteria = try criteria.map { try ProfilesCriterionParser.parse($0) }
            var request = Cx_Profiles_V1_DefinePersonaRequest()
            request.persona = persona
            request.idempotencyKey = idempotencyKey ?? ""
            let session = try ServiceSession(.profiles, connection, format: output.format)
            let response = try await session.call(Cx_Profiles_V1_Personas.definePersona, request)
            await session.close()
            if output.format == .json { return try printMessageJSON(response) }
            print(ProfilesView.persona(response.persona).render())
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List the personas, ordered by name.",
            discussion: """
                Examples:
                  cxctl profiles personas list
                  cxctl profiles personas list --json
                """)

        @OptionGroup var page: PageOptions
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let session = try ServiceSession(.profiles, connection, format: output.format)
            let request = Cx_Profiles_V1_ListPersonasRequest()
            let result = try await session.pages(Cx_Profiles_V1_Personas.listPersonas, request, page)
            await session.close()
            if output.format == .json { return try printMessageJSON(result) }
            print(result.personas.isEmpty ? "(no personas)" : ProfilesView.personas(result.personas).render())
            page.hint(next: result.nextPageToken, format: output.format)
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "delete",
            abstract: "Delete a persona (customers are not touched).",
            discussion: """
                Example:
                  cxctl profiles personas delete per-3
                """)

        @Argument(help: "The persona's id.")
        var id: String

        @Option(help: ArgumentHelp("Makes a retry of this command apply once.", valueName: "key"))
        var idempotencyKey: String?

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let session = try ServiceSession(.profiles, connection, format: output.format)
            var request = Cx_Profiles_V1_DeletePersonaRequest()
            request.personaID = id
            request.idempotencyKey = idempotencyKey ?? ""
            let response = try await session.call(Cx_Profiles_V1_Personas.deletePersona, request)
            await session.close()
            if output.format == .json { return try printMessageJSON(response) }
            let when = response.hasDeletedAt ? " at \(ProfilesFormat.time(response.deletedAt))" : ""
            print("deleted persona \(response.personaID)\(when)")
        }
    }

    struct Match: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "match",
            abstract: "Show the persona a customer fits best, and the next best.",
            discussion: """
                Examples:
                  cxctl profiles personas match c-1042
                  cxctl profiles personas match c-1042 --min-score 0.7 --json
                """)

        @Argument(help: "The customer's id.")
        var customerID: String

        @Option(help: ArgumentHelp("The least score that counts as a match, 0 to 1 (default 0.5).", valueName: "score"))
        var minScore: Double?

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            if let minScore, !(0...1).contains(minScore) {
                throw ValidationError("--min-score: \(minScore) must be 0 to 1")
            }
        }

        func run() async throws {
            let session = try ServiceSession(.profiles, connection, format: output.format)
            var request = Cx_Profiles_V1_MatchPersonaRequest()
            request.customerID = customerID
            if let minScore { request.minScore = minScore }
            let response = try await session.call(Cx_Profiles_V1_Personas.matchPersona, request)
            await session.close()
            if output.format == .json { return try printMessageJSON(response) }
            guard response.hasBest else {
                print("no personas are defined")
                return
            }
            var table = Table("RANK", "PERSONA", "NAME", "SCORE")
            table.append(["best", response.best.personaID, ProfilesFormat.text(response.best.personaName), ProfilesFormat.score(response.best.score)])
            if response.hasRunnerUp {
                let next = response.runnerUp
                table.append(["runner-up", next.personaID, ProfilesFormat.text(next.personaName), ProfilesFormat.score(next.score)])
            }
            print(table.render())
            let threshold = ProfilesFormat.score(minScore ?? 0.5)
            print(response.matched
                ? "\(customerID) matches \(response.best.personaName) (score at least \(threshold))"
                : "\(customerID) matches no persona (no score reaches \(threshold))")
        }
    }

    struct Distribution: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "distribution",
            abstract: "Show how all customers divide among the personas.",
            discussion: """
                Each customer counts for their best persona when its score is at least \
                --min-score (default 0.5), else as unmatched.

                Examples:
                  cxctl profiles personas distribution
                  cxctl profiles personas distribution --min-score 0.7
                """)

        @Option(help: ArgumentHelp("The least score that counts as a match, 0 to 1 (default 0.5).", valueName: "score"))
        var minScore: Double?

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            if let minScore, !(0...1).contains(minScore) {
                throw ValidationError("--min-score: \(minScore) must be 0 to 1")
            }
        }

        func run() async throws {
            let session = try ServiceSession(.profiles, connection, format: output.format)
            var request = Cx_Profiles_V1_PersonaDistributionRequest()
            if let minScore { request.minScore = minScore }
            let response = try await session.call(Cx_Profiles_V1_Personas.personaDistribution, request)
            await session.close()
            if output.format == .json { return try printMessageJSON(response) }
            var table = Table("PERSONA", "NAME", "CUSTOMERS", "SHARE")
            for share in response.personas {
                table.append([share.personaID, ProfilesFormat.text(share.personaName), "\(share.count)", ProfilesFormat.share(share.share)])
            }
            table.append(["-", "(unmatched)", "\(response.unmatched)", ProfilesFormat.share(response.unmatchedShare)])
            print(table.render())
            let when = response.hasEvaluatedAt ? ", evaluated \(ProfilesFormat.time(response.evaluatedAt))" : ""
            print("\(response.totalCustomers) customers, best score at least \(ProfilesFormat.score(minScore ?? 0.5)) counts\(when)")
        }
    }
}
