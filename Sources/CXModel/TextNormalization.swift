import Foundation

/// Text as CX compares and searches it.
///
/// Many CX users write Persian, and the same Persian word reaches us spelled with
/// different code points: Arabic keyboards type ي (U+064A) and ك (U+0643) where Persian
/// ones type ی (U+06CC) and ک (U+06A9); digits come as Persian (۰–۹), Arabic-Indic (٠–٩)
/// or ASCII; writers stretch words with tatweel (ـ) and sometimes add harakat (short-vowel
/// marks) that most text leaves out. Two strings a reader sees as the same word must
/// compare equal, so every place that stores a search key or compares names goes through
/// here, in every service and in `cxctl` alike (a key normalised differently on each side
/// would silently never match).
///
/// The zero-width non-joiner (U+200C) is kept: in Persian it separates the parts of a word
/// without a space ("می‌خواهم"), and dropping it would join letters the writer meant to keep
/// apart. Only the ZWNJs that cannot mean anything go: those at the start or end of the text
/// or beside a space, and repeats (one is as good as three).
///
/// ة (teh marbuta) is left alone: it is a different letter from ه in the words that use it.
public enum CXText {
    private static let zwnj: Unicode.Scalar = "\u{200C}"

    /// The comparison form of `s`: lowercased, Unicode NFC, Arabic letter variants mapped to
    /// their Persian forms, Persian and Arabic-Indic digits made ASCII, tatweel, harakat
    /// (U+064B–U+0652) and invisible direction marks removed, runs of whitespace collapsed
    /// to one space and trimmed from the ends. `normalize(normalize(s)) == normalize(s)`.
    public static func normalize(_ s: String) -> String {
        normalizeASCII(s) ?? normalizeScalars(s)
    }

    /// `normalize` scalar by scalar, for any text.
    static func normalizeScalars(_ s: String) -> String {
        // Lowercase first: lowercasing can produce decomposed sequences (İ → i + U+0307)
        // that NFC then composes where a composed form exists.
        let composed = s.lowercased().precomposedStringWithCanonicalMapping
        var out = String.UnicodeScalarView()
        var pendingSpace = false
        var pendingZWNJ = false
        for scalar in composed.unicodeScalars {
            if scalar.properties.isWhitespace {
                pendingSpace = true
                continue
            }
            if scalar == zwnj {
                pendingZWNJ = true
                continue
            }
            guard let mapped = comparisonForm(of: scalar) else { continue }
            if pendingSpace {
                if !out.isEmpty { out.append(" ") }  // a space beats a ZWNJ beside it
            } else if pendingZWNJ, !out.isEmpty {
                out.append(zwnj)
            }
            pendingSpace = false
            pendingZWNJ = false
            out.append(mapped)
        }
        return String(out)
    }

    /// The words of `s` to index or search by, normalised (see `normalize`), in order of first
    /// appearance, without duplicates.
    ///
    /// Words are split at whitespace, punctuation (Latin and Persian: `،` `؛` `؟` `«` `»` ...)
    /// and symbols, but not at a ZWNJ, which is part of a Persian word. A whitespace-separated
    /// piece that looks like an email address gives two tokens instead: the whole address and
    /// its local part ("Ali.Rezaei@Example.com" → "ali.rezaei@example.com", "ali.rezaei"), so a
    /// customer can be found by either without "com" matching everyone.
    ///
    /// Phone numbers get no special treatment here ("+98 912 123 4567" → "98", "912", "123",
    /// "4567"): a phone field should be indexed by `phoneDigits` instead, which does not
    /// depend on how the number was spaced.
    public static func searchTokens(_ s: String) -> [String] {
        var tokens: [String] = []
        var seen: Set<String> = []
        func add(_ scalars: Substring.UnicodeScalarView) {
            let token = String(trimmingZWNJ(scalars))
            if !token.isEmpty, seen.insert(token).inserted { tokens.append(token) }
        }
        let text = normalize(s)
        for piece in text.split(separator: " ") {
            if let email = emailParts(piece) {
                add(email.address)
                add(email.local)
                continue
            }
            let scalars = piece.unicodeScalars
            var wordStart = scalars.startIndex
            var index = scalars.startIndex
            while index < scalars.endIndex {
                if isSeparator(scalars[index]) {
                    add(scalars[wordStart..<index])
                    wordStart = scalars.index(after: index)
                }
                index = scalars.index(after: index)
            }
            add(scalars[wordStart..<scalars.endIndex])
        }
        return tokens
    }

    /// The digits of a phone number, as ASCII, with everything else dropped:
    /// "+98 ۹۱۲ ۱۲۳-۴۵۶۷" → "989121234567".
    ///
    /// Deliberately no more than that: whether "0912..." and "+98912..." are the same number
    /// depends on a default country, which is the caller's knowledge, not this function's.
    public static func phoneDigits(_ s: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in s.unicodeScalars {
            if let digit = asciiDigit(of: scalar) { out.append(digit) }
        }
        return String(out)
    }

    /// An email address in comparison form: trimmed, NFC, lowercased, with Persian and
    /// Arabic-Indic digits made ASCII. Nothing else changes: dots and `+tags` in the local part
    /// are significant to some mail servers, so two addresses that differ there stay different.
    public static func normalizeEmail(_ s: String) -> String {
        let composed = s.lowercased().precomposedStringWithCanonicalMapping
        var scalars = Substring(composed).unicodeScalars
        while let first = scalars.first, first.properties.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.properties.isWhitespace { scalars.removeLast() }
        var out = String.UnicodeScalarView()
        for scalar in scalars { out.append(asciiDigit(of: scalar) ?? scalar) }
        return String(out)
    }

    // MARK: - Pieces

    /// What `scalar` becomes in comparison form, or nil when it is dropped.
    private static func comparisonForm(of scalar: Unicode.Scalar) -> Unicode.Scalar? {
        if let digit = asciiDigit(of: scalar) { return digit }
        switch scalar.value {
        case 0x064A, 0x0649: return "\u{06CC}"  // Arabic yeh, alef maksura → Persian yeh
        case 0x0643: return "\u{06A9}"  // Arabic kaf → Persian keheh
        case 0x0640: return nil  // tatweel: stretches a word, means nothing
        case 0x064B...0x0652: return nil  // harakat: most text omits them
        // Invisible direction marks (LRM, RLM, ALM) and a stray BOM: pasted in from
        // editors and never part of a word.
        case 0x200E, 0x200F, 0x061C, 0xFEFF: return nil
        default: return scalar
        }
    }

    /// `normalize` for text that is all ASCII (most emails, many names), nil
    /// otherwise: the same result without Unicode tables. In ASCII, NFC changes
    /// nothing, lowercasing is A–Z only, comparisonForm keeps every scalar, and
    /// the whitespace is U+0009–U+000D and the space.
    static func normalizeASCII(_ s: String) -> String? {
        var s = s
        return s.withUTF8 { bytes -> String? in
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count)
            var pendingSpace = false
            for byte in bytes {
                switch byte {
                case 0x80...: return nil
                case 0x09...0x0D, 0x20:
                    pendingSpace = true
                    continue
                case 0x41...0x5A:
                    if pendingSpace, !out.isEmpty { out.append(0x20) }
                    out.append(byte + 0x20)
                default:
                    if pendingSpace, !out.isEmpty { out.append(0x20) }
                    out.append(byte)
                }
                pendingSpace = false
            }
            return String(decoding: out, as: UTF8.self)
        }
    }

    /// The ASCII digit for an ASCII, Persian (U+06F0–U+06F9) or Arabic-Indic (U+0660–U+0669)
    /// digit, nil for anything else.
    private static func asciiDigit(of scalar: Unicode.Scalar) -> Unicode.Scalar? {
        let value = scalar.value
        let offset: UInt32
        switch value {
        case 0x30...0x39: return scalar
        case 0x06F0...0x06F9: offset = value - 0x06F0
        case 0x0660...0x0669: offset = value - 0x0660
        default: return nil
        }
        return Unicode.Scalar(UInt8(0x30 + offset))
    }

    /// Whether a word ends at `scalar`: punctuation, symbols, controls. Letters, digits and
    /// combining marks continue a word, and so do format characters such as ZWNJ and ZWJ.
    private static func isSeparator(_ scalar: Unicode.Scalar) -> Bool {
        // In ASCII every scalar but a letter or digit is punctuation, a symbol,
        // a control or a space.
        if scalar.isASCII {
            switch scalar.value {
            case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return false
            default: return true
            }
        }
        switch scalar.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
            .initialPunctuation, .finalPunctuation, .otherPunctuation,
            .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol,
            .control, .spaceSeparator, .lineSeparator, .paragraphSeparator:
            return true
        default:
            return false
        }
    }

    private static func trimmingZWNJ(_ scalars: Substring.UnicodeScalarView) -> Substring.UnicodeScalarView {
        var trimmed = scalars
        while trimmed.first == zwnj { trimmed.removeFirst() }
        while trimmed.last == zwnj { trimmed.removeLast() }
        return trimmed
    }

    /// The address and local part when `piece` (one whitespace-free piece of normalised text)
    /// is an email address, possibly wrapped in punctuation ("<a@b.com>," or "a@b.com.").
    private static func emailParts(
        _ piece: Substring
    ) -> (address: Substring.UnicodeScalarView, local: Substring.UnicodeScalarView)? {
        var scalars = piece.unicodeScalars
        while let first = scalars.first, isSeparator(first) { scalars.removeFirst() }
        while let last = scalars.last, isSeparator(last) { scalars.removeLast() }
        guard let at = scalars.firstIndex(of: "@") else { return nil }
        let local = scalars[scalars.startIndex..<at]
        let domain = scalars[scalars.index(after: at)..<scalars.endIndex]
        guard !local.isEmpty, !domain.isEmpty,
            local.allSatisfy(isEmailLocalScalar),
            domain.allSatisfy(isEmailDomainScalar),
            domain.first != ".", domain.last != ".", domain.contains(".")
        else { return nil }
        return (scalars, local)
    }

    private static func isWordScalar(_ scalar: Unicode.Scalar) -> Bool {
        let properties = scalar.properties
        return properties.isAlphabetic || properties.numericType != nil
            || properties.generalCategory == .nonspacingMark || scalar == zwnj
    }

    private static func isEmailLocalScalar(_ scalar: Unicode.Scalar) -> Bool {
        isWordScalar(scalar) || "!#$%&'*+/=?^_`{|}~.-".unicodeScalars.contains(scalar)
    }

    private static func isEmailDomainScalar(_ scalar: Unicode.Scalar) -> Bool {
        isWordScalar(scalar) || scalar == "." || scalar == "-"
    }
}
