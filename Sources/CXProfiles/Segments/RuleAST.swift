import Foundation

/// A field path as written in a rule, with where it was written.
struct RuleFieldRef: Sendable, Equatable {
    var path: String
    var position: RulePosition
}

/// A comparison operator between a field and a value.
enum RuleOperator: String, Sendable, Equatable {
    case equal = "==", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">"
    case greaterOrEqual = ">=", `in`, notIn = "not in", contains, startsWith = "starts_with"

    /// The operator a single token spells (`not in`, two tokens, is read by the parser).
    init?(_ token: RuleToken) {
        switch token.kind {
        case .symbol(.equal): self = .equal
        case .symbol(.notEqual): self = .notEqual
        case .symbol(.less): self = .less
        case .symbol(.lessOrEqual): self = .lessOrEqual
        case .symbol(.greater): self = .greater
        case .symbol(.greaterOrEqual): self = .greaterOrEqual
        case .keyword(.in): self = .in
        case .keyword(.contains): self = .contains
        case .keyword(.startsWith): self = .startsWith
        default: return nil
        }
    }

    var isOrdering: Bool {
        switch self {
        case .less, .lessOrEqual, .greater, .greaterOrEqual: return true
        default: return false
        }
    }
}

/// A literal value on the right of a comparison.
struct RuleLiteral: Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        case string(String)
        case integer(Int64)
        case decimal(Double)
        case bool(Bool)
        /// An absolute instant, seconds since 1970.
        case date(Double)
        /// `now` plus this many seconds (negative for `now - 30d`).
        case relative(Int64)
        case list([RuleLiteral])
    }

    var kind: Kind
    var position: RulePosition
    /// As written (lists: just "[").
    var text: String

    /// The kind of value, as an error message names it: "a string", "an integer".
    var described: String {
        switch kind {
        case .string: return "a string"
        case .integer: return "an integer"
        case .decimal: return "a decimal number"
        case .bool: return "true/false"
        case .date: return "a date"
        case .relative: return "a relative date"
        case .list: return "a list"
        }
    }
}

/// A parsed rule, before type checking.
indirect enum RuleExpr: Sendable, Equatable {
    case or([RuleExpr])
    case and([RuleExpr])
    case not(RuleExpr, RulePosition)
    /// `exists field`
    case exists(RuleFieldRef)
    /// A field used on its own as a condition (valid for bool fields).
    case field(RuleFieldRef)
    /// `field op value`; the position is the operator's.
    case comparison(RuleFieldRef, RuleOperator, RulePosition, RuleLiteral)

    /// An S-expression showing the tree's shape, for tests: `(or a (and b c))`.
    var shape: String {
        switch self {
        case .or(let items): return "(or " + items.map(\.shape).joined(separator: " ") + ")"
        case .and(let items): return "(and " + items.map(\.shape).joined(separator: " ") + ")"
        case .not(let inner, _): return "(not \(inner.shape))"
        case .exists(let field): return "(exists \(field.path))"
        case .field(let field): return field.path
        case .comparison(let field, let op, _, let value):
            return "(\(op.rawValue) \(field.path) \(value.shape))"
        }
    }
}

extension RuleLiteral {
    var shape: String {
        switch kind {
        case .list(let items): return "[" + items.map(\.shape).joined(separator: " ") + "]"
        case .relative(let seconds): return "now\(seconds < 0 ? "" : "+")\(seconds)s"
        default: return text
        }
    }
}
