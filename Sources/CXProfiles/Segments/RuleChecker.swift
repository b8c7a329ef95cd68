import Foundation

/// Type-checks a parsed rule against a schema and lowers it to the `RuleNode` tree the
/// evaluator runs: fields resolved, string literals normalised, lists turned into sets.
///
/// Type rules:
/// - `==`, `!=`: string with string, number (int or decimal, freely mixed) with number,
///   bool with true/false, time with an absolute date (not `now`: an instant that moves
///   every second is almost never equal to anything).
/// - `<`, `<=`, `>`, `>=`: numbers with numbers, times with dates or relative dates. Not
///   strings: text has no order a rule could rely on (the order of Persian and Latin
///   letters is an accident of code points).
/// - `in`, `not in`: a list literal whose elements all fit the field (strings, numbers,
///   bools or absolute dates); not on list fields (use `contains`).
/// - `contains`: string field with a string (substring) or string-list field with a string
///   (element). `starts_with`: string field with a string.
/// - `exists`: any field. A field alone is a condition only if it is a bool.
///
/// An age field (`age`, see `RuleSchema.ageFields`) checks as the integer it is, and is
/// lowered to `RuleNode.age`/`.ageIn` on its time field, which make the rule use relative
/// time; `exists age` is `exists birth_date`.
struct RuleChecker {
    let schema: RuleSchema
    private(set) var fields: Set<String> = []
    private(set) var conditionCount = 0
    private(set) var usesRelativeTime = false

    init(schema: RuleSchema) {
        self.schema = schema
    }

    mutating func check(_ expr: RuleExpr) throws(RuleError) -> RuleNode {
        switch expr {
        case .or(let items):
            var nodes: [RuleNode] = []
            nodes.reserveCapacity(items.count)
            for item in items { nodes.append(try check(item)) }
            return .or(nodes)
        case .and(let items):
            var nodes: [RuleNode] = []
            nodes.reserveCapacity(items.count)
            for item in items { nodes.append(try check(item)) }
            return .and(nodes)
        case .not(let inner, _):
            return .not(try check(inner))
        case .exists(let field):
            _ = try resolve(field)
            record(field)
            return .exists(schema.ageFields[field.path] ?? field.path)
        case .field(let field):
            let type = try resolve(field)
            guard type == .bool else {
                throw RuleError(
                    at: field.position,
                    "'\(field.path)' is \(Self.describe(type)), not a condition; compare it with a value (for example \(Self.example(field.path, type))) or test it with 'exists \(field.path)'"
                )
            }
            record(field)
            return .isTrue(field.path, equals: true)
        case .comparison(let field, let op, let opPosition, let value):
            let type = try resolve(field)
            var node = try comparison(field, type, op, opPosition, value)
            if let timeField = schema.ageFields[field.path] {
                switch node {
                case .number(_, let relation, let literal): node = .age(timeField, relation, literal)
                case .numberIn(_, let literals, let negated): node = .ageIn(timeField, literals, negated: negated)
                default: break  // an age is an .int: only those two get here
                }
                usesRelativeTime = true
            }
            record(field)
            return node
        }
    }

    private mutating func record(_ field: RuleFieldRef) {
        fields.insert(field.path)
        if let timeField = schema.ageFields[field.path] { fields.insert(timeField) }
        if let container = schema.storedIn[field.path] { fields.insert(container) }
        conditionCount += 1
    }

    private func resolve(_ field: RuleFieldRef) throws(RuleError) -> RuleType {
        if let type = schema.fieldType(field.path) { return type }
        for prefix in schema.openPrefixes.keys.sorted() {
            if field.path == String(prefix.dropLast()) || field.path == prefix {
                throw RuleError(at: field.position, "'\(field.path)' needs a key after it, such as '\(prefix)goal'")
            }
            if field.path.hasPrefix(prefix) {
                throw RuleError(
                    at: field.position,
                    "unknown field '\(field.path)': a key after '\(prefix)' cannot contain '.'")
            }
        }
        var message = "unknown field '\(field.path)'"
        if let suggestion = schema.suggestion(for: field.path) {
            message += " (did you mean '\(suggestion)'?)"
        }
        throw RuleError(at: field.position, message)
    }

    // MARK: - Comparisons

    private mutating func comparison(
        _ field: RuleFieldRef, _ type: RuleType, _ op: RuleOperator, _ opPosition: RulePosition,
        _ value: RuleLiteral
    ) throws(RuleError) -> RuleNode {
        let path = field.path
        switch op {
        case .equal, .notEqual, .less, .lessOrEqual, .greater, .greaterOrEqual:
            if case .list = value.kind {
                throw RuleError(
                    at: value.position,
                    "'\(op.rawValue)' compares with a single value but found a list; use 'in' to test whether '\(path)' is one of a list")
            }
            if op.isOrdering && !(type == .int || type == .decimal || type == .time) {
                throw RuleError(
                    at: opPosition,
                    "'\(op.rawValue)' needs a number or a time, but '\(path)' is \(Self.describe(type))\(type == .string ? "; text has no order in rules" : "")"
                )
            }
            let relation = Self.relation(op)
            switch (type, value.kind) {
            case (.string, .string(let s)):
                return .stringEquals(path, RuleText.normalize(s), equal: op == .equal)
            case (.int, .integer(let n)), (.decimal, .integer(let n)):
                return .number(path, relation, .int(n))
            case (.int, .decimal(let d)), (.decimal, .decimal(let d)):
                return .number(path, relation, .decimal(d))
            case (.bool, .bool(let b)):
                return .isTrue(path, equals: op == .equal ? b : !b)
            case (.time, .date(let seconds)):
                return .time(path, relation, Self.referenceSeconds(seconds))
            case (.time, .relative(let offset)):
                guard op.isOrdering else {
                    throw RuleError(
                        at: value.position,
                        "'\(op.rawValue)' with a relative date is almost never true because 'now' moves every second; use '<', '<=', '>' or '>='"
                    )
                }
                usesRelativeTime = true
                return .timeRelative(path, relation, Double(offset))
            case (.stringList, _):
                throw RuleError(
                    at: opPosition,
                    "'\(op.rawValue)' cannot compare '\(path)', which is a list of strings; use '\(path) contains \"...\"'")
            default:
                throw mismatch(field, type, op, value)
            }

        case .in, .notIn:
            guard case .list(let elements) = value.kind else {
                throw RuleError(
                    at: value.position,
                    "'\(op.rawValue)' needs a list such as [\"a\", \"b\"] after it, but found \(value.described)")
            }
            if type == .stringList {
                let contains = "\(path) contains \"...\""
                throw RuleError(
                    at: opPosition,
                    "'\(op.rawValue)' needs a single value on its left, but '\(path)' is a list of strings; use '\(op == .in ? contains : "not (\(contains))")'")
            }
            return try membership(field, type, elements, negated: op == .notIn)

        case .contains:
            guard type == .string || type == .stringList else {
                throw RuleError(
                    at: opPosition,
                    "'contains' needs a string or a list of strings, but '\(path)' is \(Self.describe(type))")
            }
            guard case .string(let s) = value.kind else {
                throw RuleError(at: value.position, "'contains' needs a string after it, but found \(value.described)")
            }
            let normalized = RuleText.normalize(s)
            return type == .string ? .stringContains(path, normalized) : .listContains(path, normalized)

        case .startsWith:
            guard type == .string else {
                throw RuleError(
                    at: opPosition, "'starts_with' needs a string, but '\(path)' is \(Self.describe(type))")
            }
            guard case .string(let s) = value.kind else {
                throw RuleError(at: value.position, "'starts_with' needs a string after it, but found \(value.described)")
            }
            return .stringStartsWith(path, RuleText.normalize(s))
        }
    }

    /// `field in [elements]`, or `not in` when `negated`.
    private func membership(
        _ field: RuleFieldRef, _ type: RuleType, _ elements: [RuleLiteral], negated: Bool
    ) throws(RuleError) -> RuleNode {
        let path = field.path
        func wrong(_ element: RuleLiteral, _ index: Int) -> RuleError {
            RuleError(
                at: element.position,
                "list element \(index + 1) is \(element.described), but '\(path)' is \(Self.describe(type))")
        }
        switch type {
        case .string:
            var set = Set<String>()
            for (i, element) in elements.enumerated() {
                guard case .string(let s) = element.kind else { throw wrong(element, i) }
                set.insert(RuleText.normalize(s))
            }
            return .stringIn(path, set, negated: negated)
        case .int, .decimal:
            var numbers: [RuleNumber] = []
            for (i, element) in elements.enumerated() {
                switch element.kind {
                case .integer(let n): numbers.append(.int(n))
                case .decimal(let d): numbers.append(.decimal(d))
                default: throw wrong(element, i)
                }
            }
            return .numberIn(path, numbers, negated: negated)
        case .bool:
            var allowsTrue = false
            var allowsFalse = false
            for (i, element) in elements.enumerated() {
                guard case .bool(let b) = element.kind else { throw wrong(element, i) }
                if b { allowsTrue = true } else { allowsFalse = true }
            }
            return .boolIn(path, allowsTrue: allowsTrue != negated, allowsFalse: allowsFalse != negated)
        case .time:
            var instants: [Double] = []
            for (i, element) in elements.enumerated() {
                guard case .date(let seconds) = element.kind else { throw wrong(element, i) }
                instants.append(Self.referenceSeconds(seconds))
            }
            return .timeIn(path, instants, negated: negated)
        case .stringList:
            // Rejected by the caller; kept total for safety.
            throw RuleError(at: field.position, "'\(negated ? "not in" : "in")' cannot be used on '\(path)', which is a list of strings")
        }
    }

    private func mismatch(_ field: RuleFieldRef, _ type: RuleType, _ op: RuleOperator, _ value: RuleLiteral) -> RuleError {
        var message = "'\(field.path)' is \(Self.describe(type)), but the value after '\(op.rawValue)' is \(value.described)"
        switch (type, value.kind) {
        case (.string, .integer), (.string, .decimal), (.string, .date):
            message += "; write text in double quotes, like \"\(value.text)\""
        case (.time, .string):
            message += "; write dates without quotes, like 2024-01-31"
        default:
            break
        }
        return RuleError(at: value.position, message)
    }

    // MARK: - Helpers

    /// Seconds since 1970 → seconds since 2001-01-01 (what `Date` stores), exact for whole
    /// seconds.
    static func referenceSeconds(_ secondsSince1970: Double) -> Double {
        secondsSince1970 - Date.timeIntervalBetween1970AndReferenceDate
    }

    static func relation(_ op: RuleOperator) -> RuleRelation {
        switch op {
        case .notEqual: return .notEqual
        case .less: return .less
        case .lessOrEqual: return .lessOrEqual
        case .greater: return .greater
        case .greaterOrEqual: return .greaterOrEqual
        default: return .equal
        }
    }

    static func describe(_ type: RuleType) -> String {
        switch type {
        case .string: return "a string"
        case .int: return "an integer"
        case .decimal: return "a decimal number"
        case .bool: return "a boolean (true/false)"
        case .time: return "a time"
        case .stringList: return "a list of strings"
        }
    }

    private static func example(_ path: String, _ type: RuleType) -> String {
        switch type {
        case .string: return "\(path) == \"...\""
        case .int, .decimal: return "\(path) > 0"
        case .bool: return path
        case .time: return "\(path) >= now - 30d"
        case .stringList: return "\(path) contains \"...\""
        }
    }
}
