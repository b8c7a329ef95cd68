import Foundation
import XCTest

@testable import CXLoyalty

/// The hand-written month arithmetic against Foundation's calendar.
final class ProgramRulesTests: XCTestCase {
    let calendar = ProgramRules.calendar

    /// What `adding(months:to:)` promises, worked out with Foundation's own
    /// conversions between instants and dates: the same time of day, the
    /// same day of the month, or the month's last day when it is shorter.
    func expected(_ date: Date, plus months: Int) -> Date {
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        let midnight = calendar.date(from: DateComponents(year: parts.year, month: parts.month, day: parts.day))!
        let total = parts.year! * 12 + parts.month! - 1 + months
        let year = Int((Double(total) / 12).rounded(.down))
        let month = total - year * 12 + 1
        let first = calendar.date(from: DateComponents(year: year, month: month, day: 1))!
        let length = calendar.range(of: .day, in: .month, for: first)!.count
        let target = calendar.date(from: DateComponents(year: year, month: month, day: min(parts.day!, length)))!
        return target.addingTimeInterval(date.timeIntervalSince(midnight))
    }

    func testAddingMonthsKeepsTheDayOrTakesTheMonthsLast() {
        var random = SystemRandomNumberGenerator()
        var dates: [Date] = [
            // Month ends, leap days and century years, at midnight and just before the next.
            "2024-01-31", "2024-02-29", "2023-02-28", "2000-02-29", "1900-02-28", "2100-02-28", "2026-12-31", "1970-01-01", "1969-12-31",
            "1601-01-01", "9999-10-31",
        ].flatMap { text -> [Date] in
            let day = ISO8601DateFormatter().date(from: text + "T00:00:00Z")!
            return [day, day.addingTimeInterval(86_399.75), day.addingTimeInterval(0.000_1)]
        }
        // Random instants from 1601 to 2399, with fractions of a second.
        for _ in 0..<5_000 {
            dates.append(Date(timeIntervalSince1970: Double.random(in: -11_600_000_000...13_600_000_000, using: &random)))
        }
        for date in dates {
            for months in [-48, -36, -25, -24, -13, -12, -11, -1, 0, 1, 2, 11, 12, 13, 24, 25, 36, 48, 120] {
                let expected = expected(date, plus: months)
                let got = ProgramRules.adding(months: months, to: date)
                XCTAssertEqual(
                    got.timeIntervalSince1970, expected.timeIntervalSince1970, accuracy: 0.000_01,
                    "\(date) + \(months) months: \(got), expected \(expected)")
                if abs(got.timeIntervalSince1970 - expected.timeIntervalSince1970) > 0.000_01 { return }
                // Foundation's own month step agrees going forward.
                if months > 0 {
                    XCTAssertEqual(
                        got.timeIntervalSince1970, calendar.date(byAdding: .month, value: months, to: date)!.timeIntervalSince1970,
                        accuracy: 0.000_01, "\(date) + \(months) months")
                }
            }
        }
    }

    /// Foundation's calendar (Swift 6.3) steps back over 29 February wrongly
    /// for some spans (to 1 March 2022, to 28 February 2020); ours does not.
    func testStepsBackFromALeapDayLandOnFebruarysLastDay() {
        let leapDay = ISO8601DateFormatter().date(from: "2024-02-29T10:00:00Z")!
        let formatter = ISO8601DateFormatter()
        XCTAssertEqual(formatter.string(from: ProgramRules.adding(months: -24, to: leapDay)), "2022-02-28T10:00:00Z")
        XCTAssertEqual(formatter.string(from: ProgramRules.adding(months: -48, to: leapDay)), "2020-02-29T10:00:00Z")
        XCTAssertEqual(formatter.string(from: ProgramRules.adding(months: -12, to: leapDay)), "2023-02-28T10:00:00Z")
        XCTAssertEqual(formatter.string(from: ProgramRules.adding(months: -1, to: leapDay)), "2024-01-29T10:00:00Z")
        XCTAssertEqual(formatter.string(from: ProgramRules.adding(months: 1, to: ISO8601DateFormatter().date(from: "2023-01-31T00:00:00Z")!)),
            "2023-02-28T00:00:00Z")
    }

    /// An account's lots keep their stored layout: 32 bytes each, sequence,
    /// points and the two dates' bits, little-endian.
    func testLotsKeepTheirStoredLayout() throws {
        let lots = [
            PointLot(sequence: 1, points: 258, availableAt: Date(timeIntervalSince1970: 1.5), expiresAt: Date(timeIntervalSince1970: -2)),
            PointLot(sequence: Int64.max, points: 7, availableAt: Date(timeIntervalSince1970: 1_767_225_600.25), expiresAt: .distantFuture),
        ]
        let data = PointLot.encode(lots)
        XCTAssertEqual(data.count, 64)
        XCTAssertEqual(Array(data.prefix(16)), [1, 0, 0, 0, 0, 0, 0, 0, 2, 1, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(Array(data[16..<24]), Array(withUnsafeBytes(of: (1.5).bitPattern.littleEndian) { Array($0) }))
        XCTAssertEqual(Array(data[24..<32]), Array(withUnsafeBytes(of: (-2.0).bitPattern.littleEndian) { Array($0) }))
        XCTAssertEqual(try PointLot.decode(data, account: "c"), lots)
        XCTAssertEqual(PointLot.encode([]), Data())
        XCTAssertThrowsError(try PointLot.decode(data.prefix(40), account: "c"))
    }
}
