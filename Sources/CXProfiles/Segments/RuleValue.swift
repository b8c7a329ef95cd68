import Foundation

/// A value a customer has for one field, as a segment rule sees it.
///
/// `int` carries integer quantities (money in minor units, counts, scores); `decimal`
/// compares with `int` exactly (see `RuleNumber`). `time` is an instant.
public enum RuleValue: Sendable, Equatable {
    case string(String)
    case int(Int64)
    case decimal(Double)
    case bool(Bool)
    case time(Date)
    case stringList([String])
}

/// What a rule is evaluated against: one customer, by field path.
///
/// Field paths are exactly as the schema spells them: `city`, `traits.lifetime_spend`,
/// `attributes.goal` (the attribute key as the rule wrote it). Return nil when the customer
/// has no value for the field; a comparison with an absent field is false (see
/// `CompiledRule`). A value of the wrong kind for the field (an `.int` for `city`) is treated
/// as absent by comparisons, and as present by `exists`.
public protocol RuleSubject {
    func ruleValue(for field: String) -> RuleValue?
}

/// Text as segment rules compare it: `==`, `!=`, `in`, `contains` and `starts_with` on text
/// compare `normalize(a)` with `normalize(b)`. String literals are normalised once, when the
/// rule is compiled; the customer's values when the rule is evaluated.
///
/// The same rules as the CX text conventions (DESIGN.md) but kept to what a rule needs and
/// internal to this module: lowercased, Unicode NFC, Arabic yeh ي (U+064A) and alef maksura
/// ى (U+0649) → Persian yeh ی (U+06CC), Arabic kaf ك (U+0643) → Persian keheh ک (U+06A9),
/// Persian (U+06F0–U+06F9) and Arabic-Indic (U+0660–U+0669) digits → ASCII. The zero-width
/// non-joiner (U+200C) is kept: "می‌خواهم" and "میخواهم" stay different.
enum RuleText {
    static func normalize(_ text: String) -> String {
        // One scan decides how much work the text needs; most values (ASCII, or plain
        // Persian without harakat) need little or none, and evaluation runs this for every
        // customer string a rule compares.
        var hasASCIIUpper = false
        var needsMapping = false
        var needsFullPath = false
        var isASCII = true
        for scalar in text.unicodeScalars {
            let value = scalar.value
            if value < 0x80 {
                if value >= 0x41 && value <= 0x5A { hasASCIIUpper = true }
                continue
            }
            isASCII = false
            switch value {
            case 0x064A, 0x0649, 0x0643, 0x06F0...0x06F9, 0x0660...0x0669:
                needsMapping = true
            case 0x0610...0x061A, 0x064B...0x065F, 0x0670, 0x06D6...0x06ED:
                // Arabic combining marks: may need canonical reordering or composition.
                needsFullPath = true
            case 0x0600...0x06FF, 0x200C, 0x200D:
                // Arabic-script letters, punctuation and digits: already NFC, no case.
                break
            case 0x80..<0x300:
                // Latin-1 and Latin Extended: NFC-stable, but may have case.
                if scalar.properties.changesWhenLowercased { needsFullPath = true }
            default:
                needsFullPath = true
            }
        }
        if isASCII {
            return hasASCIIUpper ? text.lowercased() : text
        }
        var result = text
        if needsFullPath {
            // Lowercase first: lowercasing can leave decomposed sequences (İ → i + U+0307)
            // that NFC then composes where a composed form exists.
            result = result.lowercased().precomposedStringWithCanonicalMapping
            needsMapping = true
        } else if hasASCIIUpper {
            result = result.lowercased()
        }
        guard needsMapping else { return result }
        var mapped = String.UnicodeScalarView()
        for scalar in result.unicodeScalars {
            mapped.append(comparisonForm(of: scalar))
        }
        return String(mapped)
    }

    private static func comparisonForm(of scalar: Unicode.Scalar) -> Unicode.Scalar {
        switch scalar.value {
        case 0x064A, 0x0649: return "\u{06CC}"
        case 0x0643: return "\u{06A9}"
        case 0x06F0...0x06F9: return Unicode.Scalar(UInt8(0x30 + scalar.value - 0x06F0))
        case 0x0660...0x0669: return Unicode.Scalar(UInt8(0x30 + scalar.value - 0x0660))
        default: return scalar
        }
    }

    /// Whether normalised `text` contains normalised `part`. Matching is by Unicode scalars,
    /// but a match never begins or ends inside a letter + combining-mark cluster: "e" is not
    /// found in "é", while "علی" is found in "علی‌رضا" (a ZWNJ is not a mark, so it is a
    /// boundary). Empty `part` is contained in everything.
    static func contains(_ text: String, _ part: String) -> Bool {
        if part.isEmpty { return true }
        let scalars = text.unicodeScalars
        var start = scalars.startIndex
        while start != scalars.endIndex {
            if let end = matchEnd(scalars, from: start, part.unicodeScalars),
                isBoundary(scalars, start), isBoundary(scalars, end)
            {
                return true
            }
            scalars.formIndex(after: &start)
        }
        return false
    }

    /// Whether normalised `text` starts with normalised `part`, with the same rule as
    /// `contains` for where a match may end.
    static func hasPrefix(_ text: String, _ part: String) -> Bool {
        if part.isEmpty { return true }
        let scalars = text.unicodeScalars
        guard let end = matchEnd(scalars, from: scalars.startIndex, part.unicodeScalars) else { return false }
        return isBoundary(scalars, end)
    }

    private static func matchEnd(
        _ text: String.UnicodeScalarView, from start: String.UnicodeScalarView.Index,
        _ part: String.UnicodeScalarView
    ) -> String.UnicodeScalarView.Index? {
        var index = start
        for scalar in part {
            guard index != text.endIndex, text[index] == scalar else { return nil }
            text.formIndex(after: &index)
        }
        return index
    }

    /// Whether a match may begin or end at `index`: not where a combining mark follows.
    private static func isBoundary(_ text: String.UnicodeScalarView, _ index: String.UnicodeScalarView.Index) -> Bool {
        guard index != text.endIndex else { return true }
        let scalar = text[index]
        if scalar.value < 0x300 { return true }
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: return false
        default: return true
        }
    }
}
