import CXTestSupport
import CXModel
import CXWire
import Foundation
import XCTest

@testable import CXProfiles

final class SegmentTests: XCTestCase {
    func testMembershipFollowsCustomersAndTraitsIncrementally() async throws {
        let h = try await ProfilesHarness.start()
        addTeardownBlock { await h.stop() }
        let tehran = try await h.create { $0.name = "A"; $0.city = "تهران" }
        _ = try await h.create { $0.name = "B"; $0.city = "Shiraz" }
        let segment = try await h.defineSegment("Gold in Tehran", #"city == "تهران" and traits.tier == "gold""#)
        XCTAssertEqual(segment.memberCount, 0)
        _ = try await h.pushTraits(tehran.id, event: "t1", occurredAt: h.clock.now, mask: ["tier"]) { $0.tier = "gold" }
        let value1 = try await h.count(segment)
        XCTAssertEqual(value1, 1)
        var of = Cx_Profiles_V1_CustomerSegmentsRequest()
        of.customerID = tehran.id
        let value2 = try await h.client.call(Cx_Profiles_V1_Segments.customerSegments, of).segments.map(\.name)
        XCTAssertEqual(value2, ["Gold in Tehran"])
        _ = try await h.update(tehran.id, mask: ["city"]) { $0.city = "Karaj" }
        let value3 = try await h.count(segment)
        XCTAssertEqual(value3, 0)
        // A customer created after the segment joins it at once.
        let late = try await h.create { $0.name = "C"; $0.city = "تهران" }
        _ = try await h.pushTraits(late.id, event: "t2", occurredAt: h.clock.now, mask: ["tier"]) { $0.tier = "gold" }
        var members = Cx_Profiles_V1_SegmentMembersRequest()
        members.segmentID = segment.id
        let value4 = try await h.client.call(Cx_Profiles_V1_Segments.segmentMembers, members).customerIds
        XCTAssertEqual(value4, [late.id])
    }

    func testRelativeDatesFlipWithTimeAloneThroughTheFlipIndex() async throws {
        let h = try await ProfilesHarness.start()
        addTeardownBlock { await h.stop() }
        let customer = try await h.create { $0.name = "Recent buyer" }
        _ = try await h.pushTraits(customer.id, event: "p1", occurredAt: h.clock.now, mask: ["last_purchase_at"]) {
            $0.lastPurchaseAt = .init(date: h.clock.now)
        }
        let active = try await h.defineSegment("Bought in the last 30 days", "traits.last_purchase_at >= now - 30d")
        XCTAssertEqual(active.memberCount, 1)
        h.clock.advance(days: 29)
        let value5 = try await h.service.processDueSegmentFlips()
        XCTAssertEqual(value5, 0, "nothing is due before 30 days")
        let value6 = try await h.count(active)
        XCTAssertEqual(value6, 1)
        h.clock.advance(days: 2)
        let value7 = try await h.service.processDueSegmentFlips()
        XCTAssertEqual(value7, 1)
        let value8 = try await h.count(active)
        XCTAssertEqual(value8, 0)
        let value9 = try await h.service.processDueSegmentFlips()
        XCTAssertEqual(value9, 0, "a handled flip is not due again")
    }

    func testAgeSegmentGainsACustomerOnTheir18thBirthdayThroughTheFlipIndex() async throws {
        let h = try await ProfilesHarness.start()
        addTeardownBlock { await h.stop() }
        // Born 18 years before the UTC day ten days from now: 18 at midnight UTC of that day.
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(identifier: "UTC")!
        let birthday = utc.dateComponents([.year, .month, .day], from: h.clock.now.addingTimeInterval(10 * 86_400))
        func birthDate(yearsBefore years: Int) -> Cx_Common_V1_Date {
            .with { $0.year = Int32(birthday.year! - years); $0.month = Int32(birthday.month!); $0.day = Int32(birthday.day!) }
        }
        let teen = try await h.create { $0.name = "Almost 18"; $0.birthDate = birthDate(yearsBefore: 18) }
        _ = try await h.create { $0.name = "Age unknown" }
        _ = try await h.create { $0.name = "Adult"; $0.birthDate = birthDate(yearsBefore: 40) }
        let adults = try await h.defineSegment("Adults", "age >= 18")
        XCTAssertEqual(adults.memberCount, 1)
        h.clock.advance(days: 9)
        let dueEarly = try await h.service.processDueSegmentFlips()
        XCTAssertEqual(dueEarly, 0, "nothing is due before the 18th birthday")
        let before = try await h.count(adults)
        XCTAssertEqual(before, 1)
        h.clock.advance(days: 2)
        let due = try await h.service.processDueSegmentFlips()
        XCTAssertEqual(due, 1)
        let after = try await h.count(adults)
        XCTAssertEqual(after, 2)
        let dueAgain = try await h.service.processDueSegmentFlips()
        XCTAssertEqual(dueAgain, 0, "an adult stays one: no flip is left behind")
        // Correcting the birth date re-evaluates the age at once (age reads birth_date).
        _ = try await h.update(teen.id, mask: ["birth_date"]) { $0.birthDate = birthDate(yearsBefore: 10) }
        let corrected = try await h.count(adults)
        XCTAssertEqual(corrected, 1)
    }

    func testConsentSegmentsFollowTheMarketingConsentUpdate() async throws {
        let h = try await ProfilesHarness.start()
        addTeardownBlock { await h.stop() }
        let customer = try await h.create { $0.name = "A" }
        let consenting = try await h.defineSegment("Consenting", "marketing_consent.given")
        let refused = try await h.defineSegment("Refused", "marketing_consent.given == false")
        XCTAssertEqual(consenting.memberCount, 0)
        XCTAssertEqual(refused.memberCount, 0, "never asked is not refused")
        _ = try await h.update(customer.id, mask: ["marketing_consent"]) { $0.marketingConsent = .with { $0.given = true } }
        let consentingAfterYes = try await h.count(consenting)
        XCTAssertEqual(consentingAfterYes, 1)
        _ = try await h.update(customer.id, mask: ["marketing_consent"]) { $0.marketingConsent = .with { $0.given = false } }
        let consentingAfterNo = try await h.count(consenting)
        let refusedAfterNo = try await h.count(refused)
        XCTAssertEqual(consentingAfterNo, 0)
        XCTAssertEqual(refusedAfterNo, 1)
    }

    func testRuleErrorsCarryLineAndColumn() async throws {
        let h = try await ProfilesHarness.start()
        addTeardownBlock { await h.stop() }
        await assertRPCError(.invalidArgument, field: "segment.rule", reason: "RULE_INVALID", messageContains: "line 2, column 1") {
            try await h.defineSegment("bad", "city == \"x\" and\ntraits.teir == \"gold\"")
        }
        var validate = Cx_Profiles_V1_ValidateRuleRequest()
        validate.rule = "city > 3"
        let answer = try await h.client.call(Cx_Profiles_V1_Segments.validateRule, validate)
        XCTAssertFalse(answer.ok)
        XCTAssertEqual(answer.problems.first?.line, 1)
        XCTAssertEqual(answer.problems.first?.column, 6)
        var list = Cx_Profiles_V1_ListSegmentsRequest()
        list.pageSize = 10
        let value10 = try await h.client.call(Cx_Profiles_V1_Segments.listSegments, list).segments.count
        XCTAssertEqual(value10, 0)
    }

    func testDefineUpdateDeleteAndNamesAreUnique() async throws {
        let h = try await ProfilesHarness.start()
        addTeardownBlock { await h.stop() }
        for index in 0..<5 { _ = try await h.create { $0.name = "n\(index)"; $0.attributes = ["goal": index.isMultiple(of: 2) ? "save" : "spend"] } }
        let savers = try await h.defineSegment("Savers", #"attributes.goal == "save""#)
        XCTAssertEqual(savers.memberCount, 3)
        await assertRPCError(.alreadyExists, reason: "SEGMENT_NAME_TAKEN") { try await h.defineSegment("SAVERS", "exists attributes.goal") }
        var update = Cx_Profiles_V1_UpdateSegmentRequest()
        update.segmentID = savers.id
        update.updateMask = ["rule"]
        update.segment.rule = #"attributes.goal == "spend""#
        let updated = try await h.client.call(Cx_Profiles_V1_Segments.updateSegment, update).segment
        XCTAssertEqual(updated.memberCount, 2)
        XCTAssertEqual(updated.version, 2)
        var delete = Cx_Profiles_V1_DeleteSegmentRequest()
        delete.segmentID = savers.id
        _ = try await h.client.call(Cx_Profiles_V1_Segments.deleteSegment, delete)
        await assertRPCError(.notFound, reason: "SEGMENT_NOT_FOUND") { try await h.count(savers) }
        let orphans = try await h.service.store.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM segment_member") ?? -1 }
        XCTAssertEqual(orphans, 0)
    }
}
