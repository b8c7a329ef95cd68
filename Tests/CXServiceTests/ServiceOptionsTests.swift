import ArgumentParser
import CXModel
import Logging
import XCTest

@testable import CXService

final class ServiceOptionsTests: XCTestCase {
    private func options(_ arguments: [String]) throws -> ServiceOptions {
        try ServiceOptions.parse(arguments)
    }

    func testDefaultsNeedNoFlagsAndNoEnvironment() throws {
        let resolved = try options([]).resolve(service: .loyalty, environment: [:])
        XCTAssertEqual(resolved.server.host, "127.0.0.1")
        XCTAssertEqual(resolved.server.port, 7102)
        XCTAssertEqual(resolved.server.name, "loyalty")
        XCTAssertEqual(resolved.dataDirectory.lastPathComponent, "loyalty")
        XCTAssertEqual(resolved.dataDirectory.deletingLastPathComponent().lastPathComponent, "data")
        XCTAssertEqual(resolved.logLevel, .info)
        XCTAssertEqual(resolved.server.maxConnections, 1_024)
        XCTAssertEqual(resolved.server.limits.maxMessageSize, 4 << 20)
    }

    func testEnvironmentIsTheDefaultAndFlagsWin() throws {
        let environment = ["CX_JOURNEY_ADDR": "127.0.0.2:9000", "CX_DATA_DIR": "/srv/cx", "CX_LOG_LEVEL": "debug", "CX_LOG_FORMAT": "json"]
        let fromEnvironment = try options([]).resolve(service: .journey, environment: environment)
        XCTAssertEqual(fromEnvironment.server.host, "127.0.0.2")
        XCTAssertEqual(fromEnvironment.server.port, 9000)
        XCTAssertEqual(fromEnvironment.dataDirectory.path, "/srv/cx/journey")
        XCTAssertEqual(fromEnvironment.logLevel, .debug)
        XCTAssertEqual(fromEnvironment.logFormat, .json)

        let fromFlags = try options(["--listen", "127.0.0.1:0", "--data-dir", "/tmp/x", "--log-level", "ERROR"])
            .resolve(service: .journey, environment: environment)
        XCTAssertEqual(fromFlags.server.port, 0)
        XCTAssertEqual(fromFlags.dataDirectory.path, "/tmp/x/journey")
        XCTAssertEqual(fromFlags.logLevel, .error)
    }

    func testLimitsAreSetAndCheckedByName() throws {
        let resolved = try options([
            "--max-connections", "10", "--max-calls-per-connection", "20", "--max-message-bytes", "65536",
            "--default-timeout", "1.5", "--idle-timeout", "0", "--shutdown-grace", "0",
        ]).resolve(service: .feedback, environment: [:])
        XCTAssertEqual(resolved.server.maxConnections, 10)
        XCTAssertEqual(resolved.server.maxConcurrentCallsPerConnection, 20)
        XCTAssertEqual(resolved.server.limits.maxMessageSize, 65_536)
        XCTAssertEqual(resolved.server.defaultTimeout, .milliseconds(1_500))
        XCTAssertNil(resolved.server.idleTimeout)
        XCTAssertEqual(resolved.server.shutdownGracePeriod, .zero)

        let bad: [([String], String)] = [
            (["--max-connections", "0"], "--max-connections: 0"),
            (["--max-message-bytes", "12"], "--max-message-bytes: 12"),
            (["--default-timeout=-1"], "--default-timeout: -1"),
            (["--listen", "no-port"], "--listen: \"no-port\""),
            (["--log-format", "xml"], "--log-format: \"xml\""),
        ]
        for (arguments, expected) in bad {
            XCTAssertThrowsError(try options(arguments).resolve(service: .feedback, environment: [:]), "\(arguments)") { error in
                XCTAssertTrue("\(error)".contains(expected), "\(error) should name \(expected)")
            }
        }
        XCTAssertThrowsError(try options([]).resolve(service: .profiles, environment: ["CX_PROFILES_ADDR": "x"])) { error in
            XCTAssertTrue("\(error)".contains("CX_PROFILES_ADDR"), "\(error)")
        }
    }
}

final class LogHandlerTests: XCTestCase {
    private let time = Date(timeIntervalSince1970: 1_800_000_000)

    func testTextLinesAreKeyValueWithQuotingWhereNeeded() {
        let line = CXLogHandler.format(
            time: time, level: .info, label: "cx.loyalty", message: "handler failed",
            metadata: ["call_id": "42", "method": "/cx.loyalty.v1.Loyalty/Redeem", "error": "no \"stock\" left"], format: .text)
        XCTAssertEqual(
            line,
            #"2027-01-15T08:00:00.000Z info cx.loyalty: handler failed call_id=42 error="no \"stock\" left" method=/cx.loyalty.v1.Loyalty/Redeem"#)
    }

    func testJSONLinesParseAndKeepPersianText() throws {
        let line = CXLogHandler.format(
            time: time, level: .warning, label: "cx.profiles", message: "مشتری پیدا نشد\n",
            metadata: ["call_id": "7"], format: .json)
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String]
        XCTAssertEqual(object?["message"], "مشتری پیدا نشد\n")
        XCTAssertEqual(object?["level"], "warning")
        XCTAssertEqual(object?["call_id"], "7")
        XCTAssertFalse(line.contains("\n"))
    }
}
