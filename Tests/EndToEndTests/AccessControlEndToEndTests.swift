import CXModel
import Foundation
import XCTest

/// Access control as an admin meets it: the real cx-profiles with a tokens
/// file, and cxctl with each role's token, a wrong one and none.
final class AccessControlEndToEndTests: XCTestCase {
    private let tokens: [(role: String, token: String)] = [
        ("admin", "e2e-admin-0123456789abcdef"),
        ("service", "e2e-service-0123456789abcdef"),
        ("read-only", "e2e-reader-0123456789abcdef"),
    ]

    func testEachRoleAgainstAnAdminOnlyMethodAWrongTokenAndNone() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cx-auth-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("tokens")
        try tokens.map { "\($0.role) \($0.token)" }.joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file.path)

        let profiles = try RunningService(.profiles, tokensFile: file)
        let noConfig = ["CX_PROFILES_ADDR": profiles.address, "CX_CONFIG": "", "XDG_CONFIG_HOME": directory.path, "CX_TOKEN": ""]
        func define(_ name: String, token: String?) throws -> CommandResult {
            try runCommand(
                "cxctl", ["profiles", "segments", "define", name, "--rule", #"city == "تهران""#] + (token.map { ["--token", $0] } ?? []),
                environment: noConfig)
        }

        // DefineSegment is admin-only: the admin defines, the others are refused by role.
        let admin = try define("Tehran", token: tokens[0].token)
        XCTAssertEqual(admin.status, 0, admin.stderr)
        for (role, token) in tokens.dropFirst() {
            let refused = try define("Tehran by \(role)", token: token)
            XCTAssertEqual(refused.status, 1, refused.stdout)
            XCTAssertTrue(
                refused.stderr.contains("PERMISSION_DENIED (ROLE_NOT_ALLOWED)") && refused.stderr.contains("this token's role is \(role)"),
                refused.stderr)
        }
        // Reads are for every role.
        for (role, token) in tokens {
            let list = try runCommand("cxctl", ["profiles", "segments", "list", "--token", token], environment: noConfig)
            XCTAssertEqual(list.status, 0, "\(role): \(list.stderr)")
            XCTAssertTrue(list.stdout.contains("Tehran"), list.stdout)
        }
        let wrong = try define("Wrong", token: "e2e-admin-0123456789abcdeX")
        XCTAssertEqual(wrong.status, 1)
        XCTAssertTrue(wrong.stderr.contains("UNAUTHENTICATED (TOKEN_UNKNOWN)"), wrong.stderr)
        let none = try define("None", token: nil)
        XCTAssertEqual(none.status, 1)
        XCTAssertTrue(none.stderr.contains("UNAUTHENTICATED (TOKEN_MISSING)"), none.stderr)
        // Health checks need no token, so probes can ask.
        let health = try runCommand("cxctl", ["health", "profiles"], environment: noConfig)
        XCTAssertEqual(health.status, 0, health.stderr)

        // The token can come from $CX_TOKEN or cxctl's config file instead of a flag.
        let fromEnvironment = try runCommand(
            "cxctl", ["profiles", "segments", "define", "By environment", "--rule", "age > 20"],
            environment: noConfig.merging(["CX_TOKEN": tokens[0].token]) { _, new in new })
        XCTAssertEqual(fromEnvironment.status, 0, fromEnvironment.stderr)
        let config = directory.appendingPathComponent("cxctl.conf")
        try "# test\ntoken = \(tokens[0].token)\nprofiles = \(profiles.address)\n".write(to: config, atomically: true, encoding: .utf8)
        let fromConfig = try runCommand(
            "cxctl", ["profiles", "segments", "define", "By config", "--rule", "age > 30"],
            environment: ["CX_CONFIG": config.path, "CX_TOKEN": "", "CX_PROFILES_ADDR": ""])
        XCTAssertEqual(fromConfig.status, 0, fromConfig.stderr)
        try "tokn = x\n".write(to: config, atomically: true, encoding: .utf8)
        let badConfig = try runCommand("cxctl", ["profiles", "segments", "list"], environment: ["CX_CONFIG": config.path])
        XCTAssertEqual(badConfig.status, 64)
        XCTAssertTrue(badConfig.stderr.contains("\(config.path):1: unknown key \"tokn\""), badConfig.stderr)

        // Only the refused segments are missing, and no token was ever logged.
        let listed = try runCommand("cxctl", ["profiles", "segments", "list", "--token", tokens[2].token, "-o", "json"], environment: noConfig)
        XCTAssertEqual(listed.status, 0, listed.stderr)
        for name in ["Tehran", "By environment", "By config"] { XCTAssertTrue(listed.stdout.contains(name), listed.stdout) }
        for name in ["Tehran by service", "Wrong", "None"] { XCTAssertFalse(listed.stdout.contains("\"\(name)\""), listed.stdout) }
        let (status, log) = profiles.stop()
        XCTAssertEqual(status, 0)
        XCTAssertTrue(log.contains("access control on: 1 read-only, 1 service, 0 peer, 1 admin token(s)"), log)
        for (_, token) in tokens { XCTAssertFalse(log.contains(token), "a token in the log:\n\(log)") }
        XCTAssertFalse(log.contains("0123456789abcde"), "part of a token in the log")
    }
}
