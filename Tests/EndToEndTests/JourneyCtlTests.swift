import CXModel
import Foundation
import XCTest

/// cxctl's journey commands against the real cx-journey executable.
final class JourneyCtlTests: XCTestCase {
    private var running: RunningService!

    override func setUpWithError() throws {
        running = try RunningService(.journey, extraArguments: ["--profiles-addr", "none", "--lost-interval", "0"])
    }

    override func tearDown() {
        _ = running?.stop()
        running = nil
    }

    private func journey(_ arguments: String...) throws -> CommandResult {
        try runCommand("cxctl", ["journey"] + arguments + ["--addr", running.address])
    }

    private func object(_ result: CommandResult) throws -> [String: Any] {
        let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
        return try XCTUnwrap(json as? [String: Any], result.stdout)
    }

    /// An ISO 8601 time `days` before now (recent, so no one is lost by silence).
    private func daysAgo(_ days: Double) -> String {
        ISO8601DateFormatter().string(from: Date().addingTimeInterval(-days * 86_400))
    }

    func testAnEventMovesTheCustomerAndShowTellsWhereTheyAre() throws {
        let visit = try journey("event", "c-1", "visit", "--touchpoint", "website", "--at", daysAgo(2))
        XCTAssertEqual(visit.status, 0, visit.stderr)
        XCTAssertTrue(visit.stdout.contains("new → assessment (moved)"), visit.stdout)

        let purchase = try journey(
            "event", "c-1", "first_purchase", "--touchpoint", "store", "--attr", "product=لپ‌تاپ", "--key", "order-1", "--json")
        XCTAssertEqual(purchase.status, 0, purchase.stderr)
        let answer = try object(purchase)
        XCTAssertEqual(answer["stage_before"] as? String, "STAGE_ASSESSMENT", purchase.stdout)
        XCTAssertEqual(answer["stage"] as? String, "STAGE_ADMISSION", purchase.stdout)
        XCTAssertEqual(answer["moved"] as? Bool, true, purchase.stdout)
        let created = try XCTUnwrap(answer["tasks_created"] as? Int, "admission makes the 100-day plan's tasks: \(purchase.stdout)")
        XCTAssertGreaterThan(created, 0)
        let retried = try journey(
            "event", "c-1", "first_purchase", "--touchpoint", "store", "--attr", "product=لپ‌تاپ", "--key", "order-1", "--json")
        XCTAssertEqual(retried.stdout, purchase.stdout, "a retry with the same key gets the first answer")

        let shown = try journey("show", "c-1")
        XCTAssertEqual(shown.status, 0, shown.stderr)
        XCTAssertTrue(shown.stdout.contains("admission (0 days, since"), shown.stdout)
        XCTAssertTrue(shown.stdout.contains("first_purchase"), shown.stdout)
        XCTAssertTrue(shown.stdout.contains("product=لپ‌تاپ"), shown.stdout)
        XCTAssertTrue(shown.stdout.contains("(plan default)"), shown.stdout)
        let shownJSON = try object(try journey("show", "c-1", "--json"))
        XCTAssertEqual(shownJSON["stage"] as? String, "STAGE_ADMISSION")
        XCTAssertEqual(shownJSON["event_count"] as? String, "2", "the retried event was recorded once")
        XCTAssertEqual((shownJSON["open_tasks"] as? [Any])?.count, created)

        let events = try journey("events", "c-1", "--page-size", "1", "--all", "--json")
        XCTAssertEqual(events.status, 0, events.stderr)
        XCTAssertEqual((try object(events)["events"] as? [Any])?.count, 2, events.stdout)

        let back = try journey("move", "c-1", "assessment", "--reason", "returned the order")
        XCTAssertEqual(back.status, 0, back.stderr)
        XCTAssertTrue(back.stdout.contains("admission → assessment (by hand)"), back.stdout)
        let history = try journey("show", "c-1")
        XCTAssertTrue(history.stdout.contains("by hand") && history.stdout.contains("returned the order"), history.stdout)

        let unknown = try journey("show", "nobody")
        XCTAssertEqual(unknown.status, 1, unknown.stdout)
        XCTAssertTrue(unknown.stderr.contains("NOT_FOUND (CUSTOMER_NOT_FOUND)"), unknown.stderr)
    }

    func testImportNamesTheBadLinesRecordsTheRestAndRecordsThemOnceWhenRunAgain() throws {
        let csv = running.dataDirectory.appendingPathComponent("events.csv")
        try """
            customer_id,type,touchpoint_id,occurred_at,attributes.product
            c-10,visit,website,\(daysAgo(3)),
            c-10,first_purchase,store,\(daysAgo(2)),laptop
            c-11,visit,website,yesterday,
            c-12,visit,nowhere,\(daysAgo(1)),

            """.write(to: csv, atomically: true, encoding: .utf8)
        let imported = try journey("import", csv.path)
        XCTAssertEqual(imported.status, 1, "a failed event makes the exit status 1: \(imported.stderr)")
        XCTAssertTrue(imported.stdout.contains("2 recorded, 2 failed, of 4 events"), imported.stdout)
        let rows = imported.stdout.split(separator: "\n").map(String.init)
        let badTime = try XCTUnwrap(rows.first { $0.hasPrefix("4 ") }, imported.stdout)
        XCTAssertTrue(badTime.contains("occurred_at") && badTime.contains("yesterday"), badTime)
        let badTouchpoint = try XCTUnwrap(rows.first { $0.hasPrefix("5 ") }, imported.stdout)
        XCTAssertTrue(badTouchpoint.contains("NOT_FOUND") && badTouchpoint.contains("nowhere"), badTouchpoint)

        let shown = try object(try journey("show", "c-10", "--json"))
        XCTAssertEqual(shown["stage"] as? String, "STAGE_ADMISSION")

        let again = try journey("import", csv.path, "--json")
        XCTAssertEqual(again.status, 1, again.stderr)
        let summary = try object(again)
        XCTAssertEqual(summary["recorded"] as? Int, 2, again.stdout)
        let failures = try XCTUnwrap(summary["failures"] as? [[String: Any]], again.stdout)
        XCTAssertEqual(failures.map { $0["line"] as? Int }, [4, 5])
        XCTAssertEqual(failures.first?["field"] as? String, "occurred_at")
        let events = try object(try journey("events", "c-10", "--json"))
        XCTAssertEqual((events["events"] as? [Any])?.count, 2, "events with a time are recorded once however often the file is imported")

        let header = running.dataDirectory.appendingPathComponent("header.csv")
        try "customer_id,type,when\nc-1,visit,\n".write(to: header, atomically: true, encoding: .utf8)
        let badHeader = try journey("import", header.path)
        XCTAssertEqual(badHeader.status, 64, badHeader.stderr)
        XCTAssertTrue(badHeader.stderr.contains("unknown column \"when\""), badHeader.stderr)
    }

    func testTouchpointsAreCreatedListedInLineAndRetired() throws {
        let created = try journey(
            "touchpoints", "create", "--id", "instagram", "--name", "صفحهٔ اینستاگرام", "--channel", "after-sales", "--stage", "activation")
        XCTAssertEqual(created.status, 0, created.stderr)
        XCTAssertTrue(created.stdout.contains("after-sales"), created.stdout)
        let again = try journey("touchpoints", "create", "--id", "instagram", "--name", "x", "--channel", "social")
        XCTAssertEqual(again.status, 1, again.stdout)
        XCTAssertTrue(again.stderr.contains("ALREADY_EXISTS"), again.stderr)

        let listed = try journey("touchpoints")
        XCTAssertEqual(listed.status, 0, listed.stderr)
        let lines = listed.stdout.split(separator: "\n").map(String.init)
        let header = try XCTUnwrap(lines.first)
        let column = try XCTUnwrap(header.range(of: "CHANNEL")).lowerBound
        let offset = header.distance(from: header.startIndex, to: column)
        let persian = try XCTUnwrap(lines.first { $0.contains("صفحهٔ اینستاگرام") }, listed.stdout)
        XCTAssertTrue(String(Array(persian)[offset...]).hasPrefix("after-sales"), "columns line up after Persian text:\n\(listed.stdout)")
        XCTAssertTrue(lines.contains { $0.hasPrefix("website ") }, "a new store has one touchpoint per channel: \(listed.stdout)")

        let updated = try journey("touchpoints", "update", "instagram", "--channel", "social")
        XCTAssertEqual(updated.status, 0, updated.stderr)
        XCTAssertTrue(updated.stdout.contains("صفحهٔ اینستاگرام") && updated.stdout.contains("social"), "the name stays: \(updated.stdout)")

        let retired = try journey("touchpoints", "retire", "instagram")
        XCTAssertEqual(retired.status, 0, retired.stderr)
        XCTAssertTrue(retired.stdout.contains("retired"), retired.stdout)
        XCTAssertFalse(try journey("touchpoints", "list").stdout.contains("instagram"))
        let all = try object(try journey("touchpoints", "list", "--include-retired", "--json"))
        let instagram = try XCTUnwrap((all["touchpoints"] as? [[String: Any]])?.first { $0["id"] as? String == "instagram" })
        XCTAssertEqual(instagram["retired"] as? Bool, true)
        XCTAssertEqual(instagram["channel"] as? String, "CHANNEL_SOCIAL")

        let refused = try journey("event", "c-1", "visit", "--touchpoint", "instagram")
        XCTAssertEqual(refused.status, 1, refused.stdout)
        XCTAssertTrue(refused.stderr.contains("TOUCHPOINT_RETIRED"), refused.stderr)
    }

    func testTasksAreListedCompletedOnceAndSkipped() throws {
        XCTAssertEqual(try journey("event", "c-20", "first_purchase").status, 0)
        let listed = try journey("tasks", "--customer", "c-20", "--json")
        XCTAssertEqual(listed.status, 0, listed.stderr)
        let tasks = try XCTUnwrap(try object(listed)["tasks"] as? [[String: Any]], listed.stdout)
        XCTAssertGreaterThan(tasks.count, 1, listed.stdout)
        let first = try XCTUnwrap(tasks[0]["id"] as? String)
        let second = try XCTUnwrap(tasks[1]["id"] as? String)
        XCTAssertTrue(first.hasPrefix("c-20/"), first)
        let table = try journey("tasks", "--customer", "c-20")
        XCTAssertTrue(table.stdout.hasPrefix("DUE") && table.stdout.contains(first), table.stdout)

        let completed = try journey("tasks", "complete", first, "--note", "تماس گرفتم؛ همه چیز خوب است")
        XCTAssertEqual(completed.status, 0, completed.stderr)
        XCTAssertTrue(completed.stdout.contains("done") && completed.stdout.contains("تماس گرفتم"), completed.stdout)
        let twice = try journey("tasks", "complete", first)
        XCTAssertEqual(twice.status, 1, twice.stdout)
        XCTAssertTrue(twice.stderr.contains("FAILED_PRECONDITION (TASK_CLOSED)"), twice.stderr)

        let skipped = try journey("tasks", "skip", second, "--reason", "customer asked not to be called", "--key", "skip-1")
        XCTAssertEqual(skipped.status, 0, skipped.stderr)
        XCTAssertTrue(skipped.stdout.contains("skipped"), skipped.stdout)
        let retried = try journey("tasks", "skip", second, "--reason", "customer asked not to be called", "--key", "skip-1")
        XCTAssertEqual(retried.status, 0, "a retry with the same key gets the first answer: \(retried.stderr)")

        let done = try object(try journey("tasks", "--customer", "c-20", "--state", "done", "--json"))
        XCTAssertEqual((done["tasks"] as? [[String: Any]])?.map { $0["id"] as? String }, [first])
        let open = try object(try journey("tasks", "list", "--customer", "c-20", "--json"))
        XCTAssertEqual((open["tasks"] as? [Any])?.count, tasks.count - 2)
    }

    func testFunnelStalledAndTouchpointActivityPrint() throws {
        XCTAssertEqual(try journey("event", "c-30", "visit", "--touchpoint", "website").status, 0)
        XCTAssertEqual(try journey("event", "c-31", "first_purchase", "--touchpoint", "store").status, 0)

        let funnel = try journey("funnel")
        XCTAssertEqual(funnel.status, 0, funnel.stderr)
        for stage in ["assessment", "admission", "advocacy", "CONVERSION", "won back in the period"] {
            XCTAssertTrue(funnel.stdout.contains(stage), funnel.stdout)
        }
        let funnelJSON = try object(try journey("funnel", "--from", "2026-01-01", "--json"))
        XCTAssertEqual((funnelJSON["stages"] as? [Any])?.count, 8, "\(funnelJSON)")
        XCTAssertEqual(funnelJSON["customers"] as? String, "2")

        let stalled = try journey("stalled", "--stage", "admission")
        XCTAssertEqual(stalled.status, 0, stalled.stderr)
        XCTAssertTrue(stalled.stdout.hasPrefix("STAGE"), stalled.stdout)

        let activity = try journey("touchpoint-activity", "--json")
        XCTAssertEqual(activity.status, 0, activity.stderr)
        let entries = try XCTUnwrap(try object(activity)["touchpoints"] as? [[String: Any]], activity.stdout)
        XCTAssertEqual(Set(entries.compactMap { $0["touchpoint_id"] as? String }), ["website", "store"])
        XCTAssertEqual(try journey("touchpoint-activity").status, 0)
    }

    func testRulesAndPlansGoBackAsTheirJSONShowsThem() throws {
        let rulesFile = running.dataDirectory.appendingPathComponent("rules.json")
        let shown = try journey("rules", "show", "--json")
        XCTAssertEqual(shown.status, 0, shown.stderr)
        try shown.stdout.write(to: rulesFile, atomically: true, encoding: .utf8)
        let set = try journey("rules", "set", rulesFile.path, "--expected-version", "1")
        XCTAssertEqual(set.status, 0, set.stderr)
        XCTAssertTrue(set.stdout.hasPrefix("version 2 of the rules is in force"), set.stdout)
        let stale = try journey("rules", "set", rulesFile.path, "--expected-version", "1")
        XCTAssertEqual(stale.status, 1, stale.stdout)
        XCTAssertTrue(stale.stderr.contains("VERSION_CONFLICT"), stale.stderr)

        let planFile = running.dataDirectory.appendingPathComponent("plan.json")
        let plan = try journey("plans", "show", "default", "--json")
        XCTAssertEqual(plan.status, 0, plan.stderr)
        try plan.stdout.replacingOccurrences(of: #""id":"default""#, with: #""id":"laptop""#)
            .write(to: planFile, atomically: true, encoding: .utf8)
        let put = try journey("plans", "put", planFile.path)
        XCTAssertEqual(put.status, 0, put.stderr)
        XCTAssertTrue(put.stdout.hasPrefix("plan template laptop created"), put.stdout)
        XCTAssertTrue(try journey("plans").stdout.contains("laptop"))
        XCTAssertEqual(try journey("plans", "delete", "laptop").status, 0)
        let keep = try journey("plans", "delete", "default")
        XCTAssertEqual(keep.status, 1, keep.stdout)
        XCTAssertTrue(keep.stderr.contains("DEFAULT_TEMPLATE"), keep.stderr)
    }

    func testABadStageOrChannelExits64AndListsTheValidOnes() throws {
        let stage = try journey("move", "c-1", "onboarding", "--reason", "x")
        XCTAssertEqual(stage.status, 64, stage.stderr)
        for name in ["assessment", "admission", "affirmation", "activation", "acclimation", "accomplishment", "acceptance", "advocacy"] {
            XCTAssertTrue(stage.stderr.contains(name), stage.stderr)
        }
        XCTAssertTrue(stage.stderr.contains("onboarding"), stage.stderr)

        let channel = try journey("touchpoints", "create", "--id", "fax", "--name", "Fax", "--channel", "fax")
        XCTAssertEqual(channel.status, 64, channel.stderr)
        XCTAssertTrue(channel.stderr.contains("after-sales"), channel.stderr)

        let lost = try journey("stalled", "--stage", "lost")
        XCTAssertEqual(lost.status, 64, lost.stderr)
        XCTAssertTrue(lost.stderr.contains("advocacy"), lost.stderr)
    }
}
