import CXModel
import Foundation
import XCTest

final class CXCtlTests: XCTestCase {
    func testHealthDescribeAndCallAgainstALiveService() throws {
        let running = try RunningService(.profiles)
        defer { _ = running.stop() }

        let health = try runCommand("cxctl", ["health", "profiles", "--addr", running.address])
        XCTAssertEqual(health.status, 0, health.stderr)
        XCTAssertTrue(health.stdout.contains("SERVING"), health.stdout)
        XCTAssertTrue(health.stdout.hasPrefix("SERVICE"), health.stdout)

        let healthJSON = try runCommand("cxctl", ["health", "profiles", "--addr", running.address, "--json"])
        let rows = try JSONSerialization.jsonObject(with: Data(healthJSON.stdout.utf8)) as? [[String: Any]]
        XCTAssertEqual(rows?.first?["status"] as? String, "SERVING")
        XCTAssertEqual(rows?.first?["server"] as? String, "profiles")

        let describe = try runCommand("cxctl", ["describe", running.address])
        XCTAssertEqual(describe.status, 0, describe.stderr)
        for method in ["/cx.wire.v1.Health/Check", "/cx.wire.v1.Reflection/ListMethods", "/cx.wire.v1.Echo/Echo"] {
            XCTAssertTrue(describe.stdout.contains(method), describe.stdout)
        }
        XCTAssertTrue(describe.stdout.contains("cx.wire.v1.HealthCheckResponse"), describe.stdout)

        let call = try runCommand("cxctl", ["call", running.address, "Echo", "--json", #"{"text": "سلام، مشتری ۱۲۳"}"#])
        XCTAssertEqual(call.status, 0, call.stderr)
        XCTAssertTrue(call.stdout.contains("text   سلام، مشتری ۱۲۳"), call.stdout)

        let piped = try runCommand("cxctl", ["call", running.address, "/cx.wire.v1.Echo/Echo", "-o", "json"], stdin: #"{"text":"hi"}"#)
        XCTAssertEqual(piped.status, 0, piped.stderr)
        XCTAssertEqual(piped.stdout.trimmingCharacters(in: .whitespacesAndNewlines), #"{"text":"hi"}"#)

        // SERVICE by name, address from the environment.
        let byName = try runCommand("cxctl", ["call", "profiles", "Health/Check"], environment: ["CX_PROFILES_ADDR": running.address])
        XCTAssertEqual(byName.status, 0, byName.stderr)
        XCTAssertTrue(byName.stdout.contains("server"), byName.stdout)
    }

    func testUsageErrorsExit64AndNameWhatIsWrong() throws {
        let badJSON = try runCommand("cxctl", ["call", "127.0.0.1:1", "Echo", "--json", #"{"nope": 1}"#])
        XCTAssertEqual(badJSON.status, 64)
        XCTAssertTrue(badJSON.stderr.contains("nope"), badJSON.stderr)

        let unknownMethod = try runCommand("cxctl", ["call", "127.0.0.1:1", "NoSuchMethod"])
        XCTAssertEqual(unknownMethod.status, 64)
        XCTAssertTrue(unknownMethod.stderr.contains("\"NoSuchMethod\" is not a method cxctl knows"), unknownMethod.stderr)

        let unknownService = try runCommand("cxctl", ["health", "billing"])
        XCTAssertEqual(unknownService.status, 64)
        XCTAssertTrue(unknownService.stderr.contains("\"billing\" is not one of profiles, loyalty, journey, feedback"), unknownService.stderr)
    }

    func testUnreachableServiceIsACallFailureExit1() throws {
        // Port 1 on loopback: nothing listens there.
        let health = try runCommand("cxctl", ["health", "journey", "--addr", "127.0.0.1:1"])
        XCTAssertEqual(health.status, 1)
        XCTAssertTrue(health.stdout.contains("UNREACHABLE"), health.stdout)
        XCTAssertTrue(health.stdout.contains("connection refused"), health.stdout)

        let call = try runCommand("cxctl", ["call", "127.0.0.1:1", "Echo", "-o", "json"])
        XCTAssertEqual(call.status, 1)
        XCTAssertTrue(call.stderr.contains("UNAVAILABLE"), call.stderr)
        let error = try JSONSerialization.jsonObject(with: Data(call.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(error?["code"] as? String, "UNAVAILABLE")
    }

    func testHealthAllReportsEveryService() throws {
        let services = try CXServiceName.allCases.map { ($0, try RunningService($0)) }
        defer { for (_, running) in services { _ = running.stop() } }
        var environment: [String: String] = [:]
        for (service, running) in services { environment[service.addressVariable] = running.address }
        let result = try runCommand("cxctl", ["health"], environment: environment)
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        for service in CXServiceName.allCases {
            XCTAssertTrue(result.stdout.contains(service.rawValue), result.stdout)
        }
        XCTAssertEqual(result.stdout.components(separatedBy: "SERVING").count - 1, 4, result.stdout)
    }
}
