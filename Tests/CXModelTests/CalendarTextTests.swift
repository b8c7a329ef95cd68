import Foundation
import XCTest

@testable import CXModel

/// Dates in the Solar Hijri calendar, checked against days the Iranian
/// almanac fixes: Nowruz (1 Farvardin) falls on the Gregorian 21 March 2026
/// and 21 March 2025, so 20 March 2025 is the last day of 1403 (a leap year,
/// 30 Esfand), and 20 March 2024 was Nowruz 1403.
final class CalendarTextTests: XCTestCase {
    private func moment(_ iso: String) throws -> Date {
        try XCTUnwrap(ISO8601DateFormatter().date(from: iso), iso)
    }

    func testNowruzAndTheLastDayOfALeapYear() throws {
        XCTAssertEqual(CalendarText.day(try moment("2026-03-21T00:00:00Z"), .persian), "1405-01-01")
        XCTAssertEqual(CalendarText.day(try moment("2026-03-20T23:59:59Z"), .persian), "1404-12-29")
        XCTAssertEqual(CalendarText.time(try moment("2025-03-20T10:00:00Z"), .persian), "1403-12-30 10:00:00 UTC")
        XCTAssertEqual(CalendarText.day(try moment("2025-03-21T00:00:00Z"), .persian), "1404-01-01")
        XCTAssertEqual(CalendarText.day(try moment("2024-03-20T12:00:00Z"), .persian), "1403-01-01")
    }

    func testTimesAreUTCWithTheirSeconds() throws {
        XCTAssertEqual(CalendarText.time(try moment("2025-11-22T14:30:05Z"), .persian), "1404-09-01 14:30:05 UTC")
        // Late in the UTC day is still that day, wherever the machine is.
        XCTAssertEqual(CalendarText.time(try moment("2025-11-22T23:59:59Z"), .persian), "1404-09-01 23:59:59 UTC")
        XCTAssertEqual(CalendarText.time(Date(timeIntervalSince1970: 0), .persian), "1348-10-11 00:00:00 UTC")
    }

    func testGregorianIsISO8601AsBefore() throws {
        XCTAssertEqual(CalendarText.time(try moment("2026-03-21T14:30:05Z"), .gregorian), "2026-03-21T14:30:05Z")
        XCTAssertEqual(CalendarText.time(Date(timeIntervalSince1970: 1.75), .gregorian), "1970-01-01T00:00:01Z")
        XCTAssertEqual(CalendarText.day(try moment("2026-03-21T23:59:59Z"), .gregorian), "2026-03-21")
    }

    func testAGregorianDayInEitherCalendar() {
        XCTAssertEqual(CalendarText.day(year: 1990, month: 3, day: 21, .persian), "1369-01-01")
        XCTAssertEqual(CalendarText.day(year: 1990, month: 3, day: 21, .gregorian), "1990-03-21")
        XCTAssertEqual(CalendarText.day(year: 2000, month: 2, day: 29, .persian), "1378-12-10")
        XCTAssertNil(CalendarText.day(year: 2001, month: 2, day: 29, .persian), "not a day")
        XCTAssertNil(CalendarText.day(year: 2001, month: 13, day: 1, .gregorian))
    }
}

/// How many terminal columns table cells take, so Persian lines up.
final class DisplayWidthTests: XCTestCase {
    func testPersianLettersAreOneColumnEachWithTheirMarks() {
        XCTAssertEqual(CXText.displayWidth("سلام"), 4)
        // A zero-width non-joiner joins its letter: می‌خواهم is seven letters.
        XCTAssertEqual(CXText.displayWidth("می\u{200C}خواهم"), 7)
        // Diacritics (fatha, damma, shadda) sit on their letter.
        XCTAssertEqual(CXText.displayWidth("كُتُب"), 3)
        XCTAssertEqual(CXText.displayWidth("مُحَمَّد"), 4)
        XCTAssertEqual(CXText.displayWidth("۱۴۰۵"), 4)
    }

    func testInvisibleMarksTakeNoColumn() {
        XCTAssertEqual(CXText.displayWidth("\u{200F}تهران\u{200E}"), 5)
        XCTAssertEqual(CXText.displayWidth("\u{2067}abc\u{2069}"), 3)
        XCTAssertEqual(CXText.displayWidth("\u{FEFF}x"), 1)
    }

    func testWideCharactersTakeTwo() {
        XCTAssertEqual(CXText.displayWidth("東京"), 4)
        XCTAssertEqual(CXText.displayWidth("ok 👍"), 5)
        XCTAssertEqual(CXText.displayWidth(""), 0)
    }
}
