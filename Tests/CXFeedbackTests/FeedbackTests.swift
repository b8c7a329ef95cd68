import CXModel
import CXService
import CXStore
import CXTestSupport
import CXWire
import Foundation
import GRDB
import XCTest

@testable import CXFeedback

/// Every feedback method over a real loopback server, with its bad input.
final class FeedbackTests: XCTestCase {
    typealias F = Cx_Feedback_V1_Feedback

    func day(_ days: Double) -> Date { Date(timeIntervalSince1970: 1_767_225_600 + days * 86_400) }

    func testSurveysRefuseMalformedQuestionsAndCloseForGood() async throws {
        let h = try await FeedbackHarness.start()
        addTeardownBlock { await h.stop() }
        let survey = try await h.createSurvey()
        XCTAssertEqual(survey.state, .open)
        XCTAssertEqual(survey.followUpThreshold, 6, "every detractor by default")
        await assertRPCError(.alreadyExists) { try await h.createSurvey() }
        func refused(_ field: String, _ change: @escaping (inout Cx_Feedback_V1_Survey) -> Void) async {
            var bad = survey
            bad.id = "other"
            change(&bad)
            await assertRPCError(.invalidArgument, field: field) {
                try await h.client.call(F.createSurvey, .with { $0.survey = bad })
            }
        }
        await refused("survey.questions[1].id") { $0.questions[1].id = "nps" }
        await refused("survey.questions[1].kind") { $0.questions[1].kind = .nps }
        await refused("survey.questions[3].options") { $0.questions[3].options = ["one"] }
        await refused("survey.questions[0].options") { $0.questions[0].options = ["a", "b"] }
        await refused("survey.stage") { $0.stage = "lost" }
        await refused("survey.recontact_days") { $0.recontactDays = 400 }
        await refused("survey.follow_up_threshold") { $0.followUpThreshold = 11 }
        await refused("survey.questions") { $0.questions = [] }

        let listed = try await h.client.call(F.listSurveys, .init()).surveys
        XCTAssertEqual(listed.map(\.id), ["after-delivery"])
        let closed = try await h.client.call(F.closeSurvey, .with { $0.surveyID = "after-delivery" }).survey
        XCTAssertEqual(closed.state, .closed)
        await assertRPCError(.failedPrecondition, reason: "SURVEY_CLOSED") { try await h.respond("c1", nps: 9) }
        let ask = try await h.client.call(F.shouldAsk, .with {
            $0.customerID = "c1"
            $0.surveyID = "after-delivery"
        })
        XCTAssertFalse(ask.ask)
        let open = try await h.client.call(F.listSurveys, .init()).surveys
        XCTAssertEqual(open.count, 0)
        let all = try await h.client.call(F.listSurveys, .with { $0.includeClosed = true }).surveys
        XCTAssertEqual(all.count, 1)
        await assertRPCError(.notFound, reason: "SURVEY_NOT_FOUND") { try await h.respond("c1", survey: "nope", nps: 9) }
    }

    func testEveryAnswerIsCheckedAgainstItsQuestion() async throws {
        let h = try await FeedbackHarness.start()
        addTeardownBlock { await h.stop() }
        try await h.createSurvey()
        await assertRPCError(.invalidArgument, field: "answers[0].score") { try await h.respond("c", nps: 11) }
        await assertRPCError(.invalidArgument, field: "answers[1].score") { try await h.respond("c", nps: 5, csat: 0) }
        await assertRPCError(.invalidArgument, field: "answers[1].score") { try await h.respond("c", nps: 5, ces: 8) }
        await assertRPCError(.invalidArgument, field: "answers", messageContains: "question nps") { try await h.respond("c", csat: 4) }
        await assertRPCError(.invalidArgument, field: "answers[1].question_id") {
            try await h.client.call(F.submitResponse, .with {
                $0.surveyID = "after-delivery"
                $0.customerID = "c"
                $0.answers = [.with { $0.questionID = "nps"; $0.score = 3 }, .with { $0.questionID = "color"; $0.text = "red" }]
            })
        }
        await assertRPCError(.invalidArgument, field: "answers[1].choices[1]") {
            try await h.client.call(F.submitResponse, .with {
                $0.surveyID = "after-delivery"
                $0.customerID = "c"
                $0.answers = [.with { $0.questionID = "nps"; $0.score = 3 }, .with { $0.questionID = "why"; $0.choices = ["price", "colour"] }]
            })
        }
        await assertRPCError(.invalidArgument, field: "answers[1].question_id") {
            try await h.client.call(F.submitResponse, .with {
                $0.surveyID = "after-delivery"
                $0.customerID = "c"
                $0.answers = [.with { $0.questionID = "nps"; $0.score = 3 }, .with { $0.questionID = "nps"; $0.score = 4 }]
            })
        }
        let survey = try await h.client.call(F.getSurvey, .with { $0.surveyID = "after-delivery" }).survey
        XCTAssertEqual(survey.responses, 0, "refused responses left no trace")
        let scores = try await h.client.call(F.getScores, .init())
        XCTAssertEqual(scores.total.responses, 0)
    }

    func testScoresMatchHandComputedFixtures() async throws {
        let clock = ManualClock(day(0.5))
        let h = try await FeedbackHarness.start(clock: clock)
        addTeardownBlock { await h.stop() }
        try await h.createSurvey(threshold: -1)
        // Day 0: NPS 10 9 9 8 7 6 3 0 10 5 -> 4 promoters, 2 passives, 4 detractors: NPS 0.
        for (index, score) in [10, 9, 9, 8, 7, 6, 3, 0, 10, 5].enumerated() {
            try await h.respond("d0-\(index)", nps: Int32(score))
        }
        // Day 1: NPS 10 10 9 7 2 -> 3, 1, 1: NPS 40. CSAT 5 4 3 2 5 -> 60%. CES 1 2 3 7 -> 3.25.
        clock.set(day(1.5))
        let day1: [(Int32, Int32, Int32?)] = [(10, 5, 1), (10, 4, 2), (9, 3, 3), (7, 2, 7), (2, 5, nil)]
        for (index, answer) in day1.enumerated() {
            try await h.respond("d1-\(index)", nps: answer.0, csat: answer.1, ces: answer.2)
        }
        let first = try await h.client.call(F.getScores, .with {
            $0.from = .init(date: self.day(0))
            $0.to = .init(date: self.day(1))
        }).total
        XCTAssertEqual(first.npsAnswers, 10)
        XCTAssertEqual([first.promoters, first.passives, first.detractors], [4, 2, 4])
        XCTAssertEqual(first.nps, 0)
        let second = try await h.client.call(F.getScores, .with {
            $0.from = .init(date: self.day(1))
            $0.to = .init(date: self.day(2))
        }).total
        XCTAssertEqual(second.nps, 40)
        XCTAssertEqual(second.csat, 60)
        XCTAssertEqual(second.csatAnswers, 5)
        XCTAssertEqual(second.ces, 3.25)
        XCTAssertEqual(second.cesAnswers, 4)
        // Both days, by day: a trend; and the same through the touchpoint and stage.
        let daily = try await h.client.call(F.getScores, .with {
            $0.from = .init(date: self.day(0))
            $0.to = .init(date: self.day(3))
            $0.granularity = .day
        })
        XCTAssertEqual(daily.buckets.map(\.scores.npsAnswers), [10, 5, 0])
        XCTAssertEqual(daily.buckets.map(\.scores.nps), [0, 40, 0])
        XCTAssertEqual(daily.total.npsAnswers, 15)
        XCTAssertEqual(daily.total.nps, (7.0 - 5.0) * 100 / 15, accuracy: 1e-9)
        let byTouchpoint = try await h.client.call(F.getScores, .with {
            $0.touchpointID = "logistics"
            $0.from = .init(date: self.day(0))
            $0.to = .init(date: self.day(3))
        })
        XCTAssertEqual(byTouchpoint.total, daily.total)
        let byStage = try await h.client.call(F.getScores, .with {
            $0.stage = "activation"
            $0.from = .init(date: self.day(0))
            $0.to = .init(date: self.day(3))
        })
        XCTAssertEqual(byStage.total.responses, 15)
        let monthly = try await h.client.call(F.getScores, .with {
            $0.from = .init(date: self.day(0))
            $0.to = .init(date: self.day(40))
            $0.granularity = .month
        })
        XCTAssertEqual(monthly.buckets.count, 2, "January and February 2026")
        XCTAssertEqual(monthly.buckets.first?.scores.npsAnswers, 15)
        let weekly = try await h.client.call(F.getScores, .with {
            $0.from = .init(date: self.day(0))
            $0.to = .init(date: self.day(14))
            $0.granularity = .week
        })
        XCTAssertEqual(weekly.buckets.first?.start.date, day(-3), "2026-01-01 is a Thursday; its week began on Monday 29 December")
        await assertRPCError(.invalidArgument, field: "touchpoint_id") {
            try await h.client.call(F.getScores, .with {
                $0.surveyID = "after-delivery"
                $0.touchpointID = "logistics"
            })
        }
    }

    func testTouchpointsRankedWithAMinimumSample() async throws {
        let h = try await FeedbackHarness.start()
        addTeardownBlock { await h.stop() }
        try await h.createSurvey(id: "store", touchpoint: "store", threshold: -1)
        try await h.createSurvey(id: "web", touchpoint: "website", threshold: -1)
        try await h.createSurvey(id: "phone", touchpoint: "phone", threshold: -1)
        for index in 0..<4 { try await h.respond("s\(index)", survey: "store", nps: 10, ces: 2) }
        for index in 0..<4 { try await h.respond("w\(index)", survey: "web", nps: Int32(index < 2 ? 9 : 1), ces: 5) }
        try await h.respond("p0", survey: "phone", nps: 10)
        let ranked = try await h.client.call(F.rankTouchpoints, .with { $0.minSample = 3 })
        XCTAssertEqual(ranked.touchpoints.map(\.touchpointID), ["store", "website"])
        XCTAssertEqual(ranked.touchpoints.map(\.value), [100, 0])
        XCTAssertEqual(ranked.tooFew, ["phone"])
        let effort = try await h.client.call(F.rankTouchpoints, .with {
            $0.metric = .ces
            $0.minSample = 3
        })
        XCTAssertEqual(effort.touchpoints.map(\.touchpointID), ["store", "website"], "lower effort first")
    }

    func testPersianDetractorWordsFoundWhateverLettersAndDigitsTheyWereTypedWith() async throws {
        let h = try await FeedbackHarness.start()
        addTeardownBlock { await h.stop() }
        try await h.createSurvey(threshold: -1)
        // "تاخیر" (delay) typed with Arabic ي, with Persian ی, and with a ZWNJ-free variant; digits in three scripts.
        try await h.respond("a", nps: 2, text: "ارسال خيلي تاخير داشت و بسته ۳ روز دير رسيد")
        try await h.respond("b", nps: 1, text: "تاخیر زیاد، بسته ٣ روز دیر رسید")
        try await h.respond("c", nps: 3, text: "Delivery DELAY again. تاخير!")
        try await h.respond("d", nps: 10, text: "عالی بود، بسته سریع رسید")
        try await h.respond("e", nps: 9, text: "بسته خوب بود و رسید")
        try await h.respond("f", nps: 7, text: "تاخیر تاخیر تاخیر")  // a passive: not counted either way
        let words = try await h.client.call(F.detractorWords, .with { $0.minCount = 2 })
        XCTAssertEqual(words.detractorTexts, 3)
        XCTAssertEqual(words.promoterTexts, 2)
        XCTAssertEqual(words.words.first?.word, "تاخیر")
        XCTAssertEqual(words.words.first?.detractorCount, 3)
        XCTAssertEqual(words.words.first?.promoterCount, 0)
        let byWord = Dictionary(uniqueKeysWithValues: words.words.map { ($0.word, $0) })
        XCTAssertEqual(byWord["دیر"]?.detractorCount, 2, "دير and دیر are one word")
        XCTAssertNil(byWord["3"], "numbers are not words")
        XCTAssertNil(byWord["و"], "stop words are dropped")
        if let parcel = byWord["بسته"], let delay = byWord["تاخیر"] {
            XCTAssertLessThan(parcel.score, delay.score, "a word both sides use says less")
        }
    }

    func testRecontactWindowAndRetriedResponses() async throws {
        let clock = ManualClock(day(0))
        let h = try await FeedbackHarness.start(clock: clock)
        addTeardownBlock { await h.stop() }
        try await h.createSurvey(recontactDays: 30, threshold: -1)
        let first = try await h.respond("c", nps: 8, key: "k-1")
        let retry = try await h.respond("c", nps: 8, key: "k-1")
        XCTAssertEqual(first, retry, "a retry gets the first answer")
        await assertRPCError(.failedPrecondition, reason: "IDEMPOTENCY_KEY_REUSED") { try await h.respond("c", nps: 3, key: "k-1") }
        await assertRPCError(.failedPrecondition, reason: "RECONTACT_WINDOW") { try await h.respond("c", nps: 9) }
        clock.set(day(10))
        let ask = try await h.client.call(F.shouldAsk, .with {
            $0.customerID = "c"
            $0.surveyID = "after-delivery"
        })
        XCTAssertFalse(ask.ask)
        XCTAssertEqual(ask.nextAllowedAt.date, day(30))
        XCTAssertEqual(ask.lastAnsweredAt.date, day(0))
        clock.set(day(30.5))
        let later = try await h.client.call(F.shouldAsk, .with {
            $0.customerID = "c"
            $0.surveyID = "after-delivery"
        })
        XCTAssertTrue(later.ask)
        try await h.respond("c", nps: 9)
        let survey = try await h.client.call(F.getSurvey, .with { $0.surveyID = "after-delivery" }).survey
        XCTAssertEqual(survey.responses, 2)
    }

    func testDetractorsOpenFollowUpsAndComplaintsMoveOnlyByTheRules() async throws {
        let clock = ManualClock(day(0))
        let h = try await FeedbackHarness.start(destinations: [.loyalty], clock: clock)
        addTeardownBlock { await h.stop() }
        try await h.createSurvey()
        let promoter = try await h.respond("happy", nps: 10)
        XCTAssertEqual(promoter.npsCategory, .promoter)
        XCTAssertEqual(promoter.complaintID, "")
        let detractor = try await h.respond("angry", nps: 2, text: "بسته شکسته رسید")
        XCTAssertEqual(detractor.npsCategory, .detractor)
        XCTAssertFalse(detractor.complaintID.isEmpty, "a detractor opens a follow-up by itself")
        var complaint = try await h.client.call(F.getComplaint, .with { $0.complaintID = detractor.complaintID }).complaint
        XCTAssertEqual(complaint.state, .open)
        XCTAssertEqual(complaint.severity, .high)
        XCTAssertEqual(complaint.responseID, detractor.responseID)
        XCTAssertEqual(complaint.touchpointID, "logistics")
        XCTAssertTrue(complaint.description_p.contains("بسته شکسته رسید"))
        XCTAssertEqual(complaint.firstResponseDue.date, day(0).addingTimeInterval(4 * 3_600))

        func move(_ to: Cx_Feedback_V1_ComplaintState, goodwill: Bool = false) async throws -> Cx_Feedback_V1_Complaint {
            try await h.client.call(F.moveComplaint, .with {
                $0.complaintID = detractor.complaintID
                $0.to = to
                $0.author = "نرگس"
                $0.goodwill = goodwill
            }).complaint
        }
        await assertRPCError(.failedPrecondition, reason: "ILLEGAL_TRANSITION", messageContains: "allowed: ACKNOWLEDGED, IN_PROGRESS, RESOLVED") {
            try await move(.closed)
        }
        await assertRPCError(.invalidArgument, field: "goodwill") { try await move(.acknowledged, goodwill: true) }
        // Six hours in, nothing done: overdue for its first response.
        clock.set(day(0.25))
        let overdue = try await h.client.call(F.listComplaints, .with { $0.overdueOnly = true }).complaints
        XCTAssertEqual(overdue.map(\.id), [detractor.complaintID])
        XCTAssertTrue(overdue[0].overdue)
        _ = try await h.client.call(F.assignComplaint, .with {
            $0.complaintID = detractor.complaintID
            $0.owner = "support-1"
            $0.author = "lead"
        })
        _ = try await h.client.call(F.addComplaintNote, .with {
            $0.complaintID = detractor.complaintID
            $0.kind = .reply
            $0.author = "support-1"
            $0.text = "ببخشید! یک بسته نو فرستادیم."
        })
        complaint = try await move(.inProgress)
        XCTAssertTrue(complaint.hasFirstResponseAt, "a reply is the first response")
        complaint = try await move(.resolved, goodwill: true)
        XCTAssertEqual(complaint.state, .resolved)
        await assertRPCError(.failedPrecondition, reason: "ILLEGAL_TRANSITION") { try await move(.inProgress) }
        complaint = try await move(.closed)
        complaint = try await move(.reopened)
        complaint = try await move(.resolved, goodwill: true)
        XCTAssertEqual(complaint.owner, "support-1")
        XCTAssertEqual(complaint.thread.map(\.sequence), Array(1...Int64(complaint.thread.count)), "numbered in order, none lost")
        XCTAssertEqual(complaint.thread.map(\.text), [
            "opened", "assigned to support-1", "ببخشید! یک بسته نو فرستادیم.", "OPEN -> IN_PROGRESS", "IN_PROGRESS -> RESOLVED",
            "goodwill bonus awarded", "RESOLVED -> CLOSED", "CLOSED -> REOPENED", "REOPENED -> RESOLVED",
        ])
        let bonuses = try await h.service.store.read { db in
            try String.fetchAll(db, sql: "SELECT event_id FROM cx_outbox WHERE destination = 'loyalty' ORDER BY sequence")
        }
        XCTAssertEqual(bonuses, ["feedback:\(detractor.complaintID):goodwill"], "goodwill once, however often resolved")
        let byOwner = try await h.client.call(F.listComplaints, .with { $0.owner = "support-1" }).complaints
        XCTAssertEqual(byOwner.count, 1)
        let stats = try await h.client.call(F.complaintStats, .init())
        let high = stats.bySeverity.first { $0.severity == .high }
        XCTAssertEqual(high?.opened, 1)
        XCTAssertEqual(high?.resolved, 1)
        XCTAssertEqual(high?.firstResponseBreaches, 1, "replied after 6 hours; 4 were allowed")
        XCTAssertEqual(stats.openNow, 0)
        await assertRPCError(.notFound, reason: "COMPLAINT_NOT_FOUND") {
            try await h.client.call(F.getComplaint, .with { $0.complaintID = "c-missing" })
        }
        await assertRPCError(.invalidArgument, field: "complaint.severity") {
            try await h.client.call(F.openComplaint, .with {
                $0.complaint.customerID = "x"
                $0.complaint.category = "billing"
                $0.complaint.description_p = "charged twice"
            })
        }
    }

    func testAResponseTellsLoyaltyJourneyAndProfilesThroughTheOutbox() async throws {
        let h = try await FeedbackHarness.start(destinations: [.loyalty, .journey, .profiles])
        addTeardownBlock { await h.stop() }
        try await h.createSurvey(bonus: true)
        let response = try await h.respond("fan", nps: 10)
        let rows = try await h.service.store.read { db in
            try Row.fetchAll(db, sql: "SELECT destination, method, payload FROM cx_outbox ORDER BY sequence").map { row in
                (row["destination"] as String, row["method"] as String,
                 try row.decode(RecordBody.self, forColumn: "payload").bytes(table: "cx_outbox", key: "test"))
            }
        }
        XCTAssertEqual(rows.map(\.0), ["loyalty", "journey", "journey", "profiles"])
        let bonus = try Cx_Loyalty_V1_AwardBonusRequest(serializedBytes: [UInt8](rows[0].2))
        XCTAssertEqual(bonus.reason, .survey)
        XCTAssertEqual(bonus.idempotencyKey, "feedback:\(response.responseID)")
        let events = try rows[1...2].map { try Cx_Journey_V1_RecordEventRequest(serializedBytes: [UInt8]($0.2)).event }
        XCTAssertEqual(events.map(\.type), ["survey_answered", "promoter_score"])
        XCTAssertEqual(events.first?.touchpointID, "logistics")
        let traits = try Cx_Profiles_V1_UpdateTraitsRequest(serializedBytes: [UInt8](rows[3].2))
        XCTAssertEqual(traits.traits.lastNps, 10)
        XCTAssertEqual(traits.traits.surveysAnswered, 1)
        XCTAssertEqual(Set(traits.updateMask), ["last_nps", "surveys_answered"])
    }
}
