import CXModel
import Foundation
import XCTest

/// `cxctl demo` against the four real services, wired to each other as in
/// a deployment: what it says it made is what the services hold, and a
/// second run adds nothing.
final class DemoTests: XCTestCase {
    func testTheDemoFillsEveryServiceAndARerunAddsNothing() throws {
        let profiles = try RunningService(.profiles)
        defer { _ = profiles.stop() }
        let journey = try RunningService(.journey, extraArguments: ["--profiles-addr", profiles.address, "--lost-interval", "0"])
        defer { _ = journey.stop() }
        let loyalty = try RunningService(
            .loyalty, extraArguments: ["--profiles-addr", profiles.address, "--journey-addr", journey.address, "--batch-interval", "0"])
        defer { _ = loyalty.stop() }
        let feedback = try RunningService(
            .feedback,
            extraArguments: ["--loyalty-addr", loyalty.address, "--journey-addr", journey.address, "--profiles-addr", profiles.address])
        defer { _ = feedback.stop() }
        let environment = [
            "CX_PROFILES_ADDR": profiles.address, "CX_LOYALTY_ADDR": loyalty.address, "CX_JOURNEY_ADDR": journey.address,
            "CX_FEEDBACK_ADDR": feedback.address,
        ]
        func cxctl(_ arguments: String...) throws -> CommandResult {
            try runCommand("cxctl", arguments, environment: environment, timeout: 180)
        }
        func object(_ result: CommandResult) throws -> [String: Any] {
            XCTAssertEqual(result.status, 0, result.stderr)
            return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], result.stdout)
        }
        /// (added, existing) of one item of the demo's --json report.
        func count(_ report: [String: Any], _ service: String, _ item: String) -> (added: Int, existing: Int) {
            let counts = ((report["services"] as? [String: Any])?[service] as? [String: Any])?[item] as? [String: Any]
            return ((counts?["added"] as? Int) ?? -1, (counts?["existing"] as? Int) ?? -1)
        }
        /// A protobuf JSON int64, a string.
        func int64(_ value: Any?) -> Int { Int(value as? String ?? "") ?? 0 }

        // What the services hold, each read its own way.
        func customersListed() throws -> Int {
            ((try object(try cxctl("profiles", "customers", "list", "--all", "--json")))["customers"] as? [Any])?.count ?? -1
        }
        func members() throws -> Int { int64(try object(try cxctl("loyalty", "report", "--json"))["total_members"]) }
        func responses() throws -> Int {
            int64((try object(try cxctl("feedback", "scores", "--json"))["total"] as? [String: Any])?["responses"])
        }
        func complaints() throws -> Int {
            ((try object(try cxctl("feedback", "complaints", "list", "--all", "--json")))["complaints"] as? [Any])?.count ?? -1
        }

        let first = try cxctl("demo", "--customers", "60", "--json")
        let report = try object(first)
        XCTAssertTrue(first.stderr.contains("loyalty & journey: customers 60/60"), "a line per phase: \(first.stderr)")
        XCTAssertEqual(count(report, "profiles", "customers").added, 60)
        XCTAssertEqual(try customersListed(), 60)
        let accounts = count(report, "loyalty", "accounts").added
        XCTAssertGreaterThan(accounts, 40, "most customers bought something")
        XCTAssertEqual(try members(), accounts)
        XCTAssertGreaterThan(count(report, "loyalty", "purchases").added, accounts)
        XCTAssertGreaterThan(count(report, "journey", "events").added, 60 * 2)
        let answered = count(report, "feedback", "responses").added
        XCTAssertGreaterThan(answered, 20)
        XCTAssertEqual(try responses(), answered)
        let followUps = count(report, "feedback", "follow_up_complaints").added
        let manual = count(report, "feedback", "manual_complaints").added
        XCTAssertGreaterThanOrEqual(manual, 1, "every 40th customer who bought complains")
        XCTAssertEqual(try complaints(), followUps + manual)

        // One customer across the platform: an account with purchases, a
        // journey that went past admission, a profile with loyalty's traits.
        let featured = try XCTUnwrap(report["featured_customer"] as? String)
        let account = try XCTUnwrap(try object(try cxctl("loyalty", "account", featured, "--json"))["account"] as? [String: Any])
        XCTAssertGreaterThanOrEqual(int64(account["purchase_count"]), 3, "\(account)")
        let shown = try cxctl("journey", "show", featured)
        XCTAssertEqual(shown.status, 0, shown.stderr)
        for step in ["first_purchase", "purchase_confirmation", "repeat_purchase"] {
            XCTAssertTrue(shown.stdout.contains(step), "\(step) in \(shown.stdout)")
        }
        let deadline = Date().addingTimeInterval(30)
        var traits: [String: Any] = [:]
        while Date() < deadline {
            let customer = try object(try cxctl("profiles", "customers", "get", featured, "--json"))["customer"] as? [String: Any]
            traits = customer?["traits"] as? [String: Any] ?? [:]
            if traits["tier"] != nil, traits["journey_stage"] != nil { break }
            Thread.sleep(forTimeInterval: 0.2)
        }
        XCTAssertNotNil(traits["tier"], "loyalty's traits reach profiles: \(traits)")
        XCTAssertNotNil(traits["journey_stage"], "journey's traits reach profiles: \(traits)")

        // Again: everything is there already, nothing is added.
        let again = try object(try cxctl("demo", "--customers", "60", "--json"))
        for (service, items) in again["services"] as? [String: [String: Any]] ?? [:] {
            for item in items.keys {
                let (added, existing) = count(again, service, item)
                XCTAssertEqual(added, 0, "\(service) \(item) added again")
                if item != "points_earned" && item != "lost_customers" {
                    XCTAssertEqual(existing, count(report, service, item).added + count(report, service, item).existing, "\(service) \(item)")
                }
            }
        }
        XCTAssertEqual(try customersListed(), 60)
        XCTAssertEqual(try members(), accounts)
        XCTAssertEqual(try responses(), answered)
        XCTAssertEqual(try complaints(), followUps + manual)
    }

    func testTheDemoNamesTheServicesThatAreDown() throws {
        let profiles = try RunningService(.profiles)
        defer { _ = profiles.stop() }
        let result = try runCommand(
            "cxctl", ["demo", "--customers", "5"],
            environment: [
                "CX_PROFILES_ADDR": profiles.address, "CX_LOYALTY_ADDR": "127.0.0.1:1", "CX_JOURNEY_ADDR": "127.0.0.1:1",
                "CX_FEEDBACK_ADDR": "127.0.0.1:1",
            ])
        XCTAssertEqual(result.status, 1, result.stdout)
        for service in ["loyalty", "journey", "feedback"] {
            XCTAssertTrue(result.stderr.contains("\(service) at 127.0.0.1:1 is unreachable"), result.stderr)
        }
        XCTAssertFalse(result.stderr.contains("profiles at"), result.stderr)
        let listed = try runCommand("cxctl", ["profiles", "customers", "list", "--addr", profiles.address])
        XCTAssertFalse(listed.stdout.contains("c-1-"), "nothing was written: \(listed.stdout)")
    }
}
