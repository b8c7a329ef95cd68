import CXModel
import CXTestSupport
import CXWire
import Foundation
import XCTest

@testable import CXJourney

/// A customer's first year, moved through with the injected clock.
final class JourneyTimeTests: XCTestCase {
    typealias J = Cx_Journey_V1_Journey

    /// 2026-01-01 plus `days`.
    func day(_ days: Double) -> Date { Date(timeIntervalSince1970: 1_767_225_600 + days * 86_400) }

    func testEightStagesHundredDayTasksSilenceLostAndWinBackCountedInFunnel() async throws {
        let clock = ManualClock(day(0))
        let h = try await JourneyHarness.start(clock: clock)
        addTeardownBlock { await h.stop() }

        // Day 0: both browse. "slow" never comes back.
        let first = try await h.event("sara", "visit", touchpoint: "website")
        XCTAssertEqual(first.stage, .assessment)
        XCTAssertEqual(first.stageBefore, .unspecified)
        try await h.event("slow", "inquiry", touchpoint: "phone")

        // Day 2: the first purchase admits her and makes the 100-day plan.
        clock.set(day(2))
        let admitted = try await h.event("sara", "first_purchase", touchpoint: "store")
        XCTAssertEqual(admitted.stage, .admission)
        XCTAssertEqual(admitted.tasksCreated, 9)
        let plan = try await h.tasks { $0.customerID = "sara" }
        XCTAssertEqual(plan.map(\.dayOffset), [0, 1, 3, 7, 14, 30, 60, 90, 100])
        for task in plan {
            XCTAssertEqual(task.dueAt.date, day(2 + Double(task.dayOffset)), "task \(task.id) falls due \(task.dayOffset) days after admission")
            XCTAssertEqual(task.state, .open)
        }
        XCTAssertEqual(plan.first?.action, "Thank the customer and affirm their decision")

        clock.set(day(2.5))
        try await h.event("sara", "purchase_confirmation", touchpoint: "email")
        clock.set(day(3.5))
        try await h.event("sara", "delivery", touchpoint: "logistics")

        // Day 3.5: the day-0 and day-1 tasks are overdue; the day-3 one is not yet (due day 5).
        let overdue = try await h.tasks { $0.overdueOnly = true }
        XCTAssertEqual(overdue.map(\.dayOffset), [0, 1])
        XCTAssertTrue(overdue.allSatisfy(\.overdue))
        let dueSoon = try await h.tasks { $0.dueBefore = .init(date: self.day(5.5)) }
        XCTAssertEqual(dueSoon.map(\.dayOffset), [0, 1, 3])
        _ = try await h.client.call(J.completeTask, .with {
            $0.taskID = overdue[0].id
            $0.note = "called, happy"
        })
        let stillOverdue = try await h.tasks { $0.overdueOnly = true }
        XCTAssertEqual(stillOverdue.map(\.dayOffset), [1])
        let done = try await h.tasks { $0.state = .done }
        XCTAssertEqual(done.map(\.id), [overdue[0].id])
        XCTAssertEqual(done.first?.note, "called, happy")

        // Day 20: "slow" has been in assessment longer than its 14-day norm.
        clock.set(day(20))
        let stalled = try await h.client.call(J.stalled, .with { $0.stage = .assessment })
        XCTAssertEqual(stalled.customers.map(\.customerID), ["slow"])
        XCTAssertEqual(stalled.customers.first?.daysInStage, 20)
        XCTAssertEqual(stalled.counts.first?.stalled, 1)

        for (at, type) in [(10.0, "onboarding_done"), (40, "goal_reached"), (80, "repeat_purchase"), (90, "review")] {
            clock.set(day(at))
            try await h.event("sara", type)
        }
        let walked = try await h.journey("sara")
        XCTAssertEqual(walked.stage, .advocacy)
        XCTAssertEqual(walked.history.map(\.to), Cx_Journey_V1_Stage.journey)
        XCTAssertEqual(walked.history.map { $0.at.date }, [0, 2, 2.5, 3.5, 10, 40, 80, 90].map(day))
        XCTAssertEqual(walked.admittedAt.date, day(2))
        XCTAssertEqual(walked.openTasks.count, 8)

        // Nothing until day 456: advocacy's 365 quiet days ran out on day 455; slow's 60 on day 60.
        clock.set(day(456))
        let detected = try await h.client.call(J.detectLost, .init())
        XCTAssertEqual(detected.markedLost, 2)
        let lost = try await h.journey("sara")
        XCTAssertEqual(lost.stage, .lost)
        XCTAssertEqual(lost.stageEnteredAt.date, day(455))
        XCTAssertEqual(lost.timesLost, 1)
        let slow = try await h.journey("slow")
        XCTAssertEqual(slow.stageEnteredAt.date, day(60))
        let again = try await h.client.call(J.detectLost, .init())
        XCTAssertEqual(again.markedLost, 0, "a LOST customer is not lost twice")

        // A late event from before she went quiet does not win her back ...
        let late = try await h.event("sara", "visit", at: day(400))
        XCTAssertFalse(late.wonBack)
        XCTAssertEqual(late.stage, .lost)
        // ... a new one does, to the stage she was lost from.
        clock.set(day(460))
        let back = try await h.event("sara", "visit", touchpoint: "website")
        XCTAssertTrue(back.wonBack)
        XCTAssertEqual(back.stage, .advocacy)
        let returned = try await h.journey("sara")
        XCTAssertEqual(returned.timesWonBack, 1)
        XCTAssertEqual(returned.history.last?.cause, .winBack)

        let funnel = try await h.funnel(from: day(0), to: day(470))
        XCTAssertEqual(funnel.lost, 2)
        XCTAssertEqual(funnel.wonBack, 1)
        XCTAssertEqual(funnel.lostNow, 1)
        XCTAssertEqual(funnel.customers, 2)
        XCTAssertEqual(funnel.stage(.assessment).entered, 2)
        XCTAssertEqual(funnel.stage(.assessment).advanced, 1)
        XCTAssertEqual(funnel.stage(.assessment).conversion, 0.5)
        XCTAssertEqual(funnel.stage(.assessment).lost, 1)
        XCTAssertEqual(funnel.stage(.assessment).staysEnded, 2)
        XCTAssertEqual(funnel.stage(.assessment).medianDays, 2, "sara 2 days, slow 60: the lower median")
        XCTAssertEqual(funnel.stage(.accomplishment).medianDays, 40)
        XCTAssertEqual(funnel.stage(.advocacy).entered, 2, "entered on day 90 and again when won back")
        XCTAssertEqual(funnel.stage(.advocacy).lost, 1)
        XCTAssertEqual(funnel.stage(.advocacy).customersNow, 1)
        XCTAssertEqual(funnel.stage(.advocacy).medianDays, 365)
        // Only the days of the win-back.
        let recent = try await h.funnel(from: day(455), to: day(470))
        XCTAssertEqual(recent.wonBack, 1)
        XCTAssertEqual(recent.lost, 1)
        XCTAssertEqual(recent.stage(.assessment).entered, 0)
    }

    func testChangingQuietDaysMovesEveryDeadline() async throws {
        let clock = ManualClock(day(0))
        let h = try await JourneyHarness.start(clock: clock)
        addTeardownBlock { await h.stop() }
        try await h.event("a", "visit")
        var rules = try await h.rules()
        for index in rules.stages.indices where rules.stages[index].stage == .assessment { rules.stages[index].quietDays = 5 }
        let updated = try await h.client.call(J.updateRules, .with {
            $0.rules = rules
            $0.expectedVersion = rules.version
        })
        XCTAssertEqual(updated.rules.version, 2)
        clock.set(day(5.5))
        let detected = try await h.client.call(J.detectLost, .init())
        XCTAssertEqual(detected.markedLost, 1)
        let journey = try await h.journey("a")
        XCTAssertEqual(journey.stage, .lost)
    }
}

extension JourneyTimeTests {
    func testACustomerWhoKeepsComingIsNeverLostHoweverLongInTheStage() async throws {
        let clock = ManualClock(day(0))
        let h = try await JourneyHarness.start(clock: clock)
        addTeardownBlock { await h.stop() }
        try await h.event("regular", "visit")
        try await h.event("gone", "visit")
        for at in stride(from: 30.0, through: 90, by: 30) {
            clock.set(day(at))
            try await h.event("regular", "email_open", touchpoint: "email")
        }
        // Day 120: both entered assessment 120 days ago (its quiet days are 60);
        // only "gone" has been silent that long.
        clock.set(day(120))
        let detected = try await h.client.call(J.detectLost, .init())
        XCTAssertEqual(detected.markedLost, 1)
        let regular = try await h.journey("regular")
        XCTAssertEqual(regular.stage, .assessment)
        let gone = try await h.journey("gone")
        XCTAssertEqual(gone.stage, .lost)
        XCTAssertEqual(gone.stageEnteredAt.date, day(60))
        clock.set(day(151))
        let later = try await h.client.call(J.detectLost, .init())
        XCTAssertEqual(later.markedLost, 1, "60 quiet days after day 90")
    }
}

extension JourneyTimeTests {
    func testAMoveByHandOutOfLostIsNotAWinBackAndStartsANewQuietPeriod() async throws {
        let clock = ManualClock(day(0))
        let h = try await JourneyHarness.start(clock: clock)
        addTeardownBlock { await h.stop() }
        try await h.event("m", "visit")
        clock.set(day(61))
        _ = try await h.client.call(J.detectLost, .init())
        let moved = try await h.client.call(J.moveStage, .with {
            $0.customerID = "m"
            $0.stage = .acceptance
            $0.reason = "Came back by phone; the call was not recorded"
        })
        XCTAssertEqual(moved.stageBefore, .lost)
        let again = try await h.client.call(J.detectLost, .init())
        XCTAssertEqual(again.markedLost, 0, "the move restarted the quiet period")
        let journey = try await h.journey("m")
        XCTAssertEqual(journey.stage, .acceptance)
        XCTAssertEqual(journey.timesWonBack, 0, "a correction by hand is not a win-back")
        let funnel = try await h.funnel(from: day(0), to: day(62))
        XCTAssertEqual(funnel.wonBack, 0)
    }
}
