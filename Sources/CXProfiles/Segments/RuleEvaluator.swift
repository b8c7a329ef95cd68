import Foundation

/// The result of evaluating a rule for one customer at one instant.
public struct RuleEvaluation: Sendable, Equatable {
    /// Whether the customer is in the segment.
    public var matches: Bool
    /// The earliest instant after `now` at which `matches` may differ with no change to the
    /// customer, or nil if it never can (see `CompiledRule`).
    public var nextChange: Date?

    public init(matches: Bool, nextChange: Date?) {
        self.matches = matches
        self.nextChange = nextChange
    }
}

/// A segment rule, parsed and type-checked once, to evaluate against many customers.
///
/// ## Language
///
///     traits.tier == "gold" and traits.last_purchase_at >= now - 30d
///     city in ["Tehran", "تهران"] or (country == "IR" and not marketing_consent)
///     traits.lifetime_spend > 1000000 and exists attributes.goal and name starts_with "علی"
///     birth_date < 2000-01-01 and preferred_channels contains "sms"
///     age >= 18 and country not in ["IR", "AE"] and marketing_consent.at >= now - 1w
///
/// A condition is `field op value`, `exists field` (prefix), a bool field alone, or a
/// condition combined with `and`, `or`, `not` and parentheses. Operators: `==`, `!=`, `<`,
/// `<=`, `>`, `>=`, `in`, `not in`, `contains`, `starts_with`. Precedence, tightest first:
/// `not`, comparisons, `and`, `or`; so `a or b and c` is `a or (b and c)`, and a comparison
/// must be parenthesised to be negated: `not (city == "x")` (`not city == "x"` is an error
/// saying so). Keywords are case-insensitive; field paths are not. The field is always on
/// the left, a literal value on the right. See `RuleParser` for the grammar, `RuleChecker`
/// for the type rules, `RuleLexer` for literals.
///
/// Text comparisons (`==`, `!=`, `in`, `not in`, `contains`, `starts_with`) compare
/// normalised text (`RuleText.normalize`: case, NFC, Arabic/Persian letter variants,
/// digits). `contains` on text finds a substring that neither begins nor ends inside a
/// letter + combining-mark cluster ("e" is not in "é"; "علی" is in "علی‌رضا"); on a list of
/// strings it tests for an element.
/// Numbers: integers and decimals compare exactly with each other. Dates without a time are
/// midnight UTC; date-times must carry a zone (`Z` or `+03:30`).
///
/// ## Missing fields
///
/// Every comparison with a field the customer does not have is false, `!=` and `not in`
/// included (so is a comparison with a value of the wrong kind, such as `.int` for `city`); a
/// bool field alone is false when missing. `exists field` is true exactly when the customer
/// has the field. `not` inverts its operand's result, whatever made it false: `city !=
/// "Tehran"` is false for a customer with no city, `not (city == "Tehran")` is true.
///
/// ## Time
///
/// `now ± duration` is resolved when the rule is evaluated, from `now` truncated to the whole
/// second (Unix time), so the result of a rule only ever changes on a whole second.
/// `nextChange` is then exact for each time comparison: **the first whole second strictly
/// after `now` at which the comparison's result differs from its result at `now`**, or nil
/// when it never will. For `t >= now - 30d` with `t` a whole second: true until and including
/// `t + 30d`, nextChange `t + 30d + 1s`; for `t > now - 30d`: nextChange `t + 30d`.
/// An age (`age`, whole years at `now` from `birth_date`; see `RuleAge` for the calendar)
/// only grows, so a comparison on it changes at most at a birthday: nextChange is midnight
/// UTC of the first birthday on which the result differs (`age >= 18` at 17: the 18th
/// birthday; at 18: nil), a 29 February birthday falling on 1 March in common years.
/// Comparisons with absolute dates, and all other conditions, never change by themselves
/// (nil). Combinations: `not` passes its operand's through; a true `and` (false `or`) takes
/// the earliest of its children's; a false `and` (true `or`) takes the latest of its false
/// (true) children's, or nil if one of those never changes, since the result cannot differ
/// before all of them have. A re-check at nextChange may find the result unchanged; the
/// result never changes before it.
public struct CompiledRule: Sendable {
    /// The rule as written.
    public let source: String
    /// Every field path the rule reads (`exists` included), as written: `traits.tier`,
    /// `attributes.goal`; and the fields those are computed from or stored in (`age` adds
    /// `birth_date`; `marketing_consent.given` adds `marketing_consent`). A rule need only be
    /// re-evaluated when one of these changes (or at `nextChange`).
    public let fields: Set<String>
    /// The number of leaf conditions (comparisons, `exists`, bool fields).
    public let conditionCount: Int
    /// Whether the rule uses `now` or an age (so its result may change with time alone).
    public let usesRelativeTime: Bool

    let root: RuleNode

    /// Parses and type-checks `source`. Errors carry a line and column (see `RuleError`).
    public static func compile(
        _ source: String, schema: RuleSchema = .customer, limits: RuleLimits = .default
    ) throws(RuleError) -> CompiledRule {
        let expr = try parse(source, limits: limits)
        var checker = RuleChecker(schema: schema)
        let root = try checker.check(expr)
        return CompiledRule(
            source: source, fields: checker.fields, conditionCount: checker.conditionCount,
            usesRelativeTime: checker.usesRelativeTime, root: root)
    }

    /// Parses without type checking (exposed to tests).
    static func parse(_ source: String, limits: RuleLimits) throws(RuleError) -> RuleExpr {
        try checkLength(source, limit: limits.maxSourceLength)
        var parser = try RuleParser(source, limits: limits)
        return try parser.parseRule()
    }

    private static func checkLength(_ source: String, limit: Int) throws(RuleError) {
        // A Character is at least one UTF-8 byte: short sources need no count.
        guard source.utf8.count > limit else { return }
        var count = 0
        var line = 1
        var column = 1
        for c in source {
            if count == limit {
                throw RuleError(
                    line: line, column: column,
                    message: "the rule is longer than \(limit) characters (the source length limit)")
            }
            count += 1
            if c.isNewline {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
    }

    /// Whether `subject` is in the segment at `now`, and when that may next change by time
    /// alone. Does not parse or allocate beyond normalising the customer's text values.
    public func evaluate(_ subject: some RuleSubject, now: Date) -> RuleEvaluation {
        let nowSecond = now.timeIntervalSinceReferenceDate.rounded(.down)
        let outcome = root.evaluate(subject, nowSecond: nowSecond)
        return RuleEvaluation(
            matches: outcome.value,
            nextChange: outcome.next.map { Date(timeIntervalSinceReferenceDate: $0) })
    }
}

// MARK: - The evaluated tree

enum RuleRelation: Sendable, Equatable {
    case equal, notEqual, less, lessOrEqual, greater, greaterOrEqual

    /// Whether the relation holds for `order` (-1: left < right, 0: equal, 1: left > right).
    func holds(_ order: Int) -> Bool {
        switch self {
        case .equal: return order == 0
        case .notEqual: return order != 0
        case .less: return order < 0
        case .lessOrEqual: return order <= 0
        case .greater: return order > 0
        case .greaterOrEqual: return order >= 0
        }
    }
}

enum RuleNumber: Sendable, Equatable {
    case int(Int64)
    case decimal(Double)
}

/// A checked rule, ready to evaluate. String literals are normalised; times are seconds
/// since 2001-01-01 (`Date`'s reference date); relative times are offsets from now.
indirect enum RuleNode: Sendable {
    case and([RuleNode])
    case or([RuleNode])
    case not(RuleNode)
    case exists(String)
    case isTrue(String, equals: Bool)
    case boolIn(String, allowsTrue: Bool, allowsFalse: Bool)
    case stringEquals(String, String, equal: Bool)
    /// `in`, or `not in` when negated (false all the same when the field is missing).
    case stringIn(String, Set<String>, negated: Bool)
    case stringContains(String, String)
    case stringStartsWith(String, String)
    case listContains(String, String)
    case number(String, RuleRelation, RuleNumber)
    case numberIn(String, [RuleNumber], negated: Bool)
    case time(String, RuleRelation, Double)
    case timeRelative(String, RuleRelation, Double)
    case timeIn(String, [Double], negated: Bool)
    /// A comparison of the age (`RuleAge`) of the time field named with a number.
    case age(String, RuleRelation, RuleNumber)
    case ageIn(String, [RuleNumber], negated: Bool)

    struct Outcome {
        var value: Bool
        /// Whole seconds since the reference date.
        var next: Double?

        static let no = Outcome(value: false, next: nil)
        static func fixed(_ value: Bool) -> Outcome { Outcome(value: value, next: nil) }
    }

    func evaluate<Subject: RuleSubject>(_ subject: Subject, nowSecond: Double) -> Outcome {
        switch self {
        case .and(let children):
            // True: changes when any child does. False: cannot change before every false
            // child has; one that never changes keeps it false for good.
            var earliest: Double?
            var latestFalse: Double?
            var allTrue = true
            for child in children {
                let outcome = child.evaluate(subject, nowSecond: nowSecond)
                if outcome.value {
                    if let next = outcome.next { earliest = min(earliest ?? next, next) }
                } else {
                    guard let next = outcome.next else { return .no }
                    allTrue = false
                    latestFalse = max(latestFalse ?? next, next)
                }
            }
            return allTrue ? Outcome(value: true, next: earliest) : Outcome(value: false, next: latestFalse)

        case .or(let children):
            var earliest: Double?
            var latestTrue: Double?
            var anyTrue = false
            for child in children {
                let outcome = child.evaluate(subject, nowSecond: nowSecond)
                if outcome.value {
                    guard let next = outcome.next else { return .fixed(true) }
                    anyTrue = true
                    latestTrue = max(latestTrue ?? next, next)
                } else if let next = outcome.next {
                    earliest = min(earliest ?? next, next)
                }
            }
            return anyTrue ? Outcome(value: true, next: latestTrue) : Outcome(value: false, next: earliest)

        case .not(let inner):
            let outcome = inner.evaluate(subject, nowSecond: nowSecond)
            return Outcome(value: !outcome.value, next: outcome.next)

        case .exists(let field):
            return .fixed(subject.ruleValue(for: field) != nil)

        case .isTrue(let field, let expected):
            guard case .bool(let value)? = subject.ruleValue(for: field) else { return .no }
            return .fixed(value == expected)

        case .boolIn(let field, let allowsTrue, let allowsFalse):
            guard case .bool(let value)? = subject.ruleValue(for: field) else { return .no }
            return .fixed(value ? allowsTrue : allowsFalse)

        case .stringEquals(let field, let literal, let equal):
            guard case .string(let value)? = subject.ruleValue(for: field) else { return .no }
            return .fixed((RuleText.normalize(value) == literal) == equal)

        case .stringIn(let field, let literals, let negated):
            guard case .string(let value)? = subject.ruleValue(for: field) else { return .no }
            return .fixed(literals.contains(RuleText.normalize(value)) != negated)

        case .stringContains(let field, let literal):
            guard case .string(let value)? = subject.ruleValue(for: field) else { return .no }
            return .fixed(RuleText.contains(RuleText.normalize(value), literal))

        case .stringStartsWith(let field, let literal):
            guard case .string(let value)? = subject.ruleValue(for: field) else { return .no }
            return .fixed(RuleText.hasPrefix(RuleText.normalize(value), literal))

        case .listContains(let field, let literal):
            guard case .stringList(let values)? = subject.ruleValue(for: field) else { return .no }
            for value in values where RuleText.normalize(value) == literal { return .fixed(true) }
            return .fixed(false)

        case .number(let field, let relation, let literal):
            guard let value = subject.ruleValue(for: field), let order = Self.compare(value, literal) else {
                return .no
            }
            return .fixed(relation.holds(order))

        case .numberIn(let field, let literals, let negated):
            // Not a number (or NaN): absent, for `not in` too.
            guard let value = subject.ruleValue(for: field), Self.compare(value, .int(0)) != nil else { return .no }
            return .fixed(literals.contains { Self.compare(value, $0) == 0 } != negated)

        case .time(let field, let relation, let instant):
            guard case .time(let date)? = subject.ruleValue(for: field) else { return .no }
            let t = date.timeIntervalSinceReferenceDate
            guard !t.isNaN else { return .no }
            return .fixed(relation.holds(t < instant ? -1 : (t == instant ? 0 : 1)))

        case .timeIn(let field, let instants, let negated):
            guard case .time(let date)? = subject.ruleValue(for: field) else { return .no }
            let t = date.timeIntervalSinceReferenceDate
            guard !t.isNaN else { return .no }
            return .fixed(instants.contains(t) != negated)

        case .age(let field, let relation, let literal):
            return Self.ageOutcome(subject, field, nowSecond: nowSecond, thresholds: RuleAge.thresholds(literal)) { age in
                Self.compare(.int(age), literal).map(relation.holds) ?? false
            }

        case .ageIn(let field, let literals, let negated):
            return Self.ageOutcome(subject, field, nowSecond: nowSecond, thresholds: literals.flatMap(RuleAge.thresholds)) { age in
                literals.contains { Self.compare(.int(age), $0) == 0 } != negated
            }

        case .timeRelative(let field, let relation, let offset):
            guard case .time(let date)? = subject.ruleValue(for: field) else { return .no }
            let t = date.timeIntervalSinceReferenceDate
            guard t.isFinite else { return .no }
            // `t op now + offset` ⟺ `now op' boundary`; now is a whole second.
            let boundary = t - offset
            switch relation {
            case .greater:  // now < boundary
                return nowSecond < boundary
                    ? Outcome(value: true, next: boundary.rounded(.up)) : .no
            case .greaterOrEqual:  // now <= boundary
                return nowSecond <= boundary
                    ? Outcome(value: true, next: boundary.rounded(.down) + 1) : .no
            case .less:  // now > boundary
                return nowSecond > boundary
                    ? .fixed(true) : Outcome(value: false, next: boundary.rounded(.down) + 1)
            case .lessOrEqual:  // now >= boundary
                return nowSecond >= boundary
                    ? .fixed(true) : Outcome(value: false, next: boundary.rounded(.up))
            case .equal, .notEqual:
                return .no  // rejected by the checker
            }
        }
    }

    /// A condition on the age at `nowSecond` of the date in time field `field` (missing: false
    /// for good), whose result for each whole age is `holds`, and which can change only at
    /// the ages in `thresholds` (it is constant between two of them). `next` is the birthday
    /// on which the customer first reaches an age with the other result: exact, as for
    /// `timeRelative`, because age only grows with time.
    static func ageOutcome<Subject: RuleSubject>(
        _ subject: Subject, _ field: String, nowSecond: Double, thresholds: [Int64], holds: (Int64) -> Bool
    ) -> Outcome {
        guard case .time(let date)? = subject.ruleValue(for: field),
            let birth = RuleAge.day(referenceSeconds: date.timeIntervalSinceReferenceDate),
            let today = RuleAge.day(referenceSeconds: nowSecond)
        else { return .no }
        let age = RuleAge.years(from: birth, to: today)
        let value = holds(age)
        for threshold in thresholds.sorted() where threshold > age && holds(threshold) != value {
            // Only an age a million years away has no birthday here: never, in practice.
            return Outcome(value: value, next: RuleAge.birthday(birth, age: threshold))
        }
        return .fixed(value)
    }

    /// -1, 0 or 1 as `value` is below, equal to or above `literal`; nil when `value` is not a
    /// number (or NaN). Integers and decimals compare exactly, with no rounding through Double.
    static func compare(_ value: RuleValue, _ literal: RuleNumber) -> Int? {
        switch (value, literal) {
        case (.int(let a), .int(let b)):
            return a < b ? -1 : (a == b ? 0 : 1)
        case (.int(let a), .decimal(let b)):
            return compare(int: a, double: b)
        case (.decimal(let a), .int(let b)):
            return compare(int: b, double: a).map { -$0 }
        case (.decimal(let a), .decimal(let b)):
            guard !a.isNaN && !b.isNaN else { return nil }
            return a < b ? -1 : (a == b ? 0 : 1)
        default:
            return nil
        }
    }

    static func compare(int i: Int64, double d: Double) -> Int? {
        if d.isNaN { return nil }
        if d >= 9_223_372_036_854_775_808.0 { return -1 }
        if d < -9_223_372_036_854_775_808.0 { return 1 }
        let whole = d.rounded(.down)
        let wholeInt = Int64(whole)
        if i < wholeInt { return -1 }
        if i > wholeInt { return 1 }
        return d > whole ? -1 : 0
    }
}
