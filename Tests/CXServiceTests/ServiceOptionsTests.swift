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
        let resolved = try options(["--no-auth"]).resolve(service: .loyalty, environment: [:])
        XCTAssertNil(resolved.server.accessControl)
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
        let fromEnvironment = try options(["--no-auth"]).resolve(service: .journey, environment: environment)
        XCTAssertEqual(fromEnvironment.server.host, "127.0.0.2")
        XCTAssertEqual(fromEnvironment.server.port, 9000)
        XCTAssertEqual(fromEnvironment.dataDirectory.path, "/srv/cx/journey")
        XCTAssertEqual(fromEnvironment.logLevel, .debug)
        XCTAssertEqual(fromEnvironment.logFormat, .json)

        let fromFlags = try options(["--no-auth", "--listen", "127.0.0.1:0", "--data-dir", "/tmp/x", "--log-level", "ERROR"])
            .resolve(service: .journey, environment: environment)
        XCTAssertEqual(fromFlags.server.port, 0)
        XCTAssertEqual(fromFlags.dataDirectory.path, "/tmp/x/journey")
        XCTAssertEqual(fromFlags.logLevel, .error)
    }

    func testLimitsAreSetAndCheckedByName() throws {
        let resolved = try options([
            "--max-connections", "10", "--max-calls-per-connection", "20", "--max-message-bytes", "65536",
            "--default-timeout", "1.5", "--idle-timeout", "0", "--shutdown-grace", "0", "--no-auth",
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

    func testAServiceWithoutTokensRefusesToStartUnlessToldToServeEveryone() throws {
        XCTAssertThrowsError(try options([]).resolve(service: .loyalty, environment: [:])) { error in
            XCTAssertTrue("\(error)".contains("no tokens: give --tokens-file"), "\(error)")
            XCTAssertTrue("\(error)".contains("--no-auth"), "\(error)")
        }
        let open = try options(["--no-auth"]).resolve(service: .loyalty, environment: [:])
        XCTAssertNil(open.server.accessControl)
        XCTAssertTrue(open.notices.contains { $0.contains("access control is off") })
    }

    func testTokensComeFromTheFileAndTheEnvironmentAndThePeerTokenIsAServiceOne() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cx-tokens-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("tokens")
        try "admin admin-token-0123456789\nservice service-token-0123456789\npeer peer-token-0123456789\n"
            .write(to: file, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file.path)

        let resolved = try options(["--tokens-file", file.path]).resolve(
            service: .journey, environment: ["CX_READONLY_TOKEN": "reader-token-0123456789"])
        let control = try XCTUnwrap(resolved.server.accessControl)
        XCTAssertEqual(control.role(of: "admin-token-0123456789"), .admin)
        XCTAssertEqual(control.role(of: "service-token-0123456789"), .service)
        XCTAssertEqual(control.role(of: "peer-token-0123456789"), .peer)
        XCTAssertEqual(control.role(of: "reader-token-0123456789"), .readOnly)
        XCTAssertEqual(resolved.notices.first, "access control on: 1 read-only, 1 service, 1 peer, 1 admin token(s) from \(file.path), $CX_READONLY_TOKEN")
        XCTAssertFalse(resolved.notices.joined().contains("0123456789"), "a notice must never show a token")

        // Peers are called with the peer token, never the business's service one.
        XCTAssertEqual(try options(["--tokens-file", file.path]).peerToken(environment: [:]), "peer-token-0123456789")
        XCTAssertEqual(
            try options(["--tokens-file", file.path]).peerToken(environment: ["CX_PEER_TOKEN": "other-peer-token-0123"]),
            "other-peer-token-0123")

        // A file others can read is served, with a warning.
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file.path)
        let loose = try options([]).resolve(service: .journey, environment: ["CX_TOKENS_FILE": file.path])
        XCTAssertTrue(loose.notices.contains { $0.contains("can be read by any user (mode 644)") }, "\(loose.notices)")

        let bad: [(String, String)] = [
            ("admin\n", "\(file.path):1: expected \"ROLE TOKEN\""),
            ("admin short\n", "at least 16"),
        ]
        for (text, expected) in bad {
            try text.write(to: file, atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try options(["--tokens-file", file.path]).resolve(service: .journey, environment: [:])) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(error)")
            }
        }
        XCTAssertThrowsError(try options(["--tokens-file", "/nonexistent/tokens"]).resolve(service: .journey, environment: [:])) { error in
            XCTAssertTrue("\(error)".contains("--tokens-file: cannot read \"/nonexistent/tokens\""), "\(error)")
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
