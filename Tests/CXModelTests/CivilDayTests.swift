import CXModel
import XCTest

final class CivilDayTests: XCTestCase {
    func testDaysRoundTripAndEveryDayIsInItsMonth() {
        for days in stride(from: -200_000, through: 3_000_000, by: 7) {
            let day = CivilDay(daysSince1970: days)
            XCTAssertEqual(day.daysSince1970, days)
            XCTAssert((1...CivilDay.days(inMonth: day.month, of: day.year)).contains(day.day))
            if day.daysSince1970 != days { return }
        }
        XCTAssertEqual(CivilDay(daysSince1970: 0), CivilDay(year: 1970, month: 1, day: 1))
        XCTAssertEqual(CivilDay(year: 2000, month: 3, day: 1).daysSince1970, 11_017)
        XCTAssertEqual(CivilDay(year: 1969, month: 12, day: 31).daysSince1970, -1)
        XCTAssertEqual(CivilDay.days(inMonth: 2, of: 2024), 29)
        XCTAssertEqual(CivilDay.days(inMonth: 2, of: 1900), 28)
        XCTAssertEqual(CivilDay.days(inMonth: 2, of: 2000), 29)
    }
}
