import CXWire
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
