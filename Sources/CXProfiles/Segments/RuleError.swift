import Foundation

/// A syntax or type error in a segment rule, at a 1-based line and column. Columns count
/// Characters (grapheme clusters), so Persian text before the error does not shift it;
/// "\r\n" is one line break.
///
/// `description` is `line 2, column 14: expected a value after '>=' but found 'and'`.
public struct RuleError: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public var message: String

    public init(line: Int, column: Int, message: String) {
        self.line = line
        self.column = column
        self.message = message
    }

    init(at position: RulePosition, _ message: String) {
        self.init(line: position.line, column: position.column, message: message)
    }

    public var description: String { "line \(line), column \(column): \(message)" }
}

/// The bounds a rule must stay within to compile. Errors name the limit they hit.
public struct RuleLimits: Sendable, Equatable {
    /// Characters (grapheme clusters) in the source.
    public var maxSourceLength: Int
    /// How deep parentheses and `not` may nest (`not (a or not b)` is 3 deep).
    public var maxNestingDepth: Int
    /// Elements in one list literal.
    public var maxListElements: Int

    public init(maxSourceLength: Int = 4096, maxNestingDepth: Int = 32, maxListElements: Int = 256) {
        self.maxSourceLength = maxSourceLength
        self.maxNestingDepth = maxNestingDepth
        self.maxListElements = maxListElements
    }

    public static let `default` = RuleLimits()
}

/// A 1-based line and column (in Characters) in rule source.
struct RulePosition: Sendable, Equatable {
    var line: Int
    var column: Int
}
