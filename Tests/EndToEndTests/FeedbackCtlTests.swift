import CXModel
import Foundation
import XCTest

/// cxctl's feedback commands against the real cx-feedback executable.
final class FeedbackCtlTests: XCTestCase {
    private var running: RunningService!

    override func setUpWithError() throws {
        running = try RunningService(.feedback, extraArguments: ["--loyalty-addr", "none", "--journey-addr", "none", "--profiles-addr", "none"])
    }

    override func tearDown() {
        _ = running?.stop()
        running = nil
    }

    private func feedback(_ arguments: String...) throws -> CommandResult {
        try runCommand("cxctl", ["feedback"] + arguments + ["--addr", running.address])
    }

    /// Creates the survey every test answers: NPS, CSAT, a choice and text, in Persian.
    private func createSurvey() throws -> CommandResult {
        let file = running.dataDirectory.appendingPathComponent("survey.json")
        try """
            {"id": "after-delivery", "name": "نظرسنجی پس از تحویل", "touchpoint_id": "logistics",
             "stage": "affirmation",
             "questions": [
               {"id": "nps", "kind": "KIND_NPS", "required": true,
                "text": "چقدر احتمال دارد ما را به دوستانتان پیشنهاد کنید؟"},
               {"id": "csat", "kind": "KIND_CSAT", "text": "از خرید راضی بودید؟"},
               {"id": "speed", "kind": "KIND_MULTIPLE_CHOICE", "text": "چه چیزی؟",
                "options": ["سریع", "کند", "بسته‌بندی"]},
               {"id": "reason", "kind": "KIND_TEXT", "text": "چرا؟"}]}
            """.write(to: file, atomically: true, encoding: .utf8)
        return try feedback("surveys", "create", "--file", file.path)
    }

    func testASurveyFromJSONTakesResponsesADetractorOpensAComplaintAndScoresShowTheSample() throws {
        let created = try createSurvey()
        XCTAssertEqual(created.status, 0, created.stderr)
        XCTAssertTrue(created.stdout.hasPrefix("survey after-delivery created and open"), created.stdout)
        XCTAssertTrue(created.stdout.contains("نظرسنجی پس از تحویل") && created.stdout.contains("multiple-choice"), created.stdout)
        let shown = try feedback("surveys", "show", "after-delivery", "--json").jsonObject()
        let survey = try XCTUnwrap(shown["survey"] as? [String: Any])
        XCTAssertEqual(survey["state"] as? String, "STATE_OPEN")
        XCTAssertEqual((survey["questions"] as? [Any])?.count, 4)

        let detractor = try feedback(
            "respond", "after-delivery", "cust-1", "--answer", "nps=۲", "--answer", "csat=2", "--answer", "speed=کند,بسته‌بندی",
            "--answer", "reason=بسته دیر رسید", "--channel", "in-store")
        XCTAssertEqual(detractor.status, 0, detractor.stderr)
        XCTAssertTrue(detractor.stdout.contains("detractor"), detractor.stdout)
        let complaintID = try XCTUnwrap(
            detractor.stdout.split(separator: " ").first { $0.hasPrefix("cmp-") }.map(String.init), "a detractor opens a follow-up: \(detractor.stdout)")
        for customer in ["cust-2", "cust-3"] {
            let promoter = try feedback("respond", "after-delivery", customer, "--answer", "nps=10", "--answer", "csat=5", "--json")
            XCTAssertEqual(promoter.status, 0, promoter.stderr)
            let answer = try promoter.jsonObject()
            XCTAssertEqual(answer["nps_category"] as? String, "NPS_CATEGORY_PROMOTER", promoter.stdout)
            XCTAssertNil(answer["complaint_id"], "a promoter opens no complaint")
            XCTAssertTrue((answer["response_id"] as? String)?.hasPrefix("r-") ?? false, promoter.stdout)
        }

        let outOfRange = try feedback("respond", "after-delivery", "cust-4", "--answer", "nps=11")
        XCTAssertEqual(outOfRange.status, 1, outOfRange.stdout)
        XCTAssertTrue(outOfRange.stderr.contains("INVALID_ARGUMENT") && outOfRange.stderr.contains("answers[0].score"), outOfRange.stderr)
        let unknown = try feedback("respond", "after-delivery", "cust-4", "--answer", "effort=3")
        XCTAssertEqual(unknown.status, 64, unknown.stdout)
        XCTAssertTrue(unknown.stderr.contains("nps (nps)") && unknown.stderr.contains("reason (text)"), unknown.stderr)

        // One detractor and two promoters: NPS (2 - 1) / 3 = 33.3 from 3 answers; CSAT 2 of 3.
        let scores = try feedback("scores", "--survey", "after-delivery")
        XCTAssertEqual(scores.status, 0, scores.stderr)
        let lines = scores.stdout.split(separator: "\n").map(String.init)
        let header = try XCTUnwrap(lines.first { $0.hasPrefix("PERIOD") }, scores.stdout)
        XCTAssertEqual(header.split(separator: " ", omittingEmptySubsequences: true).count, 11, header)
        let total = try XCTUnwrap(lines.first { $0.hasPrefix("total") }, scores.stdout).split(separator: " ").map(String.init)
        XCTAssertEqual(Array(total.prefix(6)), ["total", "3", "33.3", "3", "66.7%", "3"], scores.stdout)
        XCTAssertTrue(scores.stdout.contains("NPS: 2 promoters, 0 passives, 1 detractor;"), scores.stdout)
        let byDay = try feedback("scores", "--touchpoint", "logistics", "--by", "day", "--json").jsonObject()
        XCTAssertEqual((byDay["buckets"] as? [Any])?.count, 30, "the default period is 30 days, empty ones included: \(byDay)")
        let totals = try XCTUnwrap(byDay["total"] as? [String: Any])
        XCTAssertEqual(totals["nps_answers"] as? String, "3")
        XCTAssertEqual(try XCTUnwrap(totals["nps"] as? Double), 100.0 / 3, accuracy: 0.001)

        let ranked = try feedback("rank", "--min-sample", "3")
        XCTAssertEqual(ranked.status, 0, ranked.stderr)
        XCTAssertTrue(ranked.stdout.contains("1  logistics"), ranked.stdout)
        let tooFew = try feedback("rank", "--metric", "ces", "--json").jsonObject()
        XCTAssertEqual(tooFew["too_few"] as? [String], ["logistics"], "no one answered a CES question: \(tooFew)")

        let complaints = try feedback("complaints", "--customer", "cust-1", "--json").jsonObject()
        let listed = try XCTUnwrap(complaints["complaints"] as? [[String: Any]], "\(complaints)")
        XCTAssertEqual(listed.map { $0["id"] as? String }, [complaintID])
        XCTAssertEqual(listed.first?["category"] as? String, "nps_follow_up")
        XCTAssertEqual(listed.first?["channel"] as? String, "CHANNEL_IN_STORE")

        let asked = try feedback("ask", "cust-1", "after-delivery")
        XCTAssertEqual(asked.status, 0, asked.stderr)
        XCTAssertTrue(asked.stdout.contains("yes"), "the survey has no recontact window: \(asked.stdout)")
        XCTAssertEqual(try feedback("surveys", "close", "after-delivery").status, 0)
        let closed = try feedback("respond", "after-delivery", "cust-5", "--answer", "nps=9")
        XCTAssertEqual(closed.status, 1, closed.stdout)
        XCTAssertTrue(closed.stderr.contains("SURVEY_CLOSED"), closed.stderr)
        XCTAssertFalse(try feedback("surveys").stdout.contains("after-delivery"), "closed surveys are left out")
        XCTAssertTrue(try feedback("surveys", "list", "--include-closed").stdout.contains("closed"))
    }

    func testComplaintsMoveThroughTheirStatesAndAnIllegalMoveFails() throws {
        let opened = try feedback(
            "complaints", "open", "cust-7", "--category", "delivery", "--severity", "high", "--description", "بسته دو هفته دیر رسید",
            "--touchpoint", "logistics", "--channel", "phone", "--key", "ticket-1", "--json")
        XCTAssertEqual(opened.status, 0, opened.stderr)
        let complaint = try XCTUnwrap(try opened.jsonObject()["complaint"] as? [String: Any], opened.stdout)
        let id = try XCTUnwrap(complaint["id"] as? String)
        XCTAssertEqual(complaint["state"] as? String, "COMPLAINT_STATE_OPEN")
        XCTAssertEqual(complaint["severity"] as? String, "SEVERITY_HIGH")
        let retried = try feedback(
            "complaints", "open", "cust-7", "--category", "delivery", "--severity", "high", "--description", "بسته دو هفته دیر رسید",
            "--touchpoint", "logistics", "--channel", "phone", "--key", "ticket-1", "--json")
        XCTAssertEqual(retried.stdout, opened.stdout, "a retry with the same key gets the first answer")

        for state in ["acknowledged", "IN_PROGRESS", "resolved"] {
            let moved = try feedback("complaints", "move", id, state, "--author", "sara", "--note", "پیگیری شد")
            XCTAssertEqual(moved.status, 0, moved.stderr)
            XCTAssertTrue(moved.stdout.hasPrefix("complaint \(id) is \(state.lowercased().replacingOccurrences(of: "_", with: "-"))"), moved.stdout)
        }
        let illegal = try feedback("complaints", "move", id, "in-progress", "--author", "sara")
        XCTAssertEqual(illegal.status, 1, illegal.stdout)
        XCTAssertTrue(illegal.stderr.contains("FAILED_PRECONDITION (ILLEGAL_TRANSITION)"), illegal.stderr)
        XCTAssertEqual(try feedback("complaints", "move", id, "reopened", "--author", "ali").status, 0)

        let assigned = try feedback("complaints", "assign", id, "sara", "--author", "ali")
        XCTAssertEqual(assigned.status, 0, assigned.stderr)
        XCTAssertTrue(assigned.stdout.hasPrefix("complaint \(id) is assigned to sara"), assigned.stdout)
        let reply = try feedback("complaints", "note", id, "--author", "sara", "--reply", "--text", "عذرخواهی می‌کنیم؛ فردا می‌رسد")
        XCTAssertEqual(reply.status, 0, reply.stderr)
        XCTAssertTrue(reply.stdout.hasPrefix("reply #7 added"), reply.stdout)

        let shown = try feedback("complaints", "show", id)
        XCTAssertEqual(shown.status, 0, shown.stderr)
        XCTAssertTrue(shown.stdout.contains("reopened") && shown.stdout.contains("بسته دو هفته دیر رسید"), shown.stdout)
        let thread = shown.stdout.split(separator: "\n").filter { $0.first?.isNumber ?? false }.map { String($0.prefix(1)) }
        XCTAssertEqual(thread, ["1", "2", "3", "4", "5", "6", "7"], "the thread, numbered in order:\n\(shown.stdout)")
        XCTAssertTrue(shown.stdout.contains("RESOLVED -> REOPENED"), shown.stdout)

        let reopened = try feedback("complaints", "list", "--state", "reopened", "--owner", "sara", "--json").jsonObject()
        XCTAssertEqual((reopened["complaints"] as? [[String: Any]])?.map { $0["id"] as? String }, [id])
        XCTAssertEqual(try feedback("complaints", "--state", "open").stdout, "(no complaints)\n")
        let paged = try feedback("complaints", "list", "--page-size", "1", "--all", "--json").jsonObject()
        XCTAssertEqual((paged["complaints"] as? [Any])?.count, 1)

        let stats = try feedback("complaints", "stats")
        XCTAssertEqual(stats.status, 0, stats.stderr)
        // Opened in the period; reopened, so not resolved.
        let high = try XCTUnwrap(stats.stdout.split(separator: "\n").first { $0.hasPrefix("high") }, stats.stdout)
        XCTAssertEqual(high.split(separator: " ").prefix(3).map(String.init), ["high", "1", "0"], stats.stdout)
    }

    func testDetractorWordsAreNormalisedAndTheirTableLinesUp() throws {
        XCTAssertEqual(try createSurvey().status, 0)
        let texts = [
            ("d-1", "1", "پشتیباني جواب نداد و ارسال دير بود"),
            ("d-2", "3", "پشتیبانی ضعیف، ارسال دیر"),
            ("d-3", "0", "ارسال ۳ روز دیر شد؛ پشتیبانی جواب نداد"),
            ("p-1", "10", "ارسال سریع و پشتیبانی عالی"),
        ]
        for (customer, score, text) in texts {
            let answered = try feedback("respond", "after-delivery", customer, "--answer", "nps=\(score)", "--answer", "reason=\(text)")
            XCTAssertEqual(answered.status, 0, answered.stderr)
        }
        let words = try feedback("words", "--min-count", "2", "--survey", "after-delivery")
        XCTAssertEqual(words.status, 0, words.stderr)
        XCTAssertTrue(words.stdout.hasPrefix("words of detractors (3 texts) against promoters (1 text)"), words.stdout)
        let lines = words.stdout.split(separator: "\n").map(String.init)
        let header = try XCTUnwrap(lines.first { $0.hasPrefix("WORD") }, words.stdout)
        let offset = header.distance(from: header.startIndex, to: try XCTUnwrap(header.range(of: "DETRACTORS")).lowerBound)
        // ي and ی are one letter: the three detractors all wrote پشتیبانی.
        let support = try XCTUnwrap(lines.first { $0.hasPrefix("پشتیبانی ") }, words.stdout)
        XCTAssertTrue(String(Array(support)[offset...]).hasPrefix("3 "), "columns line up after Persian text:\n\(words.stdout)")
        let late = try XCTUnwrap(lines.first { $0.hasPrefix("دیر ") }, words.stdout)
        XCTAssertTrue(String(Array(late)[offset...]).hasPrefix("3 "), words.stdout)
        XCTAssertFalse(lines.contains { $0.hasPrefix("و ") }, "stop words are left out: \(words.stdout)")

        let json = try feedback("words", "--min-count", "2", "--limit", "1", "--json").jsonObject()
        let top = try XCTUnwrap((json["words"] as? [[String: Any]])?.first, "\(json)")
        XCTAssertEqual((json["words"] as? [Any])?.count, 1)
        XCTAssertEqual(json["detractor_texts"] as? String, "3")
        XCTAssertTrue(["دیر", "جواب", "نداد"].contains(top["word"] as? String ?? ""), "a word only detractors use comes first: \(json)")
    }

    func testBadValuesExit64AndListTheValidOnes() throws {
        let severity = try feedback("complaints", "open", "cust-1", "--category", "x", "--severity", "urgent", "--description", "d")
        XCTAssertEqual(severity.status, 64, severity.stderr)
        for name in ["low", "medium", "high", "critical", "urgent"] {
            XCTAssertTrue(severity.stderr.contains(name), severity.stderr)
        }
        let state = try feedback("complaints", "list", "--state", "pending")
        XCTAssertEqual(state.status, 64, state.stderr)
        XCTAssertTrue(state.stderr.contains("in-progress") && state.stderr.contains("reopened"), state.stderr)
        let backToOpen = try feedback("complaints", "move", "c-1", "open", "--author", "sara")
        XCTAssertEqual(backToOpen.status, 64, backToOpen.stderr)
        XCTAssertTrue(backToOpen.stderr.contains("acknowledged, in-progress, resolved, closed, reopened"), backToOpen.stderr)
        let channel = try feedback("respond", "s-1", "cust-1", "--answer", "nps=9", "--channel", "fax")
        XCTAssertEqual(channel.status, 64, channel.stderr)
        XCTAssertTrue(channel.stderr.contains("in-store"), channel.stderr)
        let filters = try feedback("scores", "--survey", "s-1", "--stage", "activation")
        XCTAssertEqual(filters.status, 64, filters.stderr)
        XCTAssertTrue(filters.stderr.contains("at most one"), filters.stderr)
        let goodwill = try feedback("complaints", "move", "c-1", "closed", "--author", "sara", "--goodwill")
        XCTAssertEqual(goodwill.status, 64, goodwill.stderr)
        let answer = try feedback("respond", "s-1", "cust-1", "--answer", "9")
        XCTAssertEqual(answer.status, 64, answer.stderr)
        XCTAssertTrue(answer.stderr.contains("key=value"), answer.stderr)
    }
}

extension CommandResult {
    /// Standard output as the JSON object --json prints.
    fileprivate func jsonObject() throws -> [String: Any] {
        let json = try JSONSerialization.jsonObject(with: Data(stdout.utf8))
        return try XCTUnwrap(json as? [String: Any], "exit \(status): \(stdout)\(stderr)")
    }
}
