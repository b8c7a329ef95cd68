import CXWire
import Logging
import Foundation
import Synchronization
import XCTest

/// A time tests move by hand: services take `{ clock.now }` as their clock.
public final class ManualClock: Sendable {
    private let current: Mutex<Date>
    /// 2026-01-01T00:00:00Z unless told otherwise.
    public init(_ start: Date = Date(timeIntervalSince1970: 1_767_225_600)) { current = Mutex(start) }
    public var now: Date { current.withLock { $0 } }
    public func advance(days: Double) { current.withLock { $0 += days * 86_400 } }
    public func set(_ date: Date) { current.withLock { $0 = date } }
}

/// Asserts that `body` fails with `code` (and `field`, `reason` when given).
public func assertRPCError<T>(
    _ code: RPCCode, field: String? = nil, reason: String? = nil, messageContains: String? = nil,
    file: StaticString = #filePath, line: UInt = #line, _ body: () async throws -> T
) async {
    do {
        _ = try await body()
        XCTFail("expected \(code), but the call succeeded", file: file, line: line)
    } catch let error as RPCError {
        XCTAssertEqual(error.code, code, "\(error)", file: file, line: line)
        if let field { XCTAssertEqual(error.fieldViolations.first?.field, field, "\(error)", file: file, line: line) }
        if let reason { XCTAssertEqual(error.reason, reason, "\(error)", file: file, line: line) }
        if let messageContains { XCTAssertTrue(error.message.contains(messageContains), "\(error.message)", file: file, line: line) }
    } catch {
        XCTFail("expected RPCError \(code), got \(error)", file: file, line: line)
    }
}

/// A real RPC server on 127.0.0.1 (port 0) with the methods `register`
/// adds, quiet in the test log, and a client connected to it: what every
/// service's test harness starts.
public func startLoopbackServer(name: String, register: (inout RPCRouter) -> Void) async throws -> (server: RPCServer, client: RPCClient) {
    var router = RPCRouter()
    register(&router)
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    let server = RPCServer(configuration: .init(name: name), router: router, logger: logger)
    try await server.start()
    return (server, RPCClient(host: "127.0.0.1", port: server.localAddress!.port!))
}

/// A fresh directory name under the system's temporary directory.
public func temporaryDirectory(_ prefix: String) -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
}
