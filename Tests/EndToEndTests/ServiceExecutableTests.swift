import CXModel
import CXWire
import Foundation
import XCTest

final class ServiceExecutableTests: XCTestCase {
    func testEachServiceServesItsBuiltinsAndStopsCleanlyOnSIGTERM() async throws {
        for service in CXServiceName.allCases {
            let running = try RunningService(service)
            let client = try RPCClient(address: running.address)
            let health = try await client.call(Cx_Wire_V1_Health.check, .init())
            XCTAssertEqual(health.status, .serving)
            XCTAssertEqual(health.server, service.rawValue)
            let echo = try await client.call(Cx_Wire_V1_Echo.echo, .with { $0.text = "درود" })
            XCTAssertEqual(echo.text, "درود")
            await client.close()
            var isDirectory: ObjCBool = false
            XCTAssertTrue(
                FileManager.default.fileExists(
                    atPath: running.dataDirectory.appendingPathComponent(service.rawValue).path, isDirectory: &isDirectory)
                    && isDirectory.boolValue,
                "the service creates its data directory")
            let (status, log) = running.stop()
            XCTAssertEqual(status, 0, "\(service.executableName) exit status; log:\n\(log)")
            XCTAssertTrue(log.contains("listening"), log)
            XCTAssertTrue(log.contains("stopped"), log)
        }
    }

    func testSIGINTAlsoDrainsAndExitsZero() throws {
        let running = try RunningService(.loyalty)
        let (status, log) = running.stop(signal: SIGINT)
        XCTAssertEqual(status, 0, log)
        XCTAssertTrue(log.contains("draining"), log)
    }

    func testBadFlagIsAUsageErrorNamingIt() throws {
        let result = try runCommand("cx-journey", ["--listen", "nowhere"])
        XCTAssertEqual(result.status, 64)
        XCTAssertTrue(result.stderr.contains("--listen: \"nowhere\" is not host:port"), result.stderr)
        let level = try runCommand("cx-journey", ["--log-level", "loud"])
        XCTAssertEqual(level.status, 64)
        XCTAssertTrue(level.stderr.contains("--log-level: \"loud\""), level.stderr)
    }

    /// The services run their tasks on the event loops (CXWire's
    /// `EventLoopConcurrency`) and answer calls so; `CX_EXECUTOR=default`
    /// keeps Swift's own pool, and the log says which.
    func testTasksRunOnTheEventLoopsUnlessAskedOtherwise() async throws {
        for (environment, expected) in [([:], "tasks run on the event loops"), (["CX_EXECUTOR": "default"], "tasks run on Swift's own pool")] {
            let running = try RunningService(.loyalty, environment: environment)
            let client = try RPCClient(address: running.address)
            for text in ["درود", "hello"] {
                let echo = try await client.call(Cx_Wire_V1_Echo.echo, .with { $0.text = text })
                XCTAssertEqual(echo.text, text)
            }
            await client.close()
            let (status, log) = running.stop()
            XCTAssertEqual(status, 0, log)
            XCTAssertTrue(log.contains(expected), "expected \"\(expected)\" with \(environment); log:\n\(log)")
        }
    }

    func testJSONLogLinesCarryTheServerName() throws {
        let running = try RunningService(.feedback, extraArguments: ["--log-format", "json"])
        let (_, log) = running.stop()
        let lines = log.split(separator: "\n").map(String.init)
        let objects = try lines.map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String], $0) }
        // Started with --no-auth: the service says so first, as a warning.
        XCTAssertEqual(objects.first?["level"], "warning", log)
        XCTAssertTrue(objects.first?["message"]?.contains("access control is off") ?? false, log)
        let listening = try XCTUnwrap(objects.first { $0["message"] == "listening" }, log)
        XCTAssertEqual(listening["server"], "feedback", log)
    }
}
