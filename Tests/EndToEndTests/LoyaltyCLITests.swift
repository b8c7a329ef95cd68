import CXModel
import Foundation
import XCTest

/// cxctl's loyalty commands against the real cx-loyalty executable.
final class LoyaltyCLITests: XCTestCase {
    func testPurchasesTiersRewardsAndTheReport() throws {
        let running = try RunningService(
            .loyalty, extraArguments: ["--profiles-addr", "none", "--journey-addr", "none", "--batch-interval", "0"])
        defer { _ = running.stop() }
        func loyalty(_ arguments: String...) throws -> CommandResult {
            try runCommand("cxctl", ["loyalty"] + arguments + ["--addr", running.address])
        }
        func object(_ result: CommandResult) throws -> [String: Any] {
            let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
            return try XCTUnwrap(json as? [String: Any], result.stdout)
        }

        let enrolled = try loyalty("enroll", "c-1", "--currency", "USD")
        XCTAssertEqual(enrolled.status, 0, enrolled.stderr)
        XCTAssertTrue(enrolled.stdout.contains("bronze"), enrolled.stdout)
        let other = try loyalty("enroll", "c-2")
        XCTAssertEqual(other.status, 0, other.stderr)

        // 12.34 USD is 1234 minor units, exactly; 12 points (1 per 1.00 USD) and the first-purchase bonus.
        let purchase = try loyalty("purchase", "c-1", "--order", "A-1", "--amount", "12.34", "--currency", "USD", "--channel", "web", "--json")
        XCTAssertEqual(purchase.status, 0, purchase.stderr)
        let answer = try object(purchase)
        let account = try XCTUnwrap(answer["account"] as? [String: Any])
        XCTAssertEqual((account["lifetime_spend"] as? [String: Any])?["minor_units"] as? String, "1234", purchase.stdout)
        XCTAssertEqual(answer["points"] as? String, "12", purchase.stdout)
        XCTAssertEqual(answer["bonus_points"] as? String, "100", purchase.stdout)
        let retried = try loyalty("purchase", "c-1", "--order", "A-1", "--amount", "12.34", "--currency", "USD", "--channel", "web", "--json")
        XCTAssertEqual(retried.status, 0, retried.stderr)
        XCTAssertEqual(retried.stdout, purchase.stdout, "a retry of the same order gets the first answer")

        let upgrade = try loyalty("purchase", "c-1", "--order", "A-2", "--amount", "1,000", "--currency", "USD")
        XCTAssertEqual(upgrade.status, 0, upgrade.stderr)
        XCTAssertTrue(upgrade.stdout.contains("silver (moved up)"), upgrade.stdout)
        let shown = try loyalty("account", "c-1")
        XCTAssertEqual(shown.status, 0, shown.stderr)
        XCTAssertTrue(shown.stdout.contains("silver (since"), shown.stdout)
        XCTAssertTrue(shown.stdout.contains("gold: 3,988 qualifying points to go or 3,988.00 USD of purchases"), shown.stdout)
        XCTAssertTrue(shown.stdout.contains("[####----------------] 20%"), shown.stdout)

        // Only the bonus is spendable: the purchase points are pending for 14 days.
        let created = try loyalty("rewards", "create", "--name", "Free coffee", "--cost", "50", "--stock", "1", "--id", "coffee")
        XCTAssertEqual(created.status, 0, created.stderr)
        let redeemed = try loyalty("redeem", "c-1", "coffee", "--json")
        XCTAssertEqual(redeemed.status, 0, redeemed.stderr)
        XCTAssertTrue(redeemed.stderr.contains("--key cxctl-redeem-"), "the made-up key is printed for a retry: \(redeemed.stderr)")
        let redemption = try XCTUnwrap(try object(redeemed)["redemption"] as? [String: Any])
        XCTAssertEqual((redemption["code"] as? String)?.count, 10, redeemed.stdout)
        let redemptionID = try XCTUnwrap(redemption["id"] as? String)
        XCTAssertEqual((try object(redeemed)["account"] as? [String: Any])?["spendable_points"] as? String, "50")
        let cancelled = try loyalty("cancel-redemption", redemptionID)
        XCTAssertEqual(cancelled.status, 0, cancelled.stderr)
        XCTAssertTrue(cancelled.stdout.contains("cancelled_at"), cancelled.stdout)
        let after = try object(try loyalty("account", "c-1", "--json"))
        XCTAssertEqual((after["account"] as? [String: Any])?["spendable_points"] as? String, "100", "the points came back")

        let badAmount = try loyalty("purchase", "c-1", "--order", "A-3", "--amount", "12.345", "--currency", "USD")
        XCTAssertEqual(badAmount.status, 64, badAmount.stderr)
        XCTAssertTrue(badAmount.stderr.contains("--amount") && badAmount.stderr.contains("12.345"), badAmount.stderr)
        let badChannel = try loyalty("purchase", "c-1", "--order", "A-3", "--amount", "5", "--currency", "USD", "--channel", "fax")
        XCTAssertEqual(badChannel.status, 64, badChannel.stderr)
        XCTAssertTrue(badChannel.stderr.contains("--channel") && badChannel.stderr.contains("fax"), badChannel.stderr)

        XCTAssertEqual(try loyalty("rewards", "create", "--name", "Sofa", "--cost", "100000", "--id", "sofa").status, 0)
        let refused = try loyalty("redeem", "c-1", "sofa", "--key", "sofa-1")
        XCTAssertEqual(refused.status, 1, refused.stdout)
        XCTAssertTrue(refused.stderr.contains("FAILED_PRECONDITION"), refused.stderr)

        let evaluated = try loyalty("tiers", "evaluate", "--page-size", "1")
        XCTAssertEqual(evaluated.status, 0, evaluated.stderr)
        XCTAssertTrue(evaluated.stderr.contains("evaluated 2 of 2 accounts"), evaluated.stderr)

        let report = try loyalty("report")
        XCTAssertEqual(report.status, 0, report.stderr)
        let members = Dictionary(
            report.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
                .filter { $0.count >= 2 }.map { ($0[0], $0[1]) },
            uniquingKeysWith: { first, _ in first })
        XCTAssertEqual(members["bronze"], "1", report.stdout)
        XCTAssertEqual(members["silver"], "1", report.stdout)
        XCTAssertEqual(members["gold"], "0", report.stdout)
        XCTAssertEqual(members["total"], "2", report.stdout)
    }
}
