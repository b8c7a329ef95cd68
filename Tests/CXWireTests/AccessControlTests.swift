import CXModel
import CXTestSupport
import Foundation
import XCTest

@testable import CXWire

/// Access control on a real server over loopback: every role against a
/// method of each access level, a wrong token, a malformed one, none.
final class AccessControlTests: XCTestCase {
    private let adminToken = "admin-0123456789abcdef"
    private let serviceToken = "service-0123456789abcdef"
    private let readerToken = "reader-0123456789abcdef"
    private let peerToken = "peer-0123456789abcdef"

    /// A test method of each access level, all echoing.
    private enum Methods {
        static let read = MethodDescriptor<Cx_Wire_V1_EchoRequest, Cx_Wire_V1_EchoResponse>(
            service: "cx.test.v1.Access", method: "Read", access: .read)
        static let write = MethodDescriptor<Cx_Wire_V1_EchoRequest, Cx_Wire_V1_EchoResponse>(
            service: "cx.test.v1.Access", method: "Write", access: .write)
        static let admin = MethodDescriptor<Cx_Wire_V1_EchoRequest, Cx_Wire_V1_EchoResponse>(
            service: "cx.test.v1.Access", method: "Admin", access: .admin)
        static let peer = MethodDescriptor<Cx_Wire_V1_EchoRequest, Cx_Wire_V1_EchoResponse>(
            service: "cx.test.v1.Access", method: "Peer", access: .peer)
        /// A descriptor made by hand without saying its access: admin only.
        static let unsaid = MethodDescriptor<Cx_Wire_V1_EchoRequest, Cx_Wire_V1_EchoResponse>(
            service: "cx.test.v1.Access", method: "Unsaid")
    }

    private func startServer() async throws -> RPCServer {
        var router = RPCRouter()
        for method in [Methods.read, Methods.write, Methods.peer, Methods.admin, Methods.unsaid] {
            router.register(method, synchronousHandler: { request, _ in Cx_Wire_V1_EchoResponse.with { $0.text = request.text } })
        }
        var configuration = RPCServerConfiguration(name: "access-test")
        configuration.accessControl = try AccessControl(tokens: [
            (.admin, adminToken), (.service, serviceToken), (.readOnly, readerToken), (.peer, peerToken),
        ])
        let server = RPCServer(configuration: configuration, router: router, logger: .init(label: "test"))
        try await server.start()
        return server
    }

    private func client(_ server: RPCServer, authorization: String?) -> RPCClient {
        var configuration = RPCClientConfiguration(connections: 1)
        if let authorization { configuration.metadata["authorization"] = authorization }
        return RPCClient(host: "127.0.0.1", port: server.localAddress!.port!, configuration: configuration)
    }

    private func echo(_ text: String) -> Cx_Wire_V1_EchoRequest { .with { $0.text = text } }

    func testEachRoleReachesItsOwnLevelAndBelowOnly() async throws {
        let server = try await startServer()
        defer { server.close() }
        let expected: [(token: String, role: String, allowed: Set<String>)] = [
            (adminToken, "admin", ["Read", "Write", "Peer", "Admin", "Unsaid"]),
            (peerToken, "peer", ["Read", "Write", "Peer"]),
            (serviceToken, "service", ["Read", "Write"]),
            (readerToken, "read-only", ["Read"]),
        ]
        for (token, role, allowed) in expected {
            let client = client(server, authorization: "Bearer \(token)")
            for method in [Methods.read, Methods.write, Methods.peer, Methods.admin, Methods.unsaid] {
                if allowed.contains(method.method) {
                    let answer = try await client.call(method, echo("hi \(role)"))
                    XCTAssertEqual(answer.text, "hi \(role)", "\(role) -> \(method.method)")
                } else {
                    await CXTestSupport.assertRPCError(.permissionDenied, reason: "ROLE_NOT_ALLOWED", messageContains: "this token's role is \(role)") {
                        try await client.call(method, echo("x"))
                    }
                }
            }
            await client.close()
        }
    }

    func testMissingWrongAndMalformedTokensAreUnauthenticatedButHealthIsOpen() async throws {
        let server = try await startServer()
        defer { server.close() }
        let cases: [(String?, String)] = [
            (nil, "TOKEN_MISSING"),
            ("Bearer admin-0123456789abcdeX", "TOKEN_UNKNOWN"),  // one character off
            ("Bearer \(adminToken)x", "TOKEN_UNKNOWN"),  // one character more
            (adminToken, "TOKEN_MALFORMED"),  // no scheme
            ("Basic \(adminToken)", "TOKEN_MALFORMED"),
        ]
        for (authorization, reason) in cases {
            let client = client(server, authorization: authorization)
            await CXTestSupport.assertRPCError(.unauthenticated, reason: reason) { try await client.call(Methods.read, echo("x")) }
            // The health check answers anyone, so probes need no secret.
            let health = try await client.call(Cx_Wire_V1_Health.check, .init())
            XCTAssertEqual(health.status, .serving)
            // A method the server does not serve: the token is checked first, so
            // a stranger learns nothing of what is served.
            await CXTestSupport.assertRPCError(.unauthenticated) {
                try await client.call(MethodDescriptor<Cx_Wire_V1_EchoRequest, Cx_Wire_V1_EchoResponse>(
                    service: "cx.test.v1.Access", method: "Nowhere", access: .read), echo("x"))
            }
            await client.close()
        }
        // The scheme is case-insensitive, as in HTTP.
        let lower = client(server, authorization: "bearer \(readerToken)")
        _ = try await lower.call(Methods.read, echo("x"))
        await lower.close()
    }

    func testTokensFileIsCheckedLineByLineAndNeverEchoesATokenInAnError() throws {
        let parsed = try AccessControl.parseTokens(
            """
            # who may call
            admin   \(adminToken)   # ops
            service \(serviceToken)

            read-only \(readerToken)
            """, source: "tokens")
        XCTAssertEqual(parsed.map(\.role), [.admin, .service, .readOnly])
        XCTAssertEqual(parsed.map(\.token), [adminToken, serviceToken, readerToken])

        XCTAssertThrowsError(try AccessControl.parseTokens("admin\n", source: "tokens")) { error in
            XCTAssertEqual("\(error)", "tokens:1: expected \"ROLE TOKEN\" (2 fields), found 1")
        }
        XCTAssertThrowsError(try AccessControl.parseTokens("\nroot \(adminToken)\n", source: "tokens")) { error in
            XCTAssertEqual("\(error)", "tokens:2: the first field must be a role, one of read-only, service, peer, admin")
        }
        // Written the wrong way round, the token is in the first field: it must not reach the message.
        XCTAssertThrowsError(try AccessControl.parseTokens("\(adminToken) admin\n", source: "tokens")) { error in
            XCTAssertFalse("\(error)".contains(self.adminToken), "\(error)")
        }
        // Windows line ends, and a "#" inside a token.
        let crlf = try AccessControl.parseTokens("# ops\r\nadmin abc#def-0123456789abc # note\r\n", source: "tokens")
        XCTAssertEqual(crlf.map(\.token), ["abc#def-0123456789abc"])
        XCTAssertThrowsError(try AccessControl(tokens: [(.admin, "short")])) { error in
            XCTAssertTrue("\(error)".contains("at least 16"), "\(error)")
            XCTAssertFalse("\(error)".contains("short"))
        }
        XCTAssertThrowsError(try AccessControl(tokens: [(.admin, adminToken), (.readOnly, adminToken)])) { error in
            XCTAssertTrue("\(error)".contains("both the admin and the read-only role"), "\(error)")
        }
        let control = try AccessControl(tokens: [(.service, serviceToken), (.service, serviceToken), (.admin, adminToken)])
        XCTAssertEqual(control.tokenCounts, [.service: 1, .admin: 1])
        XCTAssertEqual(control.role(of: serviceToken), .service)
        XCTAssertNil(control.role(of: ""))
        XCTAssertNil(control.role(of: String(serviceToken.dropLast())))
    }

    func testEveryMethodInProtoSpecDeclaresItsAccess() {
        // The generator refuses an rpc without the option; this holds the
        // levels the platform depends on.
        let access = Dictionary(uniqueKeysWithValues: CXMethods.all.map { ($0.fullName, $0.access) })
        XCTAssertEqual(access["/cx.wire.v1.Health/Check"], .public)
        XCTAssertEqual(access["/cx.loyalty.v1.Loyalty/RecordPurchase"], .write)
        XCTAssertEqual(access["/cx.loyalty.v1.Loyalty/UpdateProgram"], .admin)
        XCTAssertEqual(access["/cx.profiles.v1.Customers/DeleteCustomer"], .admin)
        XCTAssertEqual(access["/cx.profiles.v1.Customers/UpdateTraits"], .peer, "a business's services may not forge traits")
        XCTAssertEqual(access["/cx.journey.v1.Journey/RecordLoyaltyEvent"], .peer)
        XCTAssertEqual(access["/cx.loyalty.v1.Loyalty/AwardBonus"], .write, "feedback's bonuses, and a shop's review bonuses")
        XCTAssertEqual(access["/cx.feedback.v1.Feedback/GetScores"], .read)
        XCTAssertEqual(access["/cx.wire.v1.Outbox/Retry"], .admin)
        XCTAssertEqual(CXMethods.all.filter { $0.access == .public }.map(\.fullName), ["/cx.wire.v1.Health/Check"])
    }
}

/// The clients' config file (cxctl, cx-load).
final class ClientConfigFileTests: XCTestCase {
    func testKeysValuesCommentsWindowsLineEndsAndAHashInsideAToken() throws {
        let config = try ClientConfigFile.parse(
            "# written by hand\r\ntoken = abc#def-0123456789  # the admin's\r\nprofiles = 127.0.0.1:7101\r\n\r\n", path: "cxctl.conf")
        XCTAssertEqual(config["token"], "abc#def-0123456789")
        XCTAssertEqual(config["profiles"], "127.0.0.1:7101")
        XCTAssertNil(config["loyalty"])
        XCTAssertThrowsError(try ClientConfigFile.parse("token 3f9c\n", path: "c")) { error in
            XCTAssertEqual("\(error)", "c:1: expected \"key = value\"")
        }
        XCTAssertThrowsError(try ClientConfigFile.parse("\ntokn = x\n", path: "c")) { error in
            XCTAssertTrue("\(error)".hasPrefix("c:2: unknown key \"tokn\""), "\(error)")
        }
        XCTAssertThrowsError(try ClientConfigFile.load(environment: ["CX_CONFIG": "/nonexistent/cxctl.conf"])) { error in
            XCTAssertEqual("\(error)", "$CX_CONFIG: cannot read \"/nonexistent/cxctl.conf\"")
        }
        let none = try ClientConfigFile.load(environment: ["XDG_CONFIG_HOME": "/nonexistent"])
        XCTAssertNil(none.path, "no file at the default place is an empty config")
    }
}
