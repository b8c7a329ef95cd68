extension CXText {
    /// The columns `text` takes in a terminal's fixed-width font, for
    /// lining up tables: one per character, Persian and Arabic letters
    /// included (a letter's diacritics and a zero-width non-joiner belong to
    /// it, as Swift counts characters); none for invisible marks that stand
    /// alone (the bidi marks U+200E/U+200F, isolates, a byte order mark);
    /// two for East Asian wide characters and emoji.
    public static func displayWidth(_ text: String) -> Int {
        text.reduce(0) { $0 + width(of: $1) }
    }

    private static func width(of character: Character) -> Int {
        let scalars = character.unicodeScalars
        guard let first = scalars.first else { return 0 }
        if scalars.allSatisfy({ invisible($0) }) { return 0 }
        if wide(first.value) || first.properties.isEmojiPresentation || scalars.contains(where: { $0.value == 0xFE0F }) {
            return 2
        }
        return 1
    }

    private static func invisible(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .format, .control, .nonspacingMark, .enclosingMark: true
        default: false
        }
    }

    /// East Asian Wide and Fullwidth blocks: Hangul Jamo, CJK, Hangul
    /// syllables, compatibility ideographs, fullwidth forms.
    private static func wide(_ value: UInt32) -> Bool {
        (0x1100...0x115F).contains(value) || (0x2E80...0x303E).contains(value) || (0x3041...0x33FF).contains(value)
            || (0x3400...0x4DBF).contains(value) || (0x4E00...0x9FFF).contains(value) || (0xA000...0xA4CF).contains(value)
            || (0xAC00...0xD7A3).contains(value) || (0xF900...0xFAFF).contains(value) || (0xFE30...0xFE4F).contains(value)
            || (0xFF00...0xFF60).contains(value) || (0xFFE0...0xFFE6).contains(value) || (0x20000...0x3FFFD).contains(value)
    }
}
