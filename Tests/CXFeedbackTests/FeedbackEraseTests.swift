import CXModel
import CXService
import CXStore
import CXTestSupport
import CXWire
import Foundation
import GRDB
import XCTest

@testable import CXFeedback

/// EraseCustomer: the customer's responses, contact row and queued events
/// go, their complaints stay for the statistics without anything personal,
/// and the aggregates do not move.
final class FeedbackEraseTests: XCTestCase {
    typealias F = Cx_Feedback_V1_Feedback

    func day(_ days: Double) -> Date { Date(timeIntervalSince1970: 1_767_225_600 + days * 86_400) }

    func erase(_ h: FeedbackHarness, _ customer: String, key: String? = nil) async throws -> UInt64 {
        try await h.client.call(
            F.eraseCustomer, .with {
                $0.customerID = customer
                $0.erasedAt = .init(date: self.day(0.5))
            }, options: CallOptions(metadata: key.map { ["idempotency-key": $0] } ?? [:])
        ).recordsErased
    }

    func testEraseCustomerDeletesResponsesAndBlanksComplaintsButKeepsTheAggregates() async throws {
        let clock = ManualClock(day(0.1))
        let h = try await FeedbackHarness.start(destinations: [.loyalty, .journey, .profiles], clock: clock)
        addTeardownBlock { await h.stop() }
        try await h.createSurvey(recontactDays: 30)
        // "gone" is a detractor whose free text names a courier and a street: a follow-up opens by itself.
        let gone = try await h.respond("gone", nps: 2, text: "courier Reza shouted at me on Elm Street")
        XCTAssertFalse(gone.complaintID.isEmpty)
        let stays = try await h.respond("stays", nps: 1, text: "courier late again, broken box")
        XCTAssertFalse(stays.complaintID.isEmpty)
        let manual = try await h.client.call(F.openComplaint, .with {
            $0.complaint.customerID = "gone"
            $0.complaint.category = "billing"
            $0.complaint.severity = .medium
            $0.complaint.description_p = "charged twice on card 4111"
        }).complaint
        _ = try await h.client.call(F.addComplaintNote, .with {
            $0.complaintID = manual.id
            $0.kind = .note
            $0.author = "support-1"
            $0.text = "she says call 0912 555 0101 after six"
        })
        _ = try await h.client.call(F.addComplaintNote, .with {
            $0.complaintID = gone.complaintID
            $0.kind = .reply
            $0.author = "support-1"
            $0.text = "Dear Mrs Ahmadi, we are sorry"
        })
        clock.set(day(0.2))
        _ = try await h.client.call(F.moveComplaint, .with {
            $0.complaintID = gone.complaintID
            $0.to = .resolved
            $0.author = "support-1"
            $0.note = "refunded to Mrs Ahmadi"
        })
        let pending = try await h.service.store.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM cx_outbox WHERE ordering_key = 'gone'") ?? 0
        }
        XCTAssertGreaterThan(pending, 0, "the response's events wait for their peers")

        let scores = try await h.client.call(F.getScores, .with { $0.granularity = .day })
        let words = try await h.client.call(F.detractorWords, .with { $0.minCount = 1 })
        let stats = try await h.client.call(F.complaintStats, .init())
        let staysComplaint = try await h.client.call(F.getComplaint, .with { $0.complaintID = stays.complaintID }).complaint

        let erased = try await erase(h, "gone", key: "profiles:erase-1")
        // 1 contact + 1 response + the outbox events + 2 complaints + 3 notes and replies (events keep their text, one its note).
        XCTAssertEqual(erased, UInt64(1 + 1 + pending + 2 + 3))
        let redelivered = try await erase(h, "gone", key: "profiles:erase-1")
        XCTAssertEqual(redelivered, erased, "a redelivery gets the first answer")
        let again = try await erase(h, "gone", key: "profiles:erase-2")
        XCTAssertEqual(again, 0, "nothing is left to erase")
        let unkeyed = try await erase(h, "gone")
        XCTAssertEqual(unkeyed, 0)
        let unknown = try await erase(h, "never-seen")
        XCTAssertEqual(unknown, 0, "an unknown id is OK")

        // Recontact no longer knows them; the other customer still waits out the window.
        let ask = try await h.client.call(F.shouldAsk, .with {
            $0.customerID = "gone"
            $0.surveyID = "after-delivery"
        })
        XCTAssertTrue(ask.ask)
        XCTAssertFalse(ask.hasLastAnsweredAt)
        let other = try await h.client.call(F.shouldAsk, .with {
            $0.customerID = "stays"
            $0.surveyID = "after-delivery"
        })
        XCTAssertFalse(other.ask)

        let listed = try await h.client.call(F.listComplaints, .with { $0.customerID = "gone" }).complaints
        XCTAssertEqual(listed.count, 0)
        let kept = try await h.client.call(F.listComplaints, .with { $0.customerID = "stays" }).complaints
        XCTAssertEqual(kept.map(\.id), [stays.complaintID])
        await assertRPCError(.invalidArgument, field: "customer_id") {
            try await h.client.call(F.listComplaints, .with { $0.customerID = CustomerErasure.marker })
        }
        let all = try await h.client.call(F.listComplaints, .init()).complaints
        XCTAssertEqual(all.count, 3, "the complaints stay as records")

        // The statistics and aggregates do not move.
        let statsAfter = try await h.client.call(F.complaintStats, .init())
        XCTAssertEqual(statsAfter, stats)
        XCTAssertEqual(statsAfter.bySeverity.map(\.opened).reduce(0, +), 3)
        let scoresAfter = try await h.client.call(F.getScores, .with { $0.granularity = .day })
        XCTAssertEqual(scoresAfter, scores)
        XCTAssertEqual(scoresAfter.total.detractors, 2)
        let wordsAfter = try await h.client.call(F.detractorWords, .with { $0.minCount = 1 })
        XCTAssertEqual(wordsAfter, words)
        XCTAssertTrue(words.words.contains { $0.word == "reza" }, "the words counted stay counted (they name no one by themselves)")

        // The erased customer's complaints say nothing personal.
        for id in [gone.complaintID, manual.id] {
            let complaint = try await h.client.call(F.getComplaint, .with { $0.complaintID = id }).complaint
            XCTAssertEqual(complaint.customerID, CustomerErasure.marker)
            XCTAssertEqual(complaint.description_p, CustomerErasure.marker)
            XCTAssertEqual(complaint.responseID, "")
            let text = try complaint.jsonString()
            for personal in ["gone", "Reza", "Elm", "4111", "0912", "Ahmadi"] {
                XCTAssertFalse(text.contains(personal), "\(id) still holds \(personal)")
            }
        }
        let followUp = try await h.client.call(F.getComplaint, .with { $0.complaintID = gone.complaintID }).complaint
        XCTAssertEqual(followUp.state, .resolved, "state, severity and deadlines stay")
        XCTAssertEqual(followUp.severity, .high)
        XCTAssertEqual(followUp.thread.map(\.text), ["opened", "[erased]", "OPEN -> RESOLVED"])
        XCTAssertEqual(followUp.thread.map(\.author), ["feedback", "support-1", "support-1"])
        let billing = try await h.client.call(F.getComplaint, .with { $0.complaintID = manual.id }).complaint
        XCTAssertEqual(billing.thread.map(\.text), ["opened", "[erased]"])
        XCTAssertEqual(billing.category, "billing")

        // The other customer is untouched.
        let staysAfter = try await h.client.call(F.getComplaint, .with { $0.complaintID = stays.complaintID }).complaint
        XCTAssertEqual(staysAfter, staysComplaint)
        let rows = try await h.service.store.read { db in
            (
                try String.fetchAll(db, sql: "SELECT customer_id FROM response ORDER BY customer_id"),
                try String.fetchAll(db, sql: "SELECT customer_id FROM contact ORDER BY customer_id"),
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM cx_outbox WHERE ordering_key = 'gone'") ?? -1,
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM cx_outbox WHERE ordering_key = 'stays'") ?? -1
            )
        }
        XCTAssertEqual(rows.0, ["stays"])
        XCTAssertEqual(rows.1, ["stays"])
        XCTAssertEqual(rows.2, 0, "erased data is not sent on")
        XCTAssertEqual(rows.3, pending, "the other customer's events still go")

        // Goodwill for an erased complaint has no one to go to.
        _ = try await h.client.call(F.moveComplaint, .with {
            $0.complaintID = manual.id
            $0.to = .resolved
            $0.author = "support-1"
            $0.goodwill = true
        })
        let goodwill = try await h.service.store.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM cx_outbox WHERE event_id LIKE '%:goodwill'") ?? -1
        }
        XCTAssertEqual(goodwill, 0)

        await assertRPCError(.invalidArgument, field: "customer_id") { try await self.erase(h, "bad id!") }
        await assertRPCError(.invalidArgument, field: "customer_id") { try await self.erase(h, "") }
    }
}
