import CXStore
import CXWire
import Foundation
import Logging
import ServiceLifecycle

/// Delivers a store's outbox to peer services: each due event is sent to
/// its destination's method with the event id as `idempotency-key`
/// metadata, leaves the outbox once the peer answered OK, and is retried
/// with exponential backoff otherwise. Events with the same destination and
/// ordering key are delivered one at a time, in order; others in parallel.
///
/// Restart-safe: the outbox is in the store, so a relay that stops
/// (shutdown, crash) resumes where it was; a peer that got an event but
/// whose answer was lost gets it again and dedupes by the event id.
///
/// A peer that refuses an event for good (INVALID_ARGUMENT, NOT_FOUND,
/// FAILED_PRECONDITION, ALREADY_EXISTS, OUT_OF_RANGE) on `refuseAfter`
/// attempts in a row (a failure of any other kind in between starts the
/// count again, so an event that waited out an outage gets its grace too) has it set aside as refused (kept, counted by `cxctl
/// outbox`, put back by its Retry), so the same customer's later events are
/// not held behind it forever. Anything else (down, overloaded, a wrong
/// token, a method not served yet) is retried for as long as it takes.
public struct OutboxRelay: Service {
    public struct Options: Sendable {
        /// How often to look for due events when there were none. Default 100 ms.
        public var pollInterval: Duration
        /// Events fetched (and delivered in parallel) per round. Default 64.
        public var batchSize: Int
        /// First retry delay; doubles per failed attempt up to `maxBackoff`. Default 200 ms.
        public var initialBackoff: Duration
        /// Default 60 s.
        public var maxBackoff: Duration
        /// How long one delivery may take. Default 10 s.
        public var callTimeout: Duration
        /// Attempts a peer refuses for good before the event is set aside.
        /// Default 5 (about 3 s of backoff: a customer created in one
        /// service a moment before another hears of them is not refused).
        public var refuseAfter: Int

        public init(
            pollInterval: Duration = .milliseconds(100), batchSize: Int = 64, initialBackoff: Duration = .milliseconds(200),
            maxBackoff: Duration = .seconds(60), callTimeout: Duration = .seconds(10), refuseAfter: Int = 5
        ) {
            self.pollInterval = pollInterval
            self.batchSize = batchSize
            self.initialBackoff = initialBackoff
            self.maxBackoff = maxBackoff
            self.callTimeout = callTimeout
            self.refuseAfter = max(1, refuseAfter)
        }
    }

    private let store: Store
    private let peers: [String: RPCClient]
    private let options: Options
    private let logger: Logger

    /// - Parameter peers: a client per destination name (`"profiles"`, ...).
    public init(store: Store, peers: [String: RPCClient], options: Options = Options(), logger: Logger) {
        self.store = store
        self.peers = peers
        self.options = options
        self.logger = logger
    }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                while !Task.isCancelled {
                    let delivered: Int
                    do {
                        delivered = try await deliverDue()
                    } catch is CancellationError {
                        throw CancellationError()
                    } catch {
                        // A store error must not stop the service: log it and try again later.
                        logger.error("outbox relay round failed", metadata: ["error": "\(error)"])
                        delivered = 0
                    }
                    if delivered == 0 { try await Task.sleep(for: options.pollInterval) }
                }
            }
        } catch is CancellationError {
            // Shutting down: what is left stays in the outbox for next time.
        }
    }

    /// One round: delivers what is due now. Returns how many events were attempted.
    @discardableResult
    public func deliverDue(now: Date = Date()) async throws -> Int {
        let due = try await store.outboxDue(now: now, limit: options.batchSize)
        guard !due.isEmpty else { return 0 }
        await withTaskGroup(of: Void.self) { group in
            for pending in due {
                group.addTask { await deliver(pending) }
            }
        }
        return due.count
    }

    private func deliver(_ pending: PendingOutboxEvent) async {
        let event = pending.event
        do {
            guard let peer = peers[event.destination] else {
                throw RPCError(code: .unavailable, message: "no address for destination \"\(event.destination)\"")
            }
            let timeout = options.callTimeout.components
            _ = try await peer.call(
                method: event.method, payload: event.payload,
                options: CallOptions(
                    timeout: .nanoseconds(timeout.seconds * 1_000_000_000 + timeout.attoseconds / 1_000_000_000),
                    metadata: ["idempotency-key": event.eventID]))
        } catch {
            let refused = Self.isRefusal(error)
            if refused, pending.refusals + 1 >= options.refuseAfter {
                logger.error("outbox event refused by its peer; set aside (cxctl outbox shows it, its retry puts it back)", metadata: [
                    "event_id": "\(event.eventID)", "destination": "\(event.destination)", "method": "\(event.method)",
                    "attempts": "\(pending.attempts + 1)", "error": "\(error)",
                ])
                try? await store.outboxRefused(sequence: pending.sequence, error: Self.describe(error))
                return
            }
            let delay = retryDelay(after: error, failures: pending.attempts + 1)
            // A peer that does not serve the method (yet: an older version,
            // or a service still to come) is said once, then quietly.
            let unserved = (error as? RPCError)?.code == .unimplemented
            logger.log(level: unserved && pending.attempts > 0 ? .debug : .warning, "outbox delivery failed; will retry", metadata: [
                "event_id": "\(event.eventID)", "destination": "\(event.destination)", "method": "\(event.method)",
                "attempt": "\(pending.attempts + 1)", "retry_in": "\(delay)", "error": "\(error)",
            ])
            let seconds = Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18
            try? await store.outboxFailed(
                sequence: pending.sequence, error: Self.describe(error), retryAt: Date().addingTimeInterval(seconds), refused: refused)
            return
        }
        do {
            try await store.outboxDelivered(sequence: pending.sequence)
        } catch {
            // Delivered but not marked: it goes again, and the receiver dedupes it.
            logger.error("outbox event delivered but not marked", metadata: ["event_id": "\(event.eventID)", "error": "\(error)"])
        }
    }

    /// Whether the peer said no to this event itself, an answer no retry
    /// changes (as opposed to being down, busy or misconfigured).
    static func isRefusal(_ error: any Error) -> Bool {
        guard let code = (error as? RPCError)?.code else { return false }
        return [.invalidArgument, .notFound, .failedPrecondition, .alreadyExists, .outOfRange].contains(code)
    }

    /// "NOT_FOUND: customer c-1 is not enrolled".
    static func describe(_ error: any Error) -> String {
        guard let rpc = error as? RPCError else { return "\(error)" }
        return "\(rpc.code.name)\(rpc.reason.isEmpty ? "" : " (\(rpc.reason))"): \(rpc.message)"
    }

    /// How long to wait after `failures` failed attempts, the last with
    /// `error`. A peer answering UNIMPLEMENTED does not serve the method
    /// yet, and no retry soon will change that: it is tried at the longest
    /// interval, and the event waits for it, never dropped.
    func retryDelay(after error: any Error, failures: Int) -> Duration {
        if (error as? RPCError)?.code == .unimplemented { return options.maxBackoff }
        return backoff(afterFailures: failures)
    }

    func backoff(afterFailures failures: Int) -> Duration {
        let factor = 1 << min(max(failures - 1, 0), 20)
        return min(options.initialBackoff * factor, options.maxBackoff)
    }
}
