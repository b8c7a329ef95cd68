import CXModel
import Foundation

// Personas (proto-spec: cx.profiles.v1.Persona, Criterion, MatchPersona*, PersonaDistribution*).
//
// A persona is a representative archetype with weighted criteria. Each criterion is one
// comparison of the segment rule language (`CompiledRule`), written as `field op values`:
// `CompiledPersona.compile` builds the comparison's source text from the three parts and
// compiles it, so criteria mean exactly what the same comparison means in a segment rule
// (text normalised, missing fields false, `now - 30d` resolved at evaluation) and a bad one
// fails with the rule language's message, attributed to the part that caused it.

/// A persona that does not validate, naming the offending field as the wire names it
/// (`persona.name`, `persona.criteria[2].op`, `persona.criteria[0].values[1]`), so a handler
/// can turn it into an INVALID_ARGUMENT field violation as it is.
///
/// `description` is `persona.criteria[2].op: unsupported operator 'like'; use one of ...`.
public struct PersonaError: Error, Sendable, Equatable, CustomStringConvertible {
    public var field: String
    public var message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "\(field): \(message)" }
}

/// A persona validated and compiled once, to score many customers.
///
/// ## Validation (`compile`), first problem wins, in this order
///
/// - `persona.name`: required (not empty or only white space), at most 100 characters
///   (Characters, as the proto counts them).
/// - `persona.description`: at most 2000 characters.
/// - `persona.criteria`: 1 to 32 criteria.
/// - For each criterion `persona.criteria[i]`:
///   - `.field`: required; one field path of the rule language (`traits.tier`,
///     `attributes.هدف`), nothing around it; known to `RuleSchema.customer` (an unknown one
///     fails with the language's "unknown field ... (did you mean ...?)").
///   - `.op`: exactly one of `==`, `!=`, `<`, `<=`, `>`, `>=`, `in`, `not in`, `contains`.
///   - `.values`: exactly one value, or 1 to 100 for `in` and `not in`.
///   - `.values[j]`: at most 1024 characters; then read as the field's type (below).
///   - `.weight`: finite, 0 to 1000; 0 (unset) means 1.
///   - the comparison compiles; a rule error is reported on the part it points at
///     (`.field`, `.op` or `.values[j]`) with the language's message (without its line and
///     column, which refer to the generated text).
///
/// ## How values are read
///
/// By the type `RuleSchema.customer` gives the field:
/// - text and list-of-text fields: the value is the text itself, quoted and escaped (`"` and
///   `\`), so it can never be read as anything but one string literal. It may not contain a
///   line break (rule strings cannot), nor a character that would fuse with the quote or
///   escape around it (the prefixed format marks U+0600–U+0605, U+06DD and the like).
/// - number, bool and time fields: the value is a literal of the language and passes
///   through: `30`, `-5`, `2.5`, `۳۰`, `true`, `2024-03-01`, `2024-03-01T09:30:00+03:30`,
///   `now-30d`, `now - 4w + 2d`. Only literal tokens are accepted (numbers, dates, durations,
///   strings, `true`, `false`, `now`, `+`, `-`); a field name, keyword or operator in a value
///   is refused here, so a value can never extend the comparison into a larger rule. Whether
///   the literal fits the field (`true` for a number) is the language's check.
///
/// ## Operators
///
/// `==`, `!=`, `<`, `<=`, `>`, `>=`, `contains` and `in` are the language's own (`in` with
/// the values as a list). `not in` is compiled as `exists f and not (f in [...])`: like
/// `!=`, it is false for a customer who has no value for the field.
public struct CompiledPersona: Sendable {
    public let id: String
    public let name: String

    /// One compiled criterion.
    struct Criterion: Sendable {
        /// The comparison; `rule.source` is the generated text (`city in ["تهران", "شیراز"]`).
        let rule: CompiledRule
        /// > 0 (an unset weight is already 1 here).
        let weight: Double
    }

    let criteria: [Criterion]
    /// The sum of the weights, added in criteria order (as `score` adds met weights, so a
    /// customer who meets every criterion scores exactly 1).
    let totalWeight: Double

    static let maxNameLength = 100
    static let maxDescriptionLength = 2000
    static let maxCriteria = 32
    static let maxListValues = 100
    static let maxValueLength = 1024
    static let maxWeight = 1000.0

    /// Validates `persona` and compiles its criteria (see the type's documentation).
    /// `id` and `name` are taken as they are; the other output-only fields are ignored.
    public static func compile(_ persona: Cx_Profiles_V1_Persona) throws(PersonaError) -> CompiledPersona {
        let name = persona.name
        if name.allSatisfy(\.isWhitespace) {
            throw PersonaError(field: "persona.name", message: "required")
        }
        if let nameLength = length(name, over: maxNameLength) {
            throw PersonaError(
                field: "persona.name",
                message: "is \(nameLength) characters long; the limit is \(maxNameLength)")
        }
        if let descriptionLength = length(persona.description_p, over: maxDescriptionLength) {
            throw PersonaError(
                field: "persona.description",
                message: "is \(descriptionLength) characters long; the limit is \(maxDescriptionLength)")
        }
        if persona.criteria.isEmpty {
            throw PersonaError(
                field: "persona.criteria",
                message: "at least one criterion is required, such as traits.tier == \"gold\"")
        }
        if persona.criteria.count > maxCriteria {
            throw PersonaError(
                field: "persona.criteria",
                message: "has \(persona.criteria.count) criteria; the limit is \(maxCriteria)")
        }
        var criteria: [Criterion] = []
        criteria.reserveCapacity(persona.criteria.count)
        var totalWeight = 0.0
        for (i, criterion) in persona.criteria.enumerated() {
            let compiled = try compileCriterion(criterion, path: "persona.criteria[\(i)]")
            criteria.append(compiled)
            totalWeight += compiled.weight
        }
        return CompiledPersona(id: persona.id, name: name, criteria: criteria, totalWeight: totalWeight)
    }

    /// The share of the persona's weight whose criteria `subject` meets at `now`: the sum of
    /// the weights of the criteria met divided by the sum of all weights, 0 (none met) to 1
    /// (all met).
    public func score(_ subject: some RuleSubject, now: Date) -> Double {
        var met = 0.0
        for criterion in criteria where criterion.rule.evaluate(subject, now: now).matches {
            met += criterion.weight
        }
        // Every weight is > 0, and rounding is monotonic, so met ≤ totalWeight; min() only
        // documents it.
        return totalWeight > 0 ? min(1, met / totalWeight) : 0
    }

    // MARK: - Criteria

    enum Operator: String, CaseIterable {
        case equal = "==", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">"
        case greaterOrEqual = ">=", `in` = "in", notIn = "not in", contains = "contains"

        var takesList: Bool { self == .in || self == .notIn }
    }

    static func compileCriterion(_ criterion: Cx_Profiles_V1_Criterion, path: String) throws(PersonaError) -> Criterion {
        let fieldPath = path + ".field"
        let opPath = path + ".op"
        let valuesPath = path + ".values"
        func valuePath(_ j: Int) -> String { "\(valuesPath)[\(j)]" }

        // The field: one field path token, nothing else.
        let field = criterion.field
        try checkFieldSyntax(field, path: fieldPath)

        // The operator and how many values it takes.
        guard let op = Operator(rawValue: criterion.op) else {
            let known = Operator.allCases.map(\.rawValue).joined(separator: ", ")
            let message =
                criterion.op.isEmpty
                ? "required: one of \(known)" : "unsupported operator '\(criterion.op)'; use one of \(known)"
            throw PersonaError(field: opPath, message: message)
        }
        let values = criterion.values
        if op.takesList {
            guard (1...maxListValues).contains(values.count) else {
                throw PersonaError(
                    field: valuesPath,
                    message: "'\(op.rawValue)' takes 1 to \(maxListValues) values, found \(values.count)")
            }
        } else if values.count != 1 {
            throw PersonaError(
                field: valuesPath, message: "'\(op.rawValue)' takes exactly one value, found \(values.count)")
        }
        for (j, value) in values.enumerated() {
            if let count = length(value, over: maxValueLength) {
                throw PersonaError(
                    field: valuePath(j), message: "is \(count) characters long; the limit is \(maxValueLength)")
            }
        }

        // The weight.
        let weight = criterion.weight
        guard weight.isFinite else {
            throw PersonaError(field: path + ".weight", message: "must be a finite number, found \(weight)")
        }
        guard weight >= 0 && weight <= maxWeight else {
            throw PersonaError(
                field: path + ".weight",
                message: "must be between 0 and \(Int(maxWeight)) (0 means 1), found \(weight)")
        }

        // The field's type decides how values are written.
        let schema = RuleSchema.customer
        guard let type = schema.fieldType(field) else {
            // Let the language say it (with its "did you mean" suggestion).
            do throws(RuleError) {
                _ = try CompiledRule.compile("exists " + field, schema: schema)
            } catch {
                throw PersonaError(field: fieldPath, message: error.message)
            }
            throw PersonaError(field: fieldPath, message: "unknown field '\(field)'")
        }
        var rendered: [String] = []
        rendered.reserveCapacity(values.count)
        for (j, value) in values.enumerated() {
            switch type {
            case .string, .stringList:
                rendered.append(try quoted(value, path: valuePath(j)))
            case .int, .decimal, .bool, .time:
                rendered.append(try literal(value, field: field, type: type, path: valuePath(j)))
            }
        }

        // The comparison's source, remembering where each part went.
        var source = RuleSourceBuilder()
        func appendList() {
            source.append("[")
            for (j, text) in rendered.enumerated() {
                if j > 0 { source.append(", ") }
                source.append(text, for: valuePath(j))
            }
            source.append("]")
        }
        switch op {
        case .in:
            source.append(field, for: fieldPath)
            source.append(" ")
            source.append("in", for: opPath)
            source.append(" ")
            appendList()
        case .notIn:
            source.append("exists ")
            source.append(field, for: fieldPath)
            source.append(" and not (")
            source.append(field, for: fieldPath)
            source.append(" ")
            source.append("in", for: opPath)
            source.append(" ")
            appendList()
            source.append(")")
        case .equal, .notEqual, .less, .lessOrEqual, .greater, .greaterOrEqual, .contains:
            source.append(field, for: fieldPath)
            source.append(" ")
            source.append(op.rawValue, for: opPath)
            source.append(" ")
            source.append(rendered[0], for: valuePath(0))
        }

        let limits = RuleLimits(
            maxSourceLength: .max,  // the value limits above bound it
            maxNestingDepth: RuleLimits.default.maxNestingDepth,
            maxListElements: maxListValues)
        do throws(RuleError) {
            let rule = try CompiledRule.compile(source.text, schema: schema, limits: limits)
            return Criterion(rule: rule, weight: weight == 0 ? 1 : weight)
        } catch {
            let part = error.line == 1 ? source.part(at: error.column) : nil
            throw PersonaError(field: part ?? path, message: error.message)
        }
    }

    /// Checks that `field` is exactly one field path of the rule language.
    private static func checkFieldSyntax(_ field: String, path: String) throws(PersonaError) {
        if field.isEmpty {
            throw PersonaError(field: path, message: "required: a field of the rule language, such as \"traits.tier\"")
        }
        var lexer = RuleLexer(field)
        let first: RuleToken
        let second: RuleToken
        do throws(RuleError) {
            first = try lexer.next()
            second = try lexer.next()
        } catch {
            throw PersonaError(field: path, message: error.message)
        }
        if case .identifier(let written) = first.kind, written == field, case .end = second.kind {
            return
        }
        if case .keyword = first.kind, case .end = second.kind {
            throw PersonaError(field: path, message: "'\(first.text)' is a keyword of the rule language, not a field")
        }
        throw PersonaError(
            field: path,
            message: "expected one field path such as \"traits.tier\" or \"attributes.goal\", with nothing around it, but found \"\(field)\""
        )
    }

    /// `value` as a rule string literal: in double quotes, with `"` and `\` escaped. Checked by
    /// reading it back with the rule lexer, so what compiles is exactly `value`.
    static func quoted(_ value: String, path: String) throws(PersonaError) -> String {
        if value.contains(where: \.isNewline) {
            throw PersonaError(field: path, message: "a value cannot contain a line break")
        }
        var text = "\""
        for scalar in value.unicodeScalars {
            if scalar == "\"" || scalar == "\\" { text.unicodeScalars.append("\\") }
            text.unicodeScalars.append(scalar)
        }
        text.unicodeScalars.append("\"")
        var lexer = RuleLexer(text)
        if let token = try? lexer.next(), case .string(let read) = token.kind,
            read.unicodeScalars.elementsEqual(value.unicodeScalars),
            let end = try? lexer.next(), case .end = end.kind
        {
            return text
        }
        throw PersonaError(
            field: path,
            message: "cannot be written as a rule string: it has a character that joins with the quote or backslash next to it (such as U+0600–U+0605 or U+06DD)"
        )
    }

    /// `value` as a literal of the rule language for a field of `type` (number, bool or time),
    /// rebuilt from its tokens. Only literal tokens are allowed; whether they fit the field is
    /// left to the rule checker.
    static func literal(_ value: String, field: String, type: RuleType, path: String) throws(PersonaError) -> String {
        let expected: String
        switch type {
        case .int, .decimal: expected = "a number such as 30 or 2.5"
        case .bool: expected = "true or false"
        case .time:
            expected = "a date such as 2024-03-01, a date-time such as 2024-03-01T09:30:00Z or a relative date such as now-30d"
        case .string, .stringList: expected = "text"
        }
        var lexer = RuleLexer(value)
        var parts: [String] = []
        var previousIsOperand = false
        while true {
            let token: RuleToken
            do throws(RuleError) {
                token = try lexer.next()
            } catch {
                throw PersonaError(field: path, message: error.message)
            }
            switch token.kind {
            case .end:
                guard !parts.isEmpty else {
                    throw PersonaError(
                        field: path,
                        message: "empty; '\(field)' is \(RuleChecker.describe(type)), so expected \(expected)")
                }
                return parts.joined(separator: " ")
            case .symbol(.plus), .symbol(.minus):
                parts.append(token.text)
                previousIsOperand = false
            case .integer, .decimal, .date, .duration, .string, .keyword(.true), .keyword(.false), .keyword(.now):
                if previousIsOperand {
                    throw PersonaError(
                        field: path,
                        message: "\"\(value)\" is more than one value; for '\(field)' expected \(expected) (with 'in' and 'not in', each value is an entry of its own)"
                    )
                }
                parts.append(token.text)
                previousIsOperand = true
            default:
                throw PersonaError(
                    field: path,
                    message: "\"\(value)\" is not a value for '\(field)', which is \(RuleChecker.describe(type)): expected \(expected)"
                )
            }
        }
    }

    /// The number of Characters in `text` when it is more than `limit`, else nil. Short text
    /// (a Character is at least one UTF-8 byte) is not counted.
    private static func length(_ text: String, over limit: Int) -> Int? {
        guard text.utf8.count > limit else { return nil }
        let count = text.count
        return count > limit ? count : nil
    }
}

/// Rule source built from parts, remembering which Characters (1-based columns, as
/// `RuleError` counts them) came from which field of the criterion. Parts are joined with
/// spaces and ASCII punctuation, which never fuse with a neighbouring Character, so the
/// columns add up.
private struct RuleSourceBuilder {
    private(set) var text = ""
    private var nextColumn = 1
    private var parts: [(columns: Range<Int>, field: String)] = []

    mutating func append(_ piece: String, for field: String? = nil) {
        let count = piece.count
        if let field { parts.append((nextColumn..<(nextColumn + count), field)) }
        text += piece
        nextColumn += count
    }

    /// The field whose text covers `column`, nil for the glue between parts.
    func part(at column: Int) -> String? {
        parts.first { $0.columns.contains(column) }?.field
    }
}

/// Scores customers against personas (MatchPersona).
public enum PersonaMatcher {
    /// The least score that counts as a match when a request does not give one.
    public static let defaultMinScore = 0.5

    /// The best persona for `subject`, if it scores at least `minScore`, and the runner-up.
    ///
    /// Order: higher score first; equal scores go to the persona whose name sorts first
    /// (Swift `String` order: Unicode canonical order, the same on every platform), then the
    /// lower id, so the result never depends on the order of `personas`.
    ///
    /// - `best`: the first persona in that order, or nil when there are no personas or its
    ///   score is below `minScore` (a score equal to `minScore` matches).
    /// - `runnerUp`: the second persona in that order, whatever its score (the proto's
    ///   runner_up is "the second highest", with no threshold); nil when `best` is nil or
    ///   there is only one persona.
    ///
    /// MatchPersonaResponse reports `best` even when it is below min_score (`matched` false);
    /// use `rank` to fill the response and `match(...).best != nil` (or
    /// `rank(...).best.score >= minScore`) for `matched`. `minScore` is expected in 0...1
    /// (validated by the caller); with NaN nothing matches.
    public static func match(
        _ subject: some RuleSubject, personas: [CompiledPersona], minScore: Double, now: Date
    ) -> (best: (persona: CompiledPersona, score: Double)?, runnerUp: (persona: CompiledPersona, score: Double)?) {
        let ranked = rank(subject, personas: personas, now: now)
        guard let best = ranked.best, best.score >= minScore else { return (nil, nil) }
        return (best, ranked.runnerUp)
    }

    /// The two highest-scoring personas in `match`'s order with no threshold: what
    /// MatchPersonaResponse's `best` and `runner_up` carry. nil only for lack of personas.
    public static func rank(
        _ subject: some RuleSubject, personas: [CompiledPersona], now: Date
    ) -> (best: (persona: CompiledPersona, score: Double)?, runnerUp: (persona: CompiledPersona, score: Double)?) {
        var best: (persona: CompiledPersona, score: Double)?
        var runnerUp: (persona: CompiledPersona, score: Double)?
        for persona in personas {
            let candidate = (persona: persona, score: persona.score(subject, now: now))
            if let current = best, !ranksBefore(candidate, current) {
                if runnerUp.map({ ranksBefore(candidate, $0) }) ?? true { runnerUp = candidate }
            } else {
                runnerUp = best
                best = candidate
            }
        }
        return (best, runnerUp)
    }

    /// Whether `a` comes before `b`: higher score, then name, then id.
    static func ranksBefore(_ a: (persona: CompiledPersona, score: Double), _ b: (persona: CompiledPersona, score: Double)) -> Bool {
        if a.score != b.score { return a.score > b.score }
        if a.persona.name != b.persona.name { return a.persona.name < b.persona.name }
        return a.persona.id < b.persona.id
    }
}

/// Counts customers over personas (PersonaDistribution): each customer goes to their best
/// persona (`PersonaMatcher.match`'s `best`) or, when it scores below `minScore` or there are
/// no personas, to `unmatched`. Persona ids are expected to be unique.
public struct PersonaTally: Sendable {
    public let personas: [CompiledPersona]
    public let minScore: Double
    /// Customers per persona id; every persona has an entry, 0 when none belongs to it.
    public private(set) var counts: [String: Int64]
    /// Customers whose best score is below `minScore` (all of them with no personas).
    public private(set) var unmatched: Int64 = 0
    /// Customers added: the counts and `unmatched` add up to it.
    public private(set) var total: Int64 = 0

    public init(personas: [CompiledPersona], minScore: Double) {
        self.personas = personas
        self.minScore = minScore
        var counts: [String: Int64] = [:]
        for persona in personas { counts[persona.id] = 0 }
        self.counts = counts
    }

    public mutating func add(_ subject: some RuleSubject, now: Date) {
        total += 1
        if let best = PersonaMatcher.match(subject, personas: personas, minScore: minScore, now: now).best {
            counts[best.persona.id, default: 0] += 1
        } else {
            unmatched += 1
        }
    }

    /// Every persona with its count, most customers first, equal counts by name then id:
    /// PersonaDistributionResponse's order.
    public var ranked: [(persona: CompiledPersona, count: Int64)] {
        personas.map { (persona: $0, count: counts[$0.id] ?? 0) }.sorted { a, b in
            if a.count != b.count { return a.count > b.count }
            if a.persona.name != b.persona.name { return a.persona.name < b.persona.name }
            return a.persona.id < b.persona.id
        }
    }
}
