import CXModel
import Foundation
import XCTest

/// `cxctl customer` against the four real services, wired to each other as
/// deployed: one screen with what each knows; a service that is down is one
/// line and the rest still shows; an unknown customer exits 1.
final class CustomerViewTests: XCTestCase {
    private var profiles: RunningService!
    private var loyalty: RunningService!
    private var journey: RunningService!
    private var feedback: RunningService!

    override func setUpWithError() throws {
        profiles = try RunningService(.profiles)
        journey = try RunningService(.journey, extraArguments: ["--profiles-addr", profiles.address, "--lost-interval", "0"])
        loyalty = try RunningService(
            .loyalty, extraArguments: ["--profiles-addr", profiles.address, "--journey-addr", journey.address, "--batch-interval", "0"])
        feedback = try RunningService(
            .feedback,
            extraArguments: [
                "--profiles-addr", profiles.address, "--loyalty-addr", loyalty.address, "--journey-addr", journey.address,
            ])
    }

    override func tearDown() {
        let failed = testRun?.failureCount ?? 0 > 0
        for service in [feedback, loyalty, journey, profiles].compactMap({ $0 }) where service.process.isRunning {
            let stopped = service.stop()
            if failed { print(stopped.log) }
        }
        feedback = nil
        loyalty = nil
        journey = nil
        profiles = nil
    }

    private var environment: [String: String] {
        [
            "CX_PROFILES_ADDR": profiles.address, "CX_LOYALTY_ADDR": loyalty.address, "CX_JOURNEY_ADDR": journey.address,
            "CX_FEEDBACK_ADDR": feedback.address, "CX_CALENDAR": "",
        ]
    }

    private func cxctl(_ arguments: String..., environment extra: [String: String] = [:]) throws -> CommandResult {
        try runCommand("cxctl", arguments, environment: environment.merging(extra) { _, new in new })
    }

    /// `cxctl customer ID` until its output has every one of `wanted`
    /// (the services tell each other through their outboxes, a moment later).
    private func customerScreen(_ id: String, showing wanted: [String]) throws -> CommandResult {
        let deadline = Date().addingTimeInterval(20)
        var shown = try cxctl("customer", id)
        while !wanted.allSatisfy(shown.stdout.contains), Date() < deadline {
            Thread.sleep(forTimeInterval: 0.2)
            shown = try cxctl("customer", id)
        }
        return shown
    }

    /// A customer every service knows something about.
    private func makeCustomer() throws {
        for step in [
            [
                "profiles", "customers", "create", "--id", "c-77", "--name", "سارا رضایی", "--email", "sara@example.com", "--city", "تهران",
                "--birth-date", "1990-03-21", "--consent", "--consent-method", "store",
            ],
            ["profiles", "segments", "define", "Tehranis", "--rule", "city == \"تهران\""],
            ["profiles", "personas", "define", "Local saver", "--criterion", "city == تهران"],
            ["loyalty", "enroll", "c-77", "--currency", "IRR"],
            ["loyalty", "purchase", "c-77", "--order", "A-1", "--amount", "1,250,000.00", "--currency", "IRR"],
            ["journey", "event", "c-77", "visit"],
        ] {
            let done = try runCommand("cxctl", step, environment: environment)
            XCTAssertEqual(done.status, 0, "\(step): \(done.stderr)")
        }
        let survey = feedback.dataDirectory.appendingPathComponent("survey.json")
        try """
            {"id": "after-delivery", "name": "نظرسنجی پس از تحویل", "touchpoint_id": "logistics",
             "questions": [{"id": "nps", "kind": "KIND_NPS", "required": true, "text": "چقدر ما را پیشنهاد می‌کنید؟"}]}
            """.write(to: survey, atomically: true, encoding: .utf8)
        for step in [
            ["feedback", "surveys", "create", "--file", survey.path],
            // A detractor: feedback opens a follow-up complaint by itself.
            ["feedback", "respond", "after-delivery", "c-77", "--answer", "nps=3"],
            ["feedback", "complaints", "open", "c-77", "--category", "تحویل دیر", "--severity", "high", "--description", "بسته دیر رسید"],
        ] {
            let done = try runCommand("cxctl", step, environment: environment)
            XCTAssertEqual(done.status, 0, "\(step): \(done.stderr)")
        }
    }

    func testOneScreenShowsWhatEachServiceKnowsAndADownServiceIsOneLine() throws {
        try makeCustomer()
        let shown = try customerScreen(
            "c-77", showing: ["stage             admission", "last nps          3, a detractor", "tier              silver"])
        XCTAssertEqual(shown.status, 0, shown.stderr)
        let text = shown.stdout
        // Profiles: the fields, the persona and segments it computes.
        for fact in [
            "PROFILE           VALUE", "id                c-77", "name              سارا رضایی", "city              تهران",
            "birth date        1990-03-21", "consent           given (store, ", "persona           Local saver (score 1.00)",
            "segments          Tehranis",
        ] {
            XCTAssertTrue(text.contains(fact), "\(fact) in\n\(text)")
        }
        // Loyalty: tier and balances.
        for fact in [
            "LOYALTY           VALUE", "available points  ", "pending points    1,250 (in the returns period)",
            "lifetime spend    1,250,000.00 IRR (1 purchase)", "next expiry       none in the next 30 days",
        ] {
            XCTAssertTrue(text.contains(fact), "\(fact) in\n\(text)")
        }
        // Journey: the purchase admitted the customer, so the 100-day plan's tasks are open.
        for fact in ["JOURNEY           VALUE", "stage             admission (since ", "open tasks        9", "c-77/1"] {
            XCTAssertTrue(text.contains(fact), "\(fact) in\n\(text)")
        }
        // Feedback: the last score (profiles' traits) and both open complaints.
        for fact in ["FEEDBACK          VALUE", "surveys answered  1 (profiles' traits)", "open complaints   2 of 2", "nps_follow_up", "تحویل دیر"] {
            XCTAssertTrue(text.contains(fact), "\(fact) in\n\(text)")
        }
        // The complaint table lines up after the Persian category, in terminal columns.
        let lines = text.split(separator: "\n").map(String.init)
        let header = try XCTUnwrap(lines.first { $0.hasPrefix("COMPLAINT ") }, text)
        let persianRow = try XCTUnwrap(lines.first { $0.contains("تحویل دیر") }, text)
        XCTAssertEqual(lastColumnStart(persianRow), lastColumnStart(header), "\(header)\n\(persianRow)")

        // JSON: a key per service, protobuf's JSON with Gregorian ISO times.
        let json = try cxctl("customer", "c-77", "--json", "--calendar", "persian")
        XCTAssertEqual(json.status, 0, json.stderr)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: [String: Any]], json.stdout)
        XCTAssertEqual(Set(object.keys), ["profiles", "loyalty", "journey", "feedback"])
        XCTAssertEqual(object.values.compactMap { $0["status"] as? String }, ["ok", "ok", "ok", "ok"])
        let customer = try XCTUnwrap(object["profiles"]?["customer"] as? [String: Any])
        XCTAssertEqual(customer["name"] as? String, "سارا رضایی")
        let created = try XCTUnwrap(customer["created_at"] as? String)
        XCTAssertTrue(created.hasPrefix("20") && created.hasSuffix("Z"), "JSON stays Gregorian ISO 8601: \(created)")
        XCTAssertEqual((object["loyalty"]?["account"] as? [String: Any])?["tier"] as? String, "silver")
        XCTAssertEqual((object["journey"]?["journey"] as? [String: Any])?["stage"] as? String, "STAGE_ADMISSION")
        XCTAssertEqual(object["feedback"]?["open_complaints"] as? Int, 2)
        XCTAssertEqual((object["feedback"]?["complaints"] as? [Any])?.count, 2)

        // The Persian calendar: the same moments, in Solar Hijri, UTC.
        // Whole seconds, as both calendars show them.
        let createdAt = try XCTUnwrap(ISO8601DateFormatter().date(from: created.prefix(19) + "Z"), created)
        for persian in [try cxctl("customer", "c-77", "--calendar", "persian"), try cxctl("customer", "c-77", environment: ["CX_CALENDAR": "persian"])] {
            XCTAssertEqual(persian.status, 0, persian.stderr)
            XCTAssertTrue(
                persian.stdout.contains("customer since    \(CalendarText.time(createdAt, .persian))"), persian.stdout)
            XCTAssertTrue(persian.stdout.contains("birth date        1369-01-01"), persian.stdout)
            XCTAssertFalse(persian.stdout.contains("Z\n") || persian.stdout.contains("Z)"), "no ISO times left: \(persian.stdout)")
        }
        // Every command that prints times takes --calendar.
        let account = try cxctl("loyalty", "account", "c-77", "--calendar", "persian")
        XCTAssertTrue(account.stdout.contains(" UTC)") && !account.stdout.contains("Z)"), account.stdout)
        let complaints = try cxctl("feedback", "complaints", "--customer", "c-77", "--calendar", "persian")
        XCTAssertTrue(complaints.stdout.contains(" UTC"), complaints.stdout)
        let wrong = try cxctl("customer", "c-77", "--calendar", "julian")
        XCTAssertEqual(wrong.status, 64, wrong.stdout)

        // Journey down: its one line, the rest as before, still exit 0.
        _ = journey.stop()
        let partial = try cxctl("customer", "c-77")
        XCTAssertEqual(partial.status, 0, partial.stderr)
        XCTAssertTrue(partial.stdout.contains("journey (\(journey.address)): unavailable"), partial.stdout)
        XCTAssertFalse(partial.stdout.contains("JOURNEY"), partial.stdout)
        for section in ["PROFILE ", "LOYALTY ", "FEEDBACK ", "tier              silver", "open complaints   2 of 2"] {
            XCTAssertTrue(partial.stdout.contains(section), "\(section) in\n\(partial.stdout)")
        }
        let partialJSON = try cxctl("customer", "c-77", "--json")
        let journeyPart = try XCTUnwrap(
            (JSONSerialization.jsonObject(with: Data(partialJSON.stdout.utf8)) as? [String: [String: Any]])?["journey"], partialJSON.stdout)
        XCTAssertEqual(journeyPart["status"] as? String, "unavailable")
        XCTAssertEqual(journeyPart["address"] as? String, journey.address)
    }

    func testAnUnknownCustomerExitsOne() throws {
        let unknown = try cxctl("customer", "c-nobody")
        XCTAssertEqual(unknown.status, 1, unknown.stdout)
        XCTAssertTrue(unknown.stdout.contains("profiles: no customer has id \"c-nobody\""), unknown.stdout)
        XCTAssertTrue(unknown.stdout.contains("loyalty: not enrolled"), unknown.stdout)
        XCTAssertTrue(unknown.stdout.contains("journey: no events for this customer"), unknown.stdout)
        XCTAssertTrue(unknown.stdout.contains("feedback: no complaints"), unknown.stdout)
        XCTAssertTrue(unknown.stderr.contains("c-nobody"), unknown.stderr)
        let json = try cxctl("customer", "c-nobody", "--json")
        XCTAssertEqual(json.status, 1)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: [String: Any]], json.stdout)
        XCTAssertEqual(object["profiles"]?["status"] as? String, "not_found")
        XCTAssertEqual(object["loyalty"]?["status"] as? String, "not_found")
    }

    /// The terminal column the last cell of a table line starts at.
    private func lastColumnStart(_ line: String) -> Int {
        guard let gap = line.range(of: "  ", options: .backwards) else { return 0 }
        var start = gap.upperBound
        while start < line.endIndex, line[start] == " " { start = line.index(after: start) }
        return CXText.displayWidth(String(line[..<start]))
    }
}
