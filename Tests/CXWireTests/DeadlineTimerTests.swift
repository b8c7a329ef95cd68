import NIOCore
import NIOEmbedded
import XCTest

@testable import CXWire

final class DeadlineTimerTests: XCTestCase {
    func testTakeExpiredRemovesDueCallsAndFindsTheNextDeadline() {
        let now = NIODeadline.uptimeNanoseconds(1_000_000)
        var calls: [UInt64: NIODeadline] = [
            1: now - .milliseconds(1), 2: now, 3: now + .milliseconds(5), 4: now + .milliseconds(2),
        ]
        let (expired, next) = DeadlineTimer.takeExpired(from: &calls, now: now) { $0 }
        XCTAssertEqual(Set(expired.map(\.id)), [1, 2])
        XCTAssertEqual(Set(calls.keys), [3, 4])
        XCTAssertEqual(next, now + .milliseconds(2))

        // The client's table, the same way.
        var table = CallTable<NIODeadline>()
        for (id, deadline) in [(1, now - .milliseconds(1)), (2, now), (3, now + .milliseconds(5)), (4, now + .milliseconds(2))] as [(UInt64, NIODeadline)] {
            table.insert(deadline, for: id)
        }
        let fromTable = DeadlineTimer.takeExpired(from: &table, now: now) { $0 }
        XCTAssertEqual(Set(fromTable.expired.map(\.id)), [1, 2])
        XCTAssertEqual(Set(table.calls.map(\.id)), [3, 4])
        XCTAssertEqual(fromTable.next, now + .milliseconds(2))

        var none: [UInt64: NIODeadline] = [:]
        let empty = DeadlineTimer.takeExpired(from: &none, now: now) { $0 }
        XCTAssertTrue(empty.expired.isEmpty)
        XCTAssertNil(empty.next)
    }

    func testTimerFiresOnceForTheEarliestDeadlineOnly() {
        let loop = EmbeddedEventLoop()
        var timer = DeadlineTimer()
        var fired: [String] = []
        let start = loop.now
        timer.arm(for: start + .seconds(10), on: loop.assumeIsolated()) { fired.append("10s") }
        timer.arm(for: start + .seconds(30), on: loop.assumeIsolated()) { fired.append("30s") }  // later: no change
        timer.arm(for: start + .seconds(5), on: loop.assumeIsolated()) { fired.append("5s") }  // earlier: replaces
        loop.advanceTime(by: .seconds(60))
        XCTAssertEqual(fired, ["5s"])
    }
}
