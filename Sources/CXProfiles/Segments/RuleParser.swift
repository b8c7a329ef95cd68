import Foundation

/// Parses segment rule source into a `RuleExpr` (recursive descent).
///
/// Grammar (keywords case-insensitive; precedence from tightest: `not`, comparisons, `and`,
/// `or`):
///
///     rule       = or-expr END
///     or-expr    = and-expr { "or" and-expr }
///     and-expr   = unary { "and" unary }
///     unary      = "not" not-operand | condition
///     not-operand = "not" not-operand | "(" or-expr ")" | "exists" FIELD | FIELD
///     condition  = "(" or-expr ")" | "exists" FIELD | FIELD [ op value ]
///     op         = "==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not" "in" | "contains"
///                | "starts_with"
///     value      = STRING | ["-"] NUMBER | "true" | "false" | DATE | relative | list
///     relative   = "now" { ("+" | "-") DURATION }
///     list       = "[" [ element { "," element } [","] ] "]"
///     element    = STRING | ["-"] NUMBER | "true" | "false" | DATE
///
/// Because `not` binds tighter than comparisons, `not city == "x"` would mean
/// `(not city) == "x"`; that is never what a writer means, so it is an error that says to
/// write `not (city == "x")`. `exists` is prefix: `exists attributes.goal`. After a field,
/// `not` can only begin `not in`: `country not in ["IR", "AE"]`.
struct RuleParser {
    private var lexer: RuleLexer
    private var token: RuleToken
    private let limits: RuleLimits
    private var depth = 0

    init(_ source: String, limits: RuleLimits) throws(RuleError) {
        self.limits = limits
        lexer = RuleLexer(source)
        token = try lexer.next()
    }

    private mutating func advance() throws(RuleError) {
        token = try lexer.next()
    }

    mutating func parseRule() throws(RuleError) -> RuleExpr {
        if case .end = token.kind {
            throw RuleError(at: token.position, "the rule is empty; expected a condition such as traits.tier == \"gold\"")
        }
        let expr = try parseOr(after: nil)
        switch token.kind {
        case .end:
            return expr
        case .symbol(.closeParen):
            throw RuleError(at: token.position, "found ')' without a matching '('")
        default:
            throw RuleError(at: token.position, "expected 'and', 'or' or the end of the rule but found \(token.described)")
        }
    }

    private mutating func parseOr(after context: String?) throws(RuleError) -> RuleExpr {
        var items = [try parseAnd(after: context)]
        while case .keyword(.or) = token.kind {
            try advance()
            items.append(try parseAnd(after: "'or'"))
        }
        return items.count == 1 ? items[0] : .or(items)
    }

    private mutating func parseAnd(after context: String?) throws(RuleError) -> RuleExpr {
        var items = [try parseUnary(after: context)]
        while case .keyword(.and) = token.kind {
            try advance()
            items.append(try parseUnary(after: "'and'"))
        }
        return items.count == 1 ? items[0] : .and(items)
    }

    private mutating func parseUnary(after context: String?) throws(RuleError) -> RuleExpr {
        guard case .keyword(.not) = token.kind else { return try parseCondition(after: context) }
        let notToken = token
        try enterNesting(at: notToken)
        try advance()
        let operand: RuleExpr
        switch token.kind {
        case .keyword(.not):
            operand = try parseUnary(after: "'not'")
        case .keyword(.exists), .symbol(.openParen):
            operand = try parseCondition(after: "'not'")
        case .identifier(let path):
            operand = .field(RuleFieldRef(path: path, position: token.position))
            try advance()
            if let (op, opToken) = try comparisonOperator() {
                throw RuleError(
                    at: opToken.position,
                    "found '\(op.rawValue)' after '\(notToken.text) \(path)'; 'not' binds tighter than comparisons, so write 'not (\(path) \(op.rawValue) ...)' to negate a comparison"
                )
            }
        default:
            throw expectedCondition(after: "'\(notToken.text)'")
        }
        depth -= 1
        return .not(operand, notToken.position)
    }

    private mutating func parseCondition(after context: String?) throws(RuleError) -> RuleExpr {
        switch token.kind {
        case .keyword(.exists):
            let existsToken = token
            try advance()
            guard case .identifier(let path) = token.kind else {
                throw RuleError(at: token.position, "expected a field after '\(existsToken.text)' but found \(token.described)")
            }
            let field = RuleFieldRef(path: path, position: token.position)
            try advance()
            if let op = RuleOperator(token) {
                throw RuleError(
                    at: token.position,
                    "found '\(op.rawValue)' after '\(existsToken.text) \(path)', which is already a condition; 'exists' takes only a field"
                )
            }
            return .exists(field)

        case .symbol(.openParen):
            let open = token
            try enterNesting(at: open)
            try advance()
            let inner = try parseOr(after: "'('")
            guard case .symbol(.closeParen) = token.kind else {
                throw RuleError(
                    at: token.position,
                    "expected ')' to close the '(' at line \(open.position.line), column \(open.position.column) but found \(token.described)"
                )
            }
            try advance()
            depth -= 1
            if let op = RuleOperator(token) {
                throw RuleError(
                    at: token.position,
                    "found '\(op.rawValue)' after a parenthesised condition; only a field can be compared")
            }
            return inner

        case .identifier(let path):
            let field = RuleFieldRef(path: path, position: token.position)
            try advance()
            guard let (op, opToken) = try comparisonOperator() else { return .field(field) }
            let value = try parseValue(after: opToken)
            return .comparison(field, op, opToken.position, value)

        default:
            throw expectedCondition(after: context)
        }
    }

    /// The comparison operator at the current token, consumed, with a token standing for it
    /// (`not in` is two tokens; its stand-in is at the `not` and reads "not in"); nil, with
    /// nothing consumed, when the token begins no operator.
    private mutating func comparisonOperator() throws(RuleError) -> (RuleOperator, RuleToken)? {
        if let op = RuleOperator(token) {
            let opToken = token
            try advance()
            return (op, opToken)
        }
        guard case .keyword(.not) = token.kind else { return nil }
        // After a field, `not` can only begin `not in`.
        let notToken = token
        try advance()
        guard case .keyword(.in) = token.kind else {
            throw RuleError(
                at: notToken.position,
                "expected 'in' after '\(notToken.text)' (as in 'country not in [\"IR\", \"AE\"]') but found \(token.described); to negate a condition, write 'not (...)' before it"
            )
        }
        let opToken = RuleToken(kind: notToken.kind, position: notToken.position, text: "\(notToken.text) \(token.text)")
        try advance()
        return (.notIn, opToken)
    }

    private func expectedCondition(after context: String?) -> RuleError {
        if let context {
            return RuleError(at: token.position, "expected a condition after \(context) but found \(token.described)")
        }
        return RuleError(
            at: token.position,
            "expected a condition (a field, 'not', 'exists' or '(') but found \(token.described)")
    }

    private mutating func enterNesting(at token: RuleToken) throws(RuleError) {
        depth += 1
        if depth > limits.maxNestingDepth {
            throw RuleError(
                at: token.position,
                "the rule nests parentheses and 'not' more than \(limits.maxNestingDepth) deep (the nesting limit)")
        }
    }

    // MARK: - Values

    private mutating func parseValue(after opToken: RuleToken) throws(RuleError) -> RuleLiteral {
        switch token.kind {
        case .keyword(.now):
            return try parseRelative()
        case .symbol(.openBracket):
            return try parseList()
        case .identifier(let path):
            throw RuleError(
                at: token.position,
                "expected a value after '\(opToken.text)' but found the field '\(path)'; a rule compares a field with a value, not with another field (strings go in double quotes)"
            )
        default:
            guard let literal = try parseScalar() else {
                throw RuleError(at: token.position, "expected a value after '\(opToken.text)' but found \(token.described)")
            }
            return literal
        }
    }

    /// A string, number, boolean or date; nil (without consuming) if the token is none.
    private mutating func parseScalar() throws(RuleError) -> RuleLiteral? {
        let start = token
        let kind: RuleLiteral.Kind
        switch token.kind {
        case .string(let s): kind = .string(s)
        case .integer(let n): kind = .integer(n)
        case .decimal(let d): kind = .decimal(d)
        case .keyword(.true): kind = .bool(true)
        case .keyword(.false): kind = .bool(false)
        case .date(let seconds): kind = .date(seconds)
        case .symbol(.minus):
            try advance()
            switch token.kind {
            case .integer(let n): kind = .integer(-n)
            case .decimal(let d): kind = .decimal(-d)
            default:
                throw RuleError(at: token.position, "expected a number after '-' but found \(token.described)")
            }
            let literal = RuleLiteral(kind: kind, position: start.position, text: "-" + token.text)
            try advance()
            return literal
        default:
            return nil
        }
        try advance()
        return RuleLiteral(kind: kind, position: start.position, text: start.text)
    }

    private mutating func parseRelative() throws(RuleError) -> RuleLiteral {
        let nowToken = token
        var text = nowToken.text
        var offset: Int64 = 0
        try advance()
        while case .symbol(let sign) = token.kind, sign == .plus || sign == .minus {
            let signToken = token
            try advance()
            guard case .duration(let seconds) = token.kind else {
                let hint = if case .integer = token.kind { "; add a unit: s, m, h, d or w" } else { "" }
                throw RuleError(
                    at: token.position,
                    "expected a duration such as 30d, 12h or 2w after '\(signToken.text)' but found \(token.described)\(hint)")
            }
            offset += sign == .plus ? seconds : -seconds
            guard abs(offset) <= RuleLexer.maxDurationSeconds else {
                throw RuleError(at: token.position, "the relative date is too far from now (the limit is 1000 years)")
            }
            text += " \(signToken.text) \(token.text)"
            try advance()
        }
        return RuleLiteral(kind: .relative(offset), position: nowToken.position, text: text)
    }

    private mutating func parseList() throws(RuleError) -> RuleLiteral {
        let open = token
        try advance()
        var elements: [RuleLiteral] = []
        while true {
            if case .symbol(.closeBracket) = token.kind { break }
            if elements.count == limits.maxListElements {
                throw RuleError(
                    at: token.position,
                    "the list has more than \(limits.maxListElements) elements (the list size limit)")
            }
            let element: RuleLiteral
            switch token.kind {
            case .keyword(.now):
                throw RuleError(at: token.position, "a list can hold only fixed values; 'now' is not allowed in a list")
            case .symbol(.openBracket):
                throw RuleError(at: token.position, "a list cannot contain another list")
            default:
                guard let scalar = try parseScalar() else {
                    throw RuleError(
                        at: token.position,
                        "expected a value or ']' in the list opened at line \(open.position.line), column \(open.position.column) but found \(token.described)"
                    )
                }
                element = scalar
            }
            elements.append(element)
            if case .symbol(.comma) = token.kind {
                try advance()
                continue
            }
            guard case .symbol(.closeBracket) = token.kind else {
                throw RuleError(
                    at: token.position,
                    "expected ',' or ']' in the list opened at line \(open.position.line), column \(open.position.column) but found \(token.described)"
                )
            }
        }
        try advance()
        return RuleLiteral(kind: .list(elements), position: open.position, text: "[")
    }
}
