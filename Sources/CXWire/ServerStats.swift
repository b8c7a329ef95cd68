import Foundation
import Synchronization

/// Counters the health check reports, shared by every connection.
final class ServerStats: Sendable {
    private let inFlight = Atomic<Int>(0)
    private let openConnections = Atomic<Int>(0)
    let startedAt = Date()

    /// Calls whose handlers run as tasks, started and not yet answered.
    /// Synchronous handlers' calls are answered inline, before anyone could
    /// see them in flight, and are not counted.
    var callsInFlight: Int { inFlight.load(ordering: .relaxed) }
    var connections: Int { openConnections.load(ordering: .relaxed) }

    func callStarted() { inFlight.add(1, ordering: .relaxed) }
    func callsFinished(_ count: Int) { if count > 0 { inFlight.subtract(count, ordering: .relaxed) } }

    /// Counts a new connection unless `limit` are open already.
    func tryOpenConnection(limit: Int) -> Bool {
        var current = openConnections.load(ordering: .relaxed)
        while current < limit {
            let (exchanged, original) = openConnections.compareExchange(
                expected: current, desired: current + 1, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
        return false
    }

    func connectionClosed() { openConnections.subtract(1, ordering: .relaxed) }
}
