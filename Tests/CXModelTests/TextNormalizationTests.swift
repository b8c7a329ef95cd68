import Foundation
import XCTest

@testable import CXModel

/// Persian and Latin text normalised for comparison and search. Code points that look alike
/// are spelled as escapes, so the test says which one it means.
final class TextNormalizationTests: XCTestCase {
    private let arabicYeh = "\u{064A}"
    private let alefMaksura = "\u{0649}"
    private let persianYeh = "\u{06CC}"
    private let arabicKaf = "\u{0643}"
    private let persianKaf = "\u{06A9}"
    private let zwnj = "\u{200C}"

    func testArabicYehAndKafBecomePersian() {
        // علي → علی, كتاب → کتاب, مصطفى → مصطفی
        XCTAssertEqual(CXText.normalize("عل" + arabicYeh), "عل" + persianYeh)
        XCTAssertEqual(CXText.normalize(arabicKaf + "تاب"), persianKaf + "تاب")
        XCTAssertEqual(CXText.normalize("مصطف" + alefMaksura), "مصطف" + persianYeh)
        // Typed either way, the same name compares equal.
        XCTAssertEqual(
            CXText.normalize("ك" + "ريم" + " " + "علي"), CXText.normalize("ک" + "ریم" + " " + "علی"))
    }

    func testTehMarbutaIsLeftAlone() {
        XCTAssertEqual(CXText.normalize("فاطمة"), "فاطمة")
    }

    func testPersianAndArabicIndicDigitsBecomeASCII() {
        XCTAssertEqual(CXText.normalize("۰۱۲۳۴۵۶۷۸۹"), "0123456789")
        XCTAssertEqual(CXText.normalize("٠١٢٣٤٥٦٧٨٩"), "0123456789")
        XCTAssertEqual(CXText.normalize("سفارش ۱۲٣"), "سفارش 123")
    }

    func testTatweelAndHarakatAreRemoved() {
        XCTAssertEqual(CXText.normalize("کـــتاب"), "کتاب")
        // كِتَابٌ: kaf with kasra, teh with fatha, alef, beh with dammatan
        XCTAssertEqual(CXText.normalize("\u{0643}\u{0650}\u{062A}\u{064E}\u{0627}\u{0628}\u{064C}"), "کتاب")
        XCTAssertEqual(CXText.normalize("مُحَمَّد"), "محمد")  // damma, fatha, shadda, fatha
    }

    func testZeroWidthNonJoinerIsKept() {
        let mikhaham = "می" + zwnj + "خواهم"
        XCTAssertEqual(CXText.normalize(mikhaham), mikhaham)
        XCTAssertNotEqual(CXText.normalize(mikhaham), CXText.normalize("میخواهم"))
        XCTAssertEqual(CXText.normalize("کتاب" + zwnj + "ها"), "کتاب" + zwnj + "ها")
    }

    func testMeaninglessZeroWidthNonJoinersGo() {
        let mikhaham = "می" + zwnj + "خواهم"
        XCTAssertEqual(CXText.normalize(zwnj + "می" + zwnj + zwnj + zwnj + "خواهم" + zwnj), mikhaham)
        XCTAssertEqual(CXText.normalize("می" + zwnj + " " + zwnj + "خواهم"), "می خواهم")
        XCTAssertEqual(CXText.normalize(zwnj), "")
    }

    func testWhitespaceIsTrimmedAndCollapsed() {
        XCTAssertEqual(CXText.normalize("  Ali \t\n  Rezaei  "), "ali rezaei")
        XCTAssertEqual(CXText.normalize("علی\u{00A0}\u{00A0}رضایی"), "علی رضایی")  // no-break spaces
        XCTAssertEqual(CXText.normalize(" \r\n\t "), "")
        XCTAssertEqual(CXText.normalize(""), "")
    }

    func testLowercaseAndNFC() {
        XCTAssertEqual(CXText.normalize("ALI Rezaei"), "ali rezaei")
        XCTAssertEqual(CXText.normalize("Cafe\u{0301}"), "caf\u{00E9}")  // decomposed é → composed
        XCTAssertEqual(CXText.normalize("CAF\u{00C9}"), "caf\u{00E9}")
        // Arabic yeh + hamza above composes to ئ under NFC before the yeh mapping could see it.
        XCTAssertEqual(CXText.normalize("\u{064A}\u{0654}"), "\u{0626}")
    }

    func testDirectionMarksAreRemoved() {
        XCTAssertEqual(CXText.normalize("\u{200F}علی\u{200E} رضایی\u{FEFF}"), "علی رضایی")
    }

    func testNormalizeIsIdempotent() {
        let samples = [
            "  Ali.Rezaei@Example.com ", "عل" + arabicYeh + " " + arabicKaf + "ـريم", "می" + zwnj + "خواهم",
            "Cafe\u{0301}  ۱۲۳", "\u{0643}\u{0650}\u{062A}\u{064E}\u{0627}\u{0628}", zwnj + " " + zwnj + "a",
            "İstanbul",
        ]
        for sample in samples {
            let once = CXText.normalize(sample)
            XCTAssertEqual(CXText.normalize(once), once, sample)
        }
    }

    // MARK: - Search tokens

    func testTokensSplitOnWhitespaceAndPunctuation() {
        XCTAssertEqual(CXText.searchTokens("Ali, Rezaei! (Tehran)"), ["ali", "rezaei", "tehran"])
        XCTAssertEqual(CXText.searchTokens("سلام،دنیا؛ خوبی؟ «بله»"), ["سلام", "دنیا", "خوبی", "بله"])
        XCTAssertEqual(CXText.searchTokens("well-known_name/2"), ["well", "known", "name", "2"])
        XCTAssertEqual(CXText.searchTokens(""), [])
        XCTAssertEqual(CXText.searchTokens(" ,,, !! "), [])
    }

    func testTokensAreNormalisedAndUnique() {
        XCTAssertEqual(CXText.searchTokens("علي علی ALI ali"), ["علی", "ali"])
        XCTAssertEqual(CXText.searchTokens("سفارش ۱۲۳"), ["سفارش", "123"])
    }

    func testTokensKeepZeroWidthNonJoinerInsideWords() {
        let mikhaham = "می" + zwnj + "خواهم"
        XCTAssertEqual(CXText.searchTokens(mikhaham + "؟"), [mikhaham])
        XCTAssertEqual(CXText.searchTokens("کتاب" + zwnj + "، " + zwnj + "ها"), ["کتاب", "ها"])
    }

    func testEmailGivesAddressAndLocalPart() {
        XCTAssertEqual(
            CXText.searchTokens("Ali.Rezaei@Example.com"), ["ali.rezaei@example.com", "ali.rezaei"])
        XCTAssertEqual(
            CXText.searchTokens("Contact: <Ali.Rezaei+cx@Example.com>, today"),
            ["contact", "ali.rezaei+cx@example.com", "ali.rezaei+cx", "today"])
        XCTAssertEqual(CXText.searchTokens("write to ali@example.com."), ["write", "to", "ali@example.com", "ali"])
    }

    func testThingsThatAreNotEmailsAreSplit() {
        XCTAssertEqual(CXText.searchTokens("a@b"), ["a", "b"])
        XCTAssertEqual(CXText.searchTokens("@handle"), ["handle"])
        XCTAssertEqual(CXText.searchTokens("a@b@c.com"), ["a", "b", "c", "com"])
        XCTAssertEqual(CXText.searchTokens("x@.com"), ["x", "com"])
    }

    func testPhoneNumbersAreJustWordsInTokens() {
        XCTAssertEqual(CXText.searchTokens("+98 912 123 4567"), ["98", "912", "123", "4567"])
    }

    // MARK: - Phones and emails

    func testPhoneDigits() {
        XCTAssertEqual(CXText.phoneDigits("+98 912 123 4567"), "989121234567")
        XCTAssertEqual(CXText.phoneDigits("+98 ۹۱۲ ۱۲۳-۴۵۶۷"), "989121234567")
        XCTAssertEqual(CXText.phoneDigits("٠٩١٢ (١٢٣) ٤٥٦٧"), "09121234567")
        XCTAssertEqual(CXText.phoneDigits("no digits"), "")
    }

    func testNormalizeEmail() {
        XCTAssertEqual(CXText.normalizeEmail("  Ali.Rezaei@Example.COM \n"), "ali.rezaei@example.com")
        XCTAssertEqual(CXText.normalizeEmail("ali۱۲٣@example.com"), "ali123@example.com")
        XCTAssertEqual(CXText.normalizeEmail("ali+tag@example.com"), "ali+tag@example.com")
    }

    /// ASCII text takes a shortcut past the Unicode tables; it must give what
    /// the scalar-by-scalar path gives, for every ASCII byte in every position.
    func testASCIIShortcutAgreesWithTheUnicodePath() {
        var generator = SystemRandomNumberGenerator()
        let every = (0..<128).map { Character(Unicode.Scalar(UInt8($0))) }
        var samples = ["", " ", "  Ali  REZAEI ", "\tA\r\nB\u{0B}c\u{0C}", "x\u{1F}y", "Ali.Rezaei@Example.COM", String(every)]
        for _ in 0..<2_000 {
            samples.append(String((0..<Int.random(in: 0...12, using: &generator)).map { _ in every.randomElement(using: &generator)! }))
        }
        for sample in samples {
            XCTAssertEqual(CXText.normalizeASCII(sample), CXText.normalizeScalars(sample), "for \(sample.debugDescription)")
        }
        XCTAssertNil(CXText.normalizeASCII("علی"))
        XCTAssertNil(CXText.normalizeASCII("Ali\u{00A0}Rezaei"))
    }
}
