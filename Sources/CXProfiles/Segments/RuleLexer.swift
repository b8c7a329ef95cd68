import CXModel
import Foundation

enum RuleKeyword: String, Sendable {
    case and, or, not, `in`, contains, startsWith = "starts_with", exists, `true`, `false`, now
}

enum RuleSymbol: String, Sendable {
    case equal = "==", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">"
    case greaterOrEqual = ">=", openParen = "(", closeParen = ")", openBracket = "["
    case closeBracket = "]", comma = ",", plus = "+", minus = "-"
}

enum RuleTokenKind: Sendable, Equatable {
    /// A field path, dots included: `traits.tier`, `attributes.هدف`.
    case identifier(String)
    case keyword(RuleKeyword)
    case string(String)
    case integer(Int64)
    case decimal(Double)
    /// An ISO-8601 date or date-time, as seconds since 1970.
    case date(Double)
    /// `30d` and the like, in seconds.
    case duration(Int64)
    case symbol(RuleSymbol)
    case end
}

struct RuleToken: Sendable {
    var kind: RuleTokenKind
    var position: RulePosition
    /// The token as written.
    var text: String

    /// The token as an error message names it.
    var described: String {
        switch kind {
        case .end: return "the end of the rule"
        case .string:
            let shown = text.count > 24 ? String(text.prefix(22)) + "…\"" : text
            return "the string \(shown)"
        default: return "'\(text)'"
        }
    }
}

/// Splits rule source into tokens, one at a time (the parser pulls them, so errors come in
/// source order).
///
/// Tokens: field paths (a first segment of letters, digits and `_` starting with a letter or
/// `_`, then `.`-separated segments that may also contain `-` and start with a digit),
/// keywords (case-insensitive, only as a single-segment word), strings in double quotes with
/// `\"` and `\\` escapes, no line breaks), integers and decimals (digits may be ASCII,
/// Persian or Arabic-Indic), ISO-8601 dates (`2024-01-31`, `2024-01-31T10:00:00Z`,
/// `2024-01-31T10:00:00+03:30`), durations (`30d`; units s, m, h, d, w, lowercase) and
/// `== != < <= > >= ( ) [ ] , + -`. Whitespace and invisible direction marks (LRM, RLM, ALM,
/// BOM, bidi embeddings and isolates) separate tokens.
struct RuleLexer {
    private let chars: [Character]
    private var index = 0
    private var line = 1
    private var column = 1

    init(_ source: String) {
        chars = Array(source)
    }

    private var position: RulePosition { RulePosition(line: line, column: column) }

    private func peek(_ offset: Int = 0) -> Character? {
        let i = index + offset
        return i < chars.count ? chars[i] : nil
    }

    private mutating func advance() {
        guard index < chars.count else { return }
        if chars[index].isNewline {
            line += 1
            column = 1
        } else {
            column += 1
        }
        index += 1
    }

    private func text(from start: Int) -> String {
        String(chars[start..<index])
    }

    mutating func next() throws(RuleError) -> RuleToken {
        while let c = peek(), Self.isSpace(c) { advance() }
        let start = position
        let startIndex = index
        guard let c = peek() else { return RuleToken(kind: .end, position: start, text: "") }

        if Self.isIdentifierStart(c) {
            return try identifier(start: start, startIndex: startIndex)
        }
        if Self.digitValue(c) != nil {
            return try number(start: start, startIndex: startIndex)
        }
        if c.unicodeScalars.first == "\"" {
            return try string(start: start, startIndex: startIndex)
        }
        advance()
        func symbol(_ s: RuleSymbol) -> RuleToken {
            RuleToken(kind: .symbol(s), position: start, text: s.rawValue)
        }
        switch c {
        case "=":
            guard peek() == "=" else {
                throw RuleError(at: start, "unexpected '='; use '==' to compare")
            }
            advance()
            return symbol(.equal)
        case "!":
            guard peek() == "=" else {
                throw RuleError(at: start, "unexpected '!'; use '!=' to compare or 'not' to negate")
            }
            advance()
            return symbol(.notEqual)
        case "<":
            if peek() == "=" {
                advance()
                return symbol(.lessOrEqual)
            }
            return symbol(.less)
        case ">":
            if peek() == "=" {
                advance()
                return symbol(.greaterOrEqual)
            }
            return symbol(.greater)
        case "(": return symbol(.openParen)
        case ")": return symbol(.closeParen)
        case "[": return symbol(.openBracket)
        case "]": return symbol(.closeBracket)
        case ",": return symbol(.comma)
        case "+": return symbol(.plus)
        case "-": return symbol(.minus)
        case "&":
            throw RuleError(at: start, "unexpected '&'; use 'and'")
        case "|":
            throw RuleError(at: start, "unexpected '|'; use 'or'")
        case "'", "“", "”", "«", "»", "‘", "’":
            throw RuleError(at: start, "unexpected '\(c)'; strings are written in straight double quotes: \"...\"")
        default:
            throw RuleError(at: start, "unexpected character '\(c)'")
        }
    }

    // MARK: - Field paths and keywords

    private mutating func identifier(start: RulePosition, startIndex: Int) throws(RuleError) -> RuleToken {
        while let c = peek(), Self.isIdentifierContinue(c) { advance() }
        var segments = 1
        while peek() == "." {
            guard let after = peek(1), Self.isKeyCharacter(after) else {
                let dot = RulePosition(line: line, column: column)
                throw RuleError(at: dot, "expected a name after '\(text(from: startIndex)).' but found \(Self.describe(peek(1)))")
            }
            advance()
            while let c = peek(), Self.isKeyCharacter(c) { advance() }
            segments += 1
        }
        let word = text(from: startIndex)
        if segments == 1, let keyword = RuleKeyword(rawValue: word.lowercased()) {
            return RuleToken(kind: .keyword(keyword), position: start, text: word)
        }
        return RuleToken(kind: .identifier(word), position: start, text: word)
    }

    // MARK: - Numbers, durations, dates

    private mutating func number(start: RulePosition, startIndex: Int) throws(RuleError) -> RuleToken {
        var digitCount = 0
        while let c = peek(digitCount), Self.digitValue(c) != nil { digitCount += 1 }
        if digitCount == 4, peek(4) == "-", let c = peek(5), Self.digitValue(c) != nil {
            return try date(start: start, startIndex: startIndex)
        }
        var ascii = ""
        while let c = peek(), let d = Self.digitValue(c) {
            ascii.append(Character(Unicode.Scalar(UInt8(0x30 + d))))
            advance()
        }
        var isDecimal = false
        if peek() == ".", let c = peek(1), Self.digitValue(c) != nil {
            isDecimal = true
            ascii.append(".")
            advance()
            while let c = peek(), let d = Self.digitValue(c) {
                ascii.append(Character(Unicode.Scalar(UInt8(0x30 + d))))
                advance()
            }
        }
        if let c = peek(), Self.isIdentifierContinue(c) {
            // A duration: 30d, 12h.
            let unitStart = index
            while let c = peek(), Self.isIdentifierContinue(c) { advance() }
            let unit = text(from: unitStart)
            let written = text(from: startIndex)
            guard let seconds = Self.unitSeconds[unit] else {
                throw RuleError(
                    at: start,
                    "unknown time unit '\(unit)' in '\(written)'; use s (seconds), m (minutes), h (hours), d (days) or w (weeks)")
            }
            guard !isDecimal else {
                throw RuleError(at: start, "'\(written)' is not a duration: use a whole number, like 36h instead of 1.5d")
            }
            guard let amount = Int64(ascii) else {
                throw RuleError(at: start, "the duration '\(written)' is too long")
            }
            let (total, overflow) = amount.multipliedReportingOverflow(by: seconds)
            guard !overflow, total <= Self.maxDurationSeconds else {
                throw RuleError(at: start, "the duration '\(written)' is too long (the limit is 1000 years)")
            }
            return RuleToken(kind: .duration(total), position: start, text: written)
        }
        let written = text(from: startIndex)
        if isDecimal {
            guard let value = Double(ascii), value.isFinite else {
                throw RuleError(at: start, "the number '\(written)' is too large")
            }
            return RuleToken(kind: .decimal(value), position: start, text: written)
        }
        guard let value = Int64(ascii) else {
            throw RuleError(at: start, "the number '\(written)' is too large (the largest integer is \(Int64.max))")
        }
        return RuleToken(kind: .integer(value), position: start, text: written)
    }

    static let unitSeconds: [String: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800]
    /// 1000 years of 366 days: far enough for any rule, small enough that `now ± it` is a
    /// representable date.
    static let maxDurationSeconds: Int64 = 1000 * 366 * 86_400

    private mutating func date(start: RulePosition, startIndex: Int) throws(RuleError) -> RuleToken {
        var ascii: [UInt8] = []
        while let c = peek() {
            if let d = Self.digitValue(c) {
                ascii.append(UInt8(0x30 + d))
            } else if let scalar = c.unicodeScalars.first, c.unicodeScalars.count == 1,
                "-:.+TtZz".unicodeScalars.contains(scalar)
            {
                ascii.append(UInt8(scalar.value))
            } else {
                break
            }
            advance()
        }
        let written = text(from: startIndex)
        switch RuleDateParser.parse(ascii) {
        case .success(let seconds):
            return RuleToken(kind: .date(seconds), position: start, text: written)
        case .failure(let problem):
            throw RuleError(at: start, "'\(written)' is not a valid date: \(problem.message)")
        }
    }

    // MARK: - Strings

    private mutating func string(start: RulePosition, startIndex: Int) throws(RuleError) -> RuleToken {
        var value = ""
        // The opening quote may have absorbed a following combining mark or ZWNJ into its
        // Character; those belong to the string's content.
        if let opening = peek() {
            for scalar in opening.unicodeScalars.dropFirst() { value.unicodeScalars.append(scalar) }
        }
        advance()
        while true {
            guard let c = peek(), !c.isNewline else {
                throw RuleError(
                    at: start,
                    "unterminated string: expected a closing '\"' before the end of the \(peek() == nil ? "rule" : "line")")
            }
            let first = c.unicodeScalars.first
            if first == "\"" {
                advance()
                if c.unicodeScalars.count > 1 {
                    throw RuleError(at: start, "unexpected mark right after the closing '\"' of this string")
                }
                return RuleToken(kind: .string(value), position: start, text: text(from: startIndex))
            }
            if first == "\\" {
                let escapePosition = position
                advance()
                guard let escaped = peek(), !escaped.isNewline,
                    escaped.unicodeScalars.first == "\"" || escaped.unicodeScalars.first == "\\"
                else {
                    let found = peek().map { $0.isNewline ? "a line break" : "'\\\($0)'" } ?? "the end of the rule"
                    throw RuleError(at: escapePosition, "unknown escape \(found) in a string; only \\\" and \\\\ are allowed")
                }
                value.append(escaped)
                advance()
                continue
            }
            value.append(c)
            advance()
        }
    }

    // MARK: - Character classes

    static func isSpace(_ c: Character) -> Bool {
        if c.isWhitespace { return true }
        guard c.unicodeScalars.count == 1, let scalar = c.unicodeScalars.first else { return false }
        switch scalar.value {
        case 0x200E, 0x200F, 0x061C, 0xFEFF, 0x202A...0x202E, 0x2066...0x2069: return true
        default: return false
        }
    }

    static func isIdentifierStart(_ c: Character) -> Bool {
        c == "_" || c.isLetter
    }

    static func isIdentifierContinue(_ c: Character) -> Bool {
        c == "_" || c.isLetter || isDigit(c)
    }

    /// A character of an attribute key (any segment after the first).
    static func isKeyCharacter(_ c: Character) -> Bool {
        isIdentifierContinue(c) || c == "-"
    }

    private static func isDigit(_ c: Character) -> Bool {
        c.unicodeScalars.first?.properties.numericType == .decimal
    }

    /// The value of an ASCII, Persian or Arabic-Indic digit.
    static func digitValue(_ c: Character) -> UInt32? {
        guard c.unicodeScalars.count == 1, let scalar = c.unicodeScalars.first else { return nil }
        switch scalar.value {
        case 0x30...0x39: return scalar.value - 0x30
        case 0x06F0...0x06F9: return scalar.value - 0x06F0
        case 0x0660...0x0669: return scalar.value - 0x0660
        default: return nil
        }
    }

    private static func describe(_ c: Character?) -> String {
        guard let c else { return "the end of the rule" }
        if c.isNewline { return "a line break" }
        if c.isWhitespace { return "a space" }
        return "'\(c)'"
    }
}

/// ISO-8601 dates as rules write them: `YYYY-MM-DD` (midnight UTC) or
/// `YYYY-MM-DDTHH:MM[:SS[.fraction]]` followed by `Z` or an offset `±HH:MM` / `±HHMM`.
/// A date-time without a zone is rejected rather than guessed.
enum RuleDateParser {
    struct Problem: Error {
        var message: String
    }

    static func parse(_ text: [UInt8]) -> Result<Double, Problem> {
        var i = 0
        func digits(_ count: Int) -> Int? {
            guard i + count <= text.count else { return nil }
            var value = 0
            for k in i..<(i + count) {
                let b = text[k]
                guard b >= 0x30 && b <= 0x39 else { return nil }
                value = value * 10 + Int(b - 0x30)
            }
            i += count
            return value
        }
        func accept(_ byte: UInt8) -> Bool {
            if i < text.count && text[i] == byte {
                i += 1
                return true
            }
            return false
        }
        let shape = Problem(message: "expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ")
        guard let year = digits(4), accept(0x2D), let month = digits(2), accept(0x2D), let day = digits(2)
        else { return .failure(shape) }
        guard (1...12).contains(month) else {
            return .failure(Problem(message: "month \(month) is not between 1 and 12"))
        }
        let monthDays = daysInMonth(year: year, month: month)
        guard day >= 1 && day <= monthDays else {
            return .failure(
                Problem(message: "day \(day) is not between 1 and \(monthDays) (\(String(format: "%04d-%02d", year, month)) has \(monthDays) days)"))
        }
        var seconds = Double(daysFromCivil(year: year, month: month, day: day)) * 86_400
        if i == text.count { return .success(seconds) }
        guard accept(0x54) || accept(0x74) else { return .failure(shape) }  // T or t
        guard let hour = digits(2), accept(0x3A), let minute = digits(2) else {
            return .failure(Problem(message: "expected a time HH:MM or HH:MM:SS after 'T'"))
        }
        var second = 0
        var fraction = 0.0
        if accept(0x3A) {
            guard let s = digits(2) else { return .failure(Problem(message: "expected two digits of seconds")) }
            second = s
            if accept(0x2E) {
                var scale = 0.1
                var any = false
                while i < text.count, text[i] >= 0x30 && text[i] <= 0x39 {
                    fraction += Double(text[i] - 0x30) * scale
                    scale /= 10
                    any = true
                    i += 1
                }
                guard any else { return .failure(Problem(message: "expected digits after the '.' in the seconds")) }
            }
        }
        guard hour <= 23 else { return .failure(Problem(message: "hour \(hour) is not between 0 and 23")) }
        guard minute <= 59 else { return .failure(Problem(message: "minute \(minute) is not between 0 and 59")) }
        guard second <= 59 else { return .failure(Problem(message: "second \(second) is not between 0 and 59")) }
        seconds += Double(hour * 3600 + minute * 60 + second) + fraction
        guard i < text.count else {
            return .failure(Problem(message: "a date-time needs a time zone: add 'Z' for UTC or an offset such as '+03:30'"))
        }
        if accept(0x5A) || accept(0x7A) {  // Z or z
        } else if i < text.count, text[i] == 0x2B || text[i] == 0x2D {
            let sign: Double = text[i] == 0x2B ? 1 : -1
            i += 1
            guard let offsetHours = digits(2) else {
                return .failure(Problem(message: "expected a time zone offset like +03:30"))
            }
            _ = accept(0x3A)
            guard let offsetMinutes = digits(2), offsetHours <= 23, offsetMinutes <= 59 else {
                return .failure(Problem(message: "expected a time zone offset like +03:30"))
            }
            seconds -= sign * Double(offsetHours * 3600 + offsetMinutes * 60)
        } else {
            return .failure(Problem(message: "a date-time needs a time zone: add 'Z' for UTC or an offset such as '+03:30'"))
        }
        guard i == text.count else {
            return .failure(Problem(message: "unexpected text after the time zone"))
        }
        return .success(seconds)
    }

    static func isLeapYear(_ year: Int) -> Bool { CivilDay.isLeapYear(year) }

    static func daysInMonth(year: Int, month: Int) -> Int { CivilDay.days(inMonth: month, of: year) }

    /// Days from 1970-01-01 to the given proleptic Gregorian date.
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        CivilDay(year: year, month: month, day: day).daysSince1970
    }
}
