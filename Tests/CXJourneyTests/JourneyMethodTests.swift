import CXModel
import CXService
import CXStore
import CXTestSupport
import CXWire
import Foundation
import GRDB
import XCTest

@testable import CXJourney

/// Every journey method over a real loopback server, with its bad input.
final class JourneyMethodTests: XCTestCase {
    typealias J = Cx_Journey_V1_Journey

    func day(_ days: Double) -> Date { Date(timeIntervalSince1970: 1_767_225_600 + days * 86_400) }

    func testRecordEventRefusesBadInputAndChangesNothing() async throws {
        let h = try await JourneyHarness.start()
        addTeardownBlock { await h.stop() }
        await assertRPCError(.notFound, field: "event.touchpoint_id", reason: "TOUCHPOINT_NOT_FOUND") {
            try await h.event("a", "visit", touchpoint: "billboard")
        }
        await assertRPCError(.invalidArgument, field: "event.occurred_at", reason: "EVENT_IN_FUTURE") {
            try await h.event("a", "visit", at: h.clock.now.addingTimeInterval(3_600))
        }
        await assertRPCError(.invalidArgument, field: "event.type") { try await h.event("a", "First Purchase") }
        await assertRPCError(.invalidArgument, field: "event.customer_id") { try await h.event("a b", "visit") }
        await assertRPCError(.invalidArgument, field: "event") { try await h.client.call(J.recordEvent, .init()) }
        await assertRPCError(.invalidArgument, field: "event.attributes") {
            try await h.event("a", "visit", attributes: Dictionary(uniqueKeysWithValues: (0..<33).map { ("k\($0)", "v") }))
        }
        await assertRPCError(.notFound, reason: "CUSTOMER_NOT_FOUND") { try await h.journey("a") }
        // Within the tolerance (5 minutes) is fine: callers' clocks drift.
        let near = try await h.event("a", "visit", at: h.clock.now.addingTimeInterval(120))
        XCTAssertEqual(near.stage, .assessment)

        _ = try await h.client.call(J.retireTouchpoint, .with { $0.id = "sms" })
        await assertRPCError(.failedPrecondition, reason: "TOUCHPOINT_RETIRED") { try await h.event("a", "visit", touchpoint: "sms") }
        let journey = try await h.journey("a")
        XCTAssertEqual(journey.eventCount, 1, "refused events left no trace")
    }

    func testRetriedEventIsRecordedOnceAndAReusedKeyIsRefused() async throws {
        let h = try await JourneyHarness.start()
        addTeardownBlock { await h.stop() }
        let first = try await h.event("a", "first_purchase", touchpoint: "store", key: "pos-17")
        let retry = try await h.event("a", "first_purchase", touchpoint: "store", key: "pos-17")
        XCTAssertEqual(first, retry)
        XCTAssertEqual(first.tasksCreated, 9)
        let journey = try await h.journey("a")
        XCTAssertEqual(journey.eventCount, 1)
        XCTAssertEqual(journey.openTasks.count, 9, "tasks made once")
        await assertRPCError(.failedPrecondition, reason: "IDEMPOTENCY_KEY_REUSED") {
            try await h.event("a", "visit", key: "pos-17")
        }
    }

    func testARetryAfterItsTouchpointRetiredGetsItsFirstAnswer() async throws {
        let h = try await JourneyHarness.start()
        addTeardownBlock { await h.stop() }
        let first = try await h.event("a", "visit", touchpoint: "sms", key: "sms-1")
        _ = try await h.client.call(J.retireTouchpoint, .with { $0.id = "sms" })
        let retry = try await h.event("a", "visit", touchpoint: "sms", key: "sms-1")
        XCTAssertEqual(retry, first, "the stored answer, not TOUCHPOINT_RETIRED")
        await assertRPCError(.failedPrecondition, reason: "TOUCHPOINT_RETIRED") {
            try await h.event("a", "visit", touchpoint: "sms", key: "sms-2")
        }
        let batch = try await h.client.call(J.recordEvents, .with {
            $0.events = [
                JourneyHarness.makeEvent("a", "visit", touchpoint: "sms", key: "sms-1"),
                JourneyHarness.makeEvent("a", "visit", touchpoint: "sms", key: "sms-3"),
            ]
        })
        XCTAssertEqual(batch.results.map(\.reason), ["", "TOUCHPOINT_RETIRED"])
        XCTAssertEqual(batch.results.first?.response, first)
        let journey = try await h.journey("a")
        XCTAssertEqual(journey.eventCount, 1)
    }

    func testForwardOnlyLateEventsInOrderAndMoveStageBack() async throws {
        let clock = ManualClock(day(10))
        let h = try await JourneyHarness.start(clock: clock)
        addTeardownBlock { await h.stop() }
        try await h.event("a", "visit", at: day(5))
        try await h.event("a", "repeat_purchase", at: day(8))
        // An earlier-stage event is recorded and moves nothing.
        let visit = try await h.event("a", "inquiry", at: day(9))
        XCTAssertFalse(visit.moved)
        XCTAssertEqual(visit.stage, .acceptance)
        // A late event is placed in time order.
        try await h.event("a", "email_open", touchpoint: "email", at: day(6))
        let events = try await h.client.call(J.listEvents, .with {
            $0.customerID = "a"
            $0.pageSize = 3
        })
        XCTAssertEqual(events.events.map(\.event.type), ["inquiry", "repeat_purchase", "email_open"])
        XCTAssertEqual(events.events[1].stageBefore, .assessment)
        XCTAssertEqual(events.events[1].stageAfter, .acceptance)
        let rest = try await h.client.call(J.listEvents, .with {
            $0.customerID = "a"
            $0.pageSize = 3
            $0.pageToken = events.nextPageToken
        })
        XCTAssertEqual(rest.events.map(\.event.type), ["visit"])
        XCTAssertEqual(rest.nextPageToken, "")
        // A late forward event is entered no earlier than the current stay began.
        let late = try await h.event("a", "review", at: day(7))
        XCTAssertEqual(late.stage, .advocacy)
        var journey = try await h.journey("a")
        XCTAssertEqual(journey.stageEnteredAt.date, day(8))
        XCTAssertEqual(journey.admittedAt.date, day(8), "skipping past admission still admits")
        XCTAssertEqual(journey.firstSeenAt.date, day(5))
        try await h.event("a", "ad_seen", at: day(1))
        let earlier = try await h.journey("a")
        XCTAssertEqual(earlier.firstSeenAt.date, day(1), "a late event moves first_seen_at back")

        await assertRPCError(.invalidArgument, field: "reason") {
            try await h.client.call(J.moveStage, .with {
                $0.customerID = "a"
                $0.stage = .activation
            })
        }
        await assertRPCError(.notFound, reason: "CUSTOMER_NOT_FOUND") {
            try await h.client.call(J.moveStage, .with {
                $0.customerID = "nobody"
                $0.stage = .activation
                $0.reason = "x"
            })
        }
        let moved = try await h.client.call(J.moveStage, .with {
            $0.customerID = "a"
            $0.stage = .activation
            $0.reason = "Refunded everything; starting over"
        })
        XCTAssertEqual(moved.stageBefore, .advocacy)
        XCTAssertEqual(moved.stage, .activation)
        journey = try await h.journey("a")
        XCTAssertEqual(journey.history.last?.cause, .manual)
        XCTAssertEqual(journey.history.last?.detail, "Refunded everything; starting over")
        XCTAssertEqual(journey.openTasks.count, 9, "one plan per customer, whatever the moves")
    }

    func testBatchAppliesGoodEventsAndReportsEachBadOneByIndex() async throws {
        let h = try await JourneyHarness.start()
        addTeardownBlock { await h.stop() }
        let batch = try await h.client.call(J.recordEvents, .with {
            $0.events = [
                JourneyHarness.makeEvent("b1", "visit", touchpoint: "website", key: "k1"),
                JourneyHarness.makeEvent("b1", "first_purchase", touchpoint: "nowhere", key: "k2"),
                JourneyHarness.makeEvent("b2", "first_purchase", key: "k3"),
                JourneyHarness.makeEvent("b1", "BAD", key: "k4"),
                JourneyHarness.makeEvent("b1", "delivery", key: "k5"),
                JourneyHarness.makeEvent("b2", "visit", key: "k1"),
            ]
        })
        XCTAssertEqual(batch.recorded, 3)
        XCTAssertEqual(batch.failed, 3)
        XCTAssertEqual(batch.results.map(\.code), [0, Int32(RPCCode.notFound.rawValue), 0, Int32(RPCCode.invalidArgument.rawValue), 0,
            Int32(RPCCode.failedPrecondition.rawValue)])
        XCTAssertTrue(batch.results[1].message.contains("events[1].touchpoint_id"), batch.results[1].message)
        XCTAssertEqual(batch.results[1].reason, "TOUCHPOINT_NOT_FOUND")
        XCTAssertTrue(batch.results[3].message.contains("events[3].type"), batch.results[3].message)
        XCTAssertEqual(batch.results[5].reason, "IDEMPOTENCY_KEY_REUSED")
        XCTAssertEqual(batch.results[4].response.stage, .activation, "b1 went from assessment to activation in order")
        let b1 = try await h.journey("b1")
        XCTAssertEqual(b1.eventCount, 2)
        XCTAssertEqual(b1.stage, .activation)
        XCTAssertEqual(b1.openTasks.count, 9)
        // The same batch again is a retry: nothing doubles.
        let again = try await h.client.call(J.recordEvents, .with {
            $0.events = [JourneyHarness.makeEvent("b1", "visit", touchpoint: "website", key: "k1")]
        })
        XCTAssertEqual(again.results.first?.response, batch.results[0].response)
        let counted = try await h.journey("b1")
        XCTAssertEqual(counted.eventCount, 2)

        await assertRPCError(.invalidArgument, field: "events") { try await h.client.call(J.recordEvents, .init()) }
        await assertRPCError(.invalidArgument, field: "events") {
            try await h.client.call(J.recordEvents, .with { $0.events = Array(repeating: JourneyHarness.makeEvent("x", "visit"), count: 1_001) })
        }
    }

    func testLoyaltyEventsBecomeJourneyEventsOnce() async throws {
        let h = try await JourneyHarness.start()
        addTeardownBlock { await h.stop() }
        var purchase = Cx_Loyalty_V1_LoyaltyEvent()
        purchase.eventID = "loyalty:0000000001:c1:2:purchase"
        purchase.kind = .firstPurchase
        purchase.customerID = "c1"
        purchase.occurredAt = .init(date: h.clock.now.addingTimeInterval(-60))
        purchase.orderID = "A-1"
        purchase.amount = .with {
            $0.minorUnits = 1_500_000
            $0.currency = "IRR"
        }
        purchase.channel = .web
        let first = try await h.client.call(J.recordLoyaltyEvent, purchase)
        XCTAssertEqual(first.outcome, .recorded)
        XCTAssertEqual(first.stage, .admission)
        let duplicate = try await h.client.call(J.recordLoyaltyEvent, purchase)
        XCTAssertEqual(duplicate.outcome, .duplicate)
        let journey = try await h.journey("c1")
        XCTAssertEqual(journey.eventCount, 1)
        XCTAssertEqual(journey.recentEvents.first?.event.type, "first_purchase")
        XCTAssertEqual(journey.recentEvents.first?.event.touchpointID, "website")
        XCTAssertEqual(journey.recentEvents.first?.event.attributes["order_id"], "A-1")
        XCTAssertEqual(journey.recentEvents.first?.event.attributes["amount_minor_units"], "1500000")

        var referral = Cx_Loyalty_V1_LoyaltyEvent()
        referral.eventID = "loyalty:0000000002:c1:3:referred"
        referral.kind = .referral
        referral.customerID = "c1"
        referral.otherCustomerID = "c2"
        let value1 = try await h.client.call(J.recordLoyaltyEvent, referral)
        XCTAssertEqual(value1.stage, .advocacy)

        await assertRPCError(.invalidArgument, field: "event_id") {
            try await h.client.call(J.recordLoyaltyEvent, .with {
                $0.kind = .purchase
                $0.customerID = "c1"
            })
        }
        await assertRPCError(.invalidArgument, field: "kind") {
            try await h.client.call(J.recordLoyaltyEvent, .with {
                $0.eventID = "e"
                $0.customerID = "c1"
            })
        }
    }

    func testRulesRefuseMalformedRulesNamingTheFieldAndGuardVersions() async throws {
        let h = try await JourneyHarness.start()
        addTeardownBlock { await h.stop() }
        let rules = try await h.rules()
        XCTAssertEqual(rules.version, 1)
        XCTAssertEqual(rules.moves.count, 13)
        func refused(_ field: String, _ change: (inout Cx_Journey_V1_Rules) -> Void) async {
            var bad = rules
            change(&bad)
            await assertRPCError(.invalidArgument, field: field) {
                try await h.client.call(J.updateRules, .with { $0.rules = bad })
            }
        }
        await refused("rules.moves[3].stage") { $0.moves[3].stage = .lost }
        await refused("rules.moves[0].event_type") { $0.moves[0].eventType = "Visit!" }
        await refused("rules.moves[1].event_type") { $0.moves[1].eventType = $0.moves[0].eventType }
        await refused("rules.stages") { $0.stages.removeLast() }
        await refused("rules.stages[2].quiet_days") { $0.stages[2].quietDays = 0 }
        await refused("rules.stages[1].stage") { $0.stages[1].stage = $0.stages[0].stage }
        await refused("rules.future_tolerance_seconds") { $0.futureToleranceSeconds = -1 }
        let value2 = try await h.rules()
        XCTAssertEqual(value2.version, 1, "refused rules changed nothing")

        var custom = rules
        custom.moves.append(.with {
            $0.eventType = "webinar_attended"
            $0.stage = .accomplishment
        })
        let updated = try await h.client.call(J.updateRules, .with {
            $0.rules = custom
            $0.expectedVersion = 1
        })
        XCTAssertEqual(updated.rules.version, 2)
        let value3 = try await h.event("w", "webinar_attended")
        XCTAssertEqual(value3.stage, .accomplishment)
        await assertRPCError(.failedPrecondition, reason: "VERSION_CONFLICT") {
            try await h.client.call(J.updateRules, .with {
                $0.rules = custom
                $0.expectedVersion = 1
            })
        }
    }

    func testTouchpointCatalogue() async throws {
        let h = try await JourneyHarness.start()
        addTeardownBlock { await h.stop() }
        let defaults = try await h.client.call(J.listTouchpoints, .init()).touchpoints
        XCTAssertEqual(defaults.count, 12)
        XCTAssertTrue(defaults.contains { $0.id == "after-sales" && $0.channel == .afterSales })
        let kiosk = Cx_Journey_V1_Touchpoint.with {
            $0.id = "kiosk-tehran"
            $0.name = "کیوسک فروشگاه تهران"
            $0.channel = .store
            $0.stages = [.assessment, .admission]
        }
        let created = try await h.client.call(J.createTouchpoint, .with { $0.touchpoint = kiosk })
        XCTAssertEqual(created.touchpoint.name, "کیوسک فروشگاه تهران")
        await assertRPCError(.alreadyExists) { try await h.client.call(J.createTouchpoint, .with { $0.touchpoint = kiosk }) }
        await assertRPCError(.invalidArgument, field: "touchpoint.channel") {
            try await h.client.call(J.createTouchpoint, .with {
                $0.touchpoint = kiosk
                $0.touchpoint.id = "other"
                $0.touchpoint.channel = .unspecified
            })
        }
        await assertRPCError(.invalidArgument, field: "touchpoint.stages[1]") {
            try await h.client.call(J.createTouchpoint, .with {
                $0.touchpoint = kiosk
                $0.touchpoint.id = "other"
                $0.touchpoint.stages = [.advocacy, .lost]
            })
        }
        await assertRPCError(.notFound, reason: "TOUCHPOINT_NOT_FOUND") {
            try await h.client.call(J.updateTouchpoint, .with {
                $0.touchpoint = kiosk
                $0.touchpoint.id = "missing"
            })
        }
        let renamed = try await h.client.call(J.updateTouchpoint, .with {
            $0.touchpoint = kiosk
            $0.touchpoint.name = "Kiosk"
        })
        XCTAssertEqual(renamed.touchpoint.name, "Kiosk")
        try await h.event("k", "visit", touchpoint: "kiosk-tehran")
        _ = try await h.client.call(J.retireTouchpoint, .with { $0.id = "kiosk-tehran" })
        let listed = try await h.client.call(J.listTouchpoints, .init()).touchpoints
        XCTAssertFalse(listed.contains { $0.id == "kiosk-tehran" })
        let all = try await h.client.call(J.listTouchpoints, .with { $0.includeRetired = true }).touchpoints
        XCTAssertEqual(all.first { $0.id == "kiosk-tehran" }?.retired, true)
        let activity = try await h.client.call(J.touchpointActivity, .init())
        XCTAssertEqual(activity.touchpoints.first?.touchpointID, "kiosk-tehran", "retired touchpoints keep their history")
        XCTAssertEqual(activity.touchpoints.first?.byStage.first?.stage, .assessment)
    }

    func testPlanTemplatesChooseByProductAndTasksCloseOnce() async throws {
        let h = try await JourneyHarness.start()
        addTeardownBlock { await h.stop() }
        var template = Cx_Journey_V1_PlanTemplate()
        template.id = "espresso"
        template.name = "Espresso machine owners"
        template.product = "espresso-pro"
        template.steps = [
            .with {
                $0.dayOffset = 7
                $0.stage = .activation
                $0.action = "Descaling reminder"
                $0.ownerRole = "support"
            },
            .with {
                $0.dayOffset = 0
                $0.stage = .affirmation
                $0.touchpointID = "sms"
                $0.action = "پیامک تشکر"
                $0.ownerRole = "success"
            },
        ]
        let put = try await h.client.call(J.putPlanTemplate, .with { $0.template = template })
        XCTAssertTrue(put.created)
        XCTAssertEqual(put.template.steps.map(\.dayOffset), [0, 7], "kept in day order")
        var bad = template
        bad.steps[0].dayOffset = 400
        await assertRPCError(.invalidArgument, field: "template.steps[0].day_offset") {
            try await h.client.call(J.putPlanTemplate, .with { $0.template = bad })
        }
        bad = template
        bad.steps[1].touchpointID = "nowhere"
        await assertRPCError(.notFound, field: "template.steps[1].touchpoint_id") {
            try await h.client.call(J.putPlanTemplate, .with { $0.template = bad })
        }
        await assertRPCError(.failedPrecondition, reason: "DEFAULT_TEMPLATE") {
            try await h.client.call(J.deletePlanTemplate, .with { $0.id = "default" })
        }
        let templates = try await h.client.call(J.listPlanTemplates, .init()).templates
        XCTAssertEqual(templates.map(\.id), ["default", "espresso"])

        let admitted = try await h.event("buyer", "first_purchase", attributes: ["product": "espresso-pro"])
        XCTAssertEqual(admitted.tasksCreated, 2)
        let journey = try await h.journey("buyer")
        XCTAssertEqual(journey.planTemplateID, "espresso")
        XCTAssertEqual(journey.openTasks.map(\.action), ["پیامک تشکر", "Descaling reminder"])
        let bySupport = try await h.tasks { $0.ownerRole = "support" }
        XCTAssertEqual(bySupport.map(\.action), ["Descaling reminder"])

        // One batch admits several customers; the templates it reads once
        // serve each of them according to their own attributes.
        let batch = try await h.client.call(J.recordEvents, .with {
            $0.events = [
                JourneyHarness.makeEvent("b-1", "first_purchase", attributes: ["product": "kettle"]),
                JourneyHarness.makeEvent("b-2", "first_purchase", attributes: ["product": "espresso-pro"]),
                JourneyHarness.makeEvent("b-3", "first_purchase"),
                JourneyHarness.makeEvent("b-4", "first_purchase", attributes: ["plan": "espresso"]),
                JourneyHarness.makeEvent("b-5", "first_purchase", attributes: ["plan": "no-such-plan", "product": "espresso-pro"]),
            ]
        })
        XCTAssertEqual(batch.recorded, 5)
        var chosen: [String] = []
        for customer in ["b-1", "b-2", "b-3", "b-4", "b-5"] { chosen.append(try await h.journey(customer).planTemplateID) }
        XCTAssertEqual(chosen, ["default", "espresso", "default", "espresso", "espresso"])
        XCTAssertEqual(batch.results.map(\.response.tasksCreated), [Int32(PlanTemplates.defaultTemplate().steps.count), 2, Int32(PlanTemplates.defaultTemplate().steps.count), 2, 2])

        let task = journey.openTasks[0]
        let done = try await h.client.call(J.completeTask, .with {
            $0.taskID = task.id
            $0.idempotencyKey = "done-1"
        })
        XCTAssertEqual(done.task.state, .done)
        let retried = try await h.client.call(J.completeTask, .with {
            $0.taskID = task.id
            $0.idempotencyKey = "done-1"
        })
        XCTAssertEqual(retried, done, "a retry gets the first answer")
        await assertRPCError(.failedPrecondition, reason: "TASK_CLOSED") {
            try await h.client.call(J.completeTask, .with { $0.taskID = task.id })
        }
        await assertRPCError(.failedPrecondition, reason: "TASK_CLOSED") {
            try await h.client.call(J.skipTask, .with {
                $0.taskID = task.id
                $0.reason = "not needed"
            })
        }
        await assertRPCError(.invalidArgument, field: "reason") {
            try await h.client.call(J.skipTask, .with { $0.taskID = journey.openTasks[1].id })
        }
        await assertRPCError(.invalidArgument, field: "task_id") { try await h.client.call(J.completeTask, .with { $0.taskID = "buyer" }) }
        await assertRPCError(.notFound, reason: "TASK_NOT_FOUND") {
            try await h.client.call(J.completeTask, .with { $0.taskID = "buyer/99" })
        }
        let skipped = try await h.client.call(J.skipTask, .with {
            $0.taskID = journey.openTasks[1].id
            $0.reason = "Customer asked not to be called"
        })
        XCTAssertEqual(skipped.task.state, .skipped)
        let value4 = try await h.journey("buyer")
        XCTAssertEqual(value4.openTasks.count, 0)

        _ = try await h.client.call(J.deletePlanTemplate, .with { $0.id = "espresso" })
        let other = try await h.event("buyer2", "first_purchase", attributes: ["product": "espresso-pro"])
        XCTAssertEqual(other.tasksCreated, 9, "back to the default plan")
        await assertRPCError(.notFound, reason: "TEMPLATE_NOT_FOUND") {
            try await h.client.call(J.deletePlanTemplate, .with { $0.id = "espresso" })
        }
    }

    func testStageChangesGoToProfilesThroughTheOutboxAndSurviveRestart() async throws {
        let directory = temporaryDirectory("cx-journey-test")
        let h = try await JourneyHarness.start(destinations: [.profiles], directory: directory)
        try await h.event("p", "visit")
        try await h.event("p", "email_open")
        try await h.event("p", "first_purchase")
        let pending = try await h.service.store.read { db in
            try Row.fetchAll(db, sql: "SELECT destination, method, payload FROM cx_outbox ORDER BY sequence").map { row in
                (row["destination"] as String, row["method"] as String,
                 try row.decode(RecordBody.self, forColumn: "payload").bytes(table: "cx_outbox", key: "test"))
            }
        }
        XCTAssertEqual(pending.count, 2, "one per stage change, none for an event that moved nothing")
        let traits = try pending.map { destination, method, payload -> Cx_Profiles_V1_UpdateTraitsRequest in
            XCTAssertEqual(destination, "profiles")
            XCTAssertEqual(method, "/cx.profiles.v1.Customers/UpdateTraits")
            return try Cx_Profiles_V1_UpdateTraitsRequest(serializedBytes: [UInt8](payload))
        }
        XCTAssertEqual(traits.map(\.traits.journeyStage), ["assessment", "admission"])
        XCTAssertEqual(traits.map(\.source), ["journey", "journey"])
        XCTAssertEqual(Set(traits.map(\.eventID)).count, 2)
        await h.stop(keep: true)

        let reopened = try await JourneyHarness.start(destinations: [.profiles], directory: directory)
        addTeardownBlock { await reopened.stop() }
        let journey = try await reopened.journey("p")
        XCTAssertEqual(journey.stage, .admission)
        XCTAssertEqual(journey.eventCount, 3)
        let value5 = try await reopened.rules()
        XCTAssertEqual(value5.version, 1, "defaults are not seeded twice")
        let funnel = try await reopened.funnel()
        XCTAssertEqual(funnel.stage(.admission).customersNow, 1)
    }

    func testStalledPagesAcrossStagesAndAnalyticsRefuseBadPeriods() async throws {
        let clock = ManualClock(day(1))
        let h = try await JourneyHarness.start(clock: clock)
        addTeardownBlock { await h.stop() }
        for index in 0..<5 { try await h.event("s\(index)", "visit", at: day(Double(index) * 0.1)) }
        for index in 0..<3 { try await h.event("d\(index)", "first_purchase") }
        clock.set(day(20))
        let first = try await h.client.call(J.stalled, .with { $0.pageSize = 4 })
        XCTAssertEqual(first.customers.map(\.customerID), ["s0", "s1", "s2", "s3"])
        XCTAssertEqual(first.counts.map(\.stalled), [5, 3, 0, 0, 0, 0, 0, 0])
        let second = try await h.client.call(J.stalled, .with {
            $0.pageSize = 4
            $0.pageToken = first.nextPageToken
        })
        XCTAssertEqual(second.customers.map(\.customerID), ["s4", "d0", "d1", "d2"])
        XCTAssertEqual(second.customers.last?.normDays, 2)
        XCTAssertEqual(second.nextPageToken, "", "an exactly full last page is the end")
        await assertRPCError(.invalidArgument, field: "page_token") {
            try await h.client.call(J.stalled, .with {
                $0.stage = .admission
                $0.pageToken = first.nextPageToken
            })
        }
        await assertRPCError(.invalidArgument, field: "from") {
            try await h.client.call(J.funnel, .with {
                $0.from = .init(date: self.day(10))
                $0.to = .init(date: self.day(5))
            })
        }
        await assertRPCError(.invalidArgument, field: "from") {
            try await h.client.call(J.funnel, .with { $0.from = .init(date: self.day(-5_000)) })
        }
    }
}
