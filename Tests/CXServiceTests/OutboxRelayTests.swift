import CXModel
import CXStore
import CXTestSupport
import CXWire
import Foundation
import GRDB
import Logging
import NIOConcurrencyHelpers
import XCTest

@testable import CXService

/// A peer that applies events idempotently, refuses the first attempts, and
/// sometimes loses its answer after committing: the relay must still apply
/// every event exactly once, in order per key.
final class OutboxRelayTests: XCTestCase {
    static let apply = MethodDescriptor<Cx_Wire_V1_EchoRequest, Cx_Wire_V1_EchoResponse>(service: "cx.test.v1.Receiver", method: "Apply")

    private static let receiverMigrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("receiver v1") { db in
            try db.execute(sql: "CREATE TABLE applied (position INTEGER PRIMARY KEY AUTOINCREMENT, ordering_key TEXT NOT NULL, event TEXT NOT NULL)")
        }
        return migrator
    }()

    func testEveryEventIsAppliedExactlyOnceInOrderDespiteRefusalsLostAnswersAndARestart() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cx-relay-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        var logger = Logger(label: "test")
        logger.logLevel = .critical

        // The receiver: its own store, deduping by the idempotency-key metadata.
        let receiverStore = try Store(directory: root, name: "receiver", migrator: Self.receiverMigrator)
        let attempts = NIOLockedValueBox(0)
        var router = RPCRouter()
        router.register(Self.apply) { request, context in
            let attempt = attempts.withLockedValue { count -> Int in
                count += 1
                return count
            }
            if attempt <= 5 { throw RPCError(code: .unavailable, message: "warming up") }
            let key = context.metadata["idempotency-key"] ?? ""
            let parts = request.text.split(separator: ":")
            let response = try await receiverStore.write { db in
                try Idempotency.run(db, scope: "event", key: key, request: request) {
                    try db.execute(sql: "INSERT INTO applied (ordering_key, event) VALUES (?, ?)", arguments: [String(parts[0]), request.text])
                    return Cx_Wire_V1_EchoResponse()
                }
            }
            // Every 7th call commits but its answer is "lost".
            if attempt % 7 == 0 { throw RPCError(code: .unavailable, message: "answer lost") }
            return response
        }
        let server = RPCServer(configuration: .init(name: "receiver"), router: router, logger: logger)
        try await server.start()
        let peer = RPCClient(host: "127.0.0.1", port: server.localAddress!.port!)

        // The sender writes 120 events for 6 customers, then "restarts".
        var expected: [String: [String]] = [:]
        do {
            let sender = try Store(directory: root, name: "sender")
            for index in 0..<120 {
                let key = "customer\(index % 6)"
                let text = "\(key):\(index)"
                expected[key, default: []].append(text)
                var message = Cx_Wire_V1_EchoRequest()
                message.text = text
                let payload: Data = try message.serializedBytes()
                try await sender.write { db in
                    try Outbox.enqueue(db, OutboxEvent(
                        eventID: "event-\(index)", destination: "receiver", method: Self.apply.fullName,
                        orderingKey: key, payload: payload))
                }
            }
            try sender.close()
        }
        let sender = try Store(directory: root, name: "sender")
        let relay = OutboxRelay(
            store: sender, peers: ["receiver": peer],
            options: .init(initialBackoff: .milliseconds(5), maxBackoff: .milliseconds(20)), logger: logger)

        let started = Date()
        while Date().timeIntervalSince(started) < 30 {
            try await relay.deliverDue()
            if try await sender.outboxBacklog().isEmpty { break }
            try await Task.sleep(for: .milliseconds(5))
        }
        let backlog = try await sender.outboxBacklog()
        XCTAssertEqual(backlog, [])

        let applied = try await receiverStore.read { db in
            try Row.fetchAll(db, sql: "SELECT ordering_key, event FROM applied ORDER BY position").map { ($0["ordering_key"] as String, $0["event"] as String) }
        }
        XCTAssertEqual(applied.count, 120, "each event applied exactly once")
        var perKey: [String: [String]] = [:]
        for (key, event) in applied { perKey[key, default: []].append(event) }
        XCTAssertEqual(perKey, expected, "in order per customer")
        XCTAssertGreaterThan(attempts.withLockedValue { $0 }, 125, "refusals and lost answers were retried")

        await peer.close()
        server.close()
    }

    /// A peer that refuses one customer's event for good (NOT_FOUND: not
    /// enrolled yet) must not hold that customer's later events forever: the
    /// event is set aside after `refuseAfter` attempts, the later ones are
    /// delivered, the Outbox methods show it, and Retry delivers it once the
    /// peer would take it. Nothing is lost, nothing applied twice.
    func testARefusedEventIsSetAsideShownAndRetriedWithoutHoldingBackTheRest() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cx-relay-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        var logger = Logger(label: "test")
        logger.logLevel = .critical

        let enrolled = NIOLockedValueBox<Set<String>>(["c1"])
        let applied = NIOLockedValueBox<[String: String]>([:])  // event id -> text
        let calls = NIOLockedValueBox(0)
        var receiver = RPCRouter()
        receiver.register(Self.apply) { request, context in
            calls.withLockedValue { $0 += 1 }
            let customer = String(request.text.split(separator: ":")[0])
            guard enrolled.withLockedValue({ $0.contains(customer) }) else {
                throw RPCError(code: .notFound, message: "customer \(customer) is not enrolled")
            }
            applied.withLockedValue { $0[context.metadata["idempotency-key"] ?? "", default: request.text] = request.text }
            return Cx_Wire_V1_EchoResponse()
        }
        let receiverServer = RPCServer(configuration: .init(name: "receiver"), router: receiver, logger: logger)
        try await receiverServer.start()
        let peer = RPCClient(host: "127.0.0.1", port: receiverServer.localAddress!.port!)

        let sender = try Store(directory: root, name: "sender")
        func enqueue(_ id: String, _ text: String) async throws {
            let payload: Data = try Cx_Wire_V1_EchoRequest.with { $0.text = text }.serializedBytes()
            try await sender.write { db in
                try Outbox.enqueue(db, OutboxEvent(
                    eventID: id, destination: "receiver", method: Self.apply.fullName,
                    orderingKey: String(text.split(separator: ":")[0]), payload: payload))
            }
        }
        try await enqueue("e1", "c2:bonus")  // c2 is not enrolled: refused
        try await enqueue("e2", "c1:purchase")
        try await enqueue("e3", "c2:later")  // behind e1, same customer

        // The sender serves its Outbox methods, as every service does.
        var senderRouter = RPCRouter()
        OutboxMethods.register(into: &senderRouter, store: sender, server: "sender", destinations: ["receiver"])
        let senderServer = RPCServer(configuration: .init(name: "sender"), router: senderRouter, logger: logger)
        try await senderServer.start()
        let admin = RPCClient(host: "127.0.0.1", port: senderServer.localAddress!.port!)

        let relay = OutboxRelay(
            store: sender, peers: ["receiver": peer],
            options: .init(initialBackoff: .milliseconds(2), maxBackoff: .milliseconds(5), refuseAfter: 3), logger: logger)
        func drain() async throws {
            let started = Date()
            while Date().timeIntervalSince(started) < 20 {
                try await relay.deliverDue()
                if try await sender.outboxBacklog().allSatisfy({ $0.pending == 0 }) { return }
                try await Task.sleep(for: .milliseconds(3))
            }
            XCTFail("the outbox did not drain")
        }

        // Before its refusals run out, e1 holds e3 back (order per customer).
        try await relay.deliverDue()
        XCTAssertEqual(Set(applied.withLockedValue { $0.keys }), ["e2"])

        try await drain()
        XCTAssertEqual(applied.withLockedValue { $0 }, ["e2": "c1:purchase"], "e3 still waits behind e1, which is still being tried")
        // e1 was refused 3 times, then set aside; e3 then fails too (c2 still
        // not enrolled) and is set aside in turn.
        let status = try await admin.call(Cx_Wire_V1_Outbox.status, .init())
        XCTAssertEqual(status.server, "sender")
        XCTAssertEqual(status.destinations.count, 1)
        let destination = try XCTUnwrap(status.destinations.first)
        XCTAssertEqual(destination.destination, "receiver")
        XCTAssertEqual(destination.pending, 0)
        XCTAssertEqual(destination.refused, 2)
        XCTAssertEqual(destination.refusedEvents.map(\.eventID), ["e3", "e1"], "newest first")
        XCTAssertEqual(destination.refusedEvents.last?.attempts, 3)
        XCTAssertEqual(destination.refusedEvents.last?.error, "NOT_FOUND: customer c2 is not enrolled")
        XCTAssertEqual(destination.refusedEvents.last?.orderingKey, "c2")
        XCTAssertEqual(destination.refusedEvents.last?.method, Self.apply.fullName)

        // Bad retries change nothing.
        await assertRPCError(.invalidArgument, field: "destination") {
            try await admin.call(Cx_Wire_V1_Outbox.retry, .with { $0.destination = "nowhere" })
        }
        await assertRPCError(.invalidArgument, field: "event_ids[1]") {
            try await admin.call(Cx_Wire_V1_Outbox.retry, .with { $0.eventIds = ["e1", ""] })
        }
        await assertRPCError(.invalidArgument, field: "refused_limit") {
            try await admin.call(Cx_Wire_V1_Outbox.status, .with { $0.refusedLimit = 101 })
        }

        // The customer enrols; the admin puts e1 back, then the rest.
        enrolled.withLockedValue { _ = $0.insert("c2") }
        let one = try await admin.call(Cx_Wire_V1_Outbox.retry, .with { $0.eventIds = ["e1"]; $0.destination = "receiver" })
        XCTAssertEqual(one.requeued, 1)
        try await drain()
        let rest = try await admin.call(Cx_Wire_V1_Outbox.retry, .init())
        XCTAssertEqual(rest.requeued, 1)
        try await drain()
        XCTAssertEqual(applied.withLockedValue { $0 }, ["e1": "c2:bonus", "e2": "c1:purchase", "e3": "c2:later"])
        let after = try await admin.call(Cx_Wire_V1_Outbox.status, .init())
        XCTAssertEqual(after.destinations, [], "nothing pending, nothing refused")
        // A retry with nothing refused puts nothing back.
        let none = try await admin.call(Cx_Wire_V1_Outbox.retry, .init())
        XCTAssertEqual(none.requeued, 0)

        await admin.close()
        await peer.close()
        senderServer.close()
        receiverServer.close()
    }

    /// An event that waited out an outage is not set aside at the first
    /// refusal after it: only refusals in a row count.
    func testOnlyRefusalsInARowSetAnEventAside() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cx-relay-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        // Down for 6 attempts, then "not enrolled" twice (the customer's enrolment
        // is still on its way), then accepted.
        let answers: [RPCCode?] = [.unavailable, .unavailable, .unavailable, .unavailable, .unavailable, .unavailable, .notFound, .notFound, nil]
        let calls = NIOLockedValueBox(0)
        var receiver = RPCRouter()
        receiver.register(Self.apply) { _, _ in
            let call = calls.withLockedValue { count -> Int in
                count += 1
                return count
            }
            if let code = answers[min(call, answers.count) - 1] { throw RPCError(code: code, message: "attempt \(call)") }
            return Cx_Wire_V1_EchoResponse()
        }
        let server = RPCServer(configuration: .init(name: "receiver"), router: receiver, logger: logger)
        try await server.start()
        let peer = RPCClient(host: "127.0.0.1", port: server.localAddress!.port!)
        let sender = try Store(directory: root, name: "sender")
        let payload: Data = try Cx_Wire_V1_EchoRequest.with { $0.text = "c1:bonus" }.serializedBytes()
        try await sender.write { db in
            try Outbox.enqueue(db, OutboxEvent(eventID: "e1", destination: "receiver", method: Self.apply.fullName, orderingKey: "c1", payload: payload))
        }
        let relay = OutboxRelay(
            store: sender, peers: ["receiver": peer],
            options: .init(initialBackoff: .milliseconds(1), maxBackoff: .milliseconds(2), refuseAfter: 3), logger: logger)
        let started = Date()
        while Date().timeIntervalSince(started) < 20 {
            if try await sender.outboxBacklog().isEmpty { break }
            try await relay.deliverDue()
            try await Task.sleep(for: .milliseconds(3))
        }
        let backlog = try await sender.outboxBacklog()
        XCTAssertEqual(backlog, [], "delivered, not set aside")
        XCTAssertEqual(calls.withLockedValue { $0 }, 9)
        await peer.close()
        server.close()
    }

    func testOnlyAnAnswerAboutTheEventItselfIsARefusal() {
        for code in [RPCCode.invalidArgument, .notFound, .failedPrecondition, .alreadyExists, .outOfRange] {
            XCTAssertTrue(OutboxRelay.isRefusal(RPCError(code: code, message: "x")), "\(code)")
        }
        for code in [RPCCode.unavailable, .deadlineExceeded, .unauthenticated, .permissionDenied, .unimplemented, .resourceExhausted, .internal] {
            XCTAssertFalse(OutboxRelay.isRefusal(RPCError(code: code, message: "x")), "\(code) is retried for as long as it takes")
        }
        XCTAssertFalse(OutboxRelay.isRefusal(CancellationError()))
    }

    func testBackoffDoublesUpToTheMaximum() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cx-relay-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
        let relay = OutboxRelay(
            store: try Store(directory: directory, name: "b"),
            peers: [:], options: .init(initialBackoff: .milliseconds(100), maxBackoff: .seconds(1)), logger: Logger(label: "t"))
        XCTAssertEqual(relay.backoff(afterFailures: 1), .milliseconds(100))
        XCTAssertEqual(relay.backoff(afterFailures: 2), .milliseconds(200))
        XCTAssertEqual(relay.backoff(afterFailures: 4), .milliseconds(800))
        XCTAssertEqual(relay.backoff(afterFailures: 5), .seconds(1))
        XCTAssertEqual(relay.backoff(afterFailures: 60), .seconds(1))
        XCTAssertEqual(
            relay.retryDelay(after: RPCError(code: .unimplemented, message: "no such method"), failures: 1), .seconds(1),
            "a peer that does not serve the method yet is tried at the longest interval")
        XCTAssertEqual(relay.retryDelay(after: RPCError(code: .unavailable, message: "connection refused"), failures: 1), .milliseconds(100))
    }
}

final class StoreErrorStatusTests: XCTestCase {
    func testStoreErrorsBecomeStatusesThatNameWhatWasWrong() {
        let reused = StoreError.idempotencyKeyReused(scope: "purchase", key: "order-9").rpcError
        XCTAssertEqual(reused.code, .failedPrecondition)
        XCTAssertEqual(reused.reason, "IDEMPOTENCY_KEY_REUSED")
        XCTAssertTrue(reused.message.contains("order-9"))
        let corrupt = StoreError.corruptBody(table: "account", key: "c-1", reason: "unknown codec tag 7").rpcError
        XCTAssertEqual(corrupt.code, .dataLoss)
        XCTAssertEqual(corrupt.message, "account c-1: stored body is unreadable: unknown codec tag 7")
    }
}
