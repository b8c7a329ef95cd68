import CXModel
import CXStore
import CXWire
import Foundation
import SwiftProtobuf

/// `cx.wire.v1.Outbox`: what a service's outbox still holds for its peers
/// (`cxctl outbox`), and putting refused events back in line.
public enum OutboxMethods {
    /// Serves Status and Retry over `store`'s outbox.
    /// - Parameter destinations: the peers this service sends to, so a
    ///   destination that is not one of them is named as such by Retry.
    public static func register(into router: inout RPCRouter, store: Store, server: String, destinations: Set<String>) {
        router.register(Cx_Wire_V1_Outbox.status) { request, _ in
            let limit = Int(request.refusedLimit == 0 ? 10 : request.refusedLimit)
            guard limit <= 100 else {
                throw RPCError.invalidArgument(field: "refused_limit", "\(request.refusedLimit) is more than 100")
            }
            var response = Cx_Wire_V1_OutboxStatusResponse()
            response.server = server
            for backlog in try await store.outboxBacklog() {
                var destination = Cx_Wire_V1_OutboxDestination()
                destination.destination = backlog.destination
                destination.pending = UInt64(backlog.pending)
                if let oldest = backlog.oldest { destination.oldestPendingAt = .init(date: oldest) }
                destination.lastError = backlog.lastError ?? ""
                destination.refused = UInt64(backlog.refused)
                if backlog.refused > 0 {
                    destination.refusedEvents = try await store.outboxRefusedEvents(
                        destination: backlog.destination, limit: limit
                    ).map { refused in
                        var event = Cx_Wire_V1_RefusedEvent()
                        event.eventID = refused.event.eventID
                        event.method = refused.event.method
                        event.orderingKey = refused.event.orderingKey
                        event.createdAt = .init(date: refused.createdAt)
                        event.refusedAt = .init(date: refused.refusedAt)
                        event.attempts = UInt32(clamping: refused.attempts)
                        event.error = refused.error
                        return event
                    }
                }
                response.destinations.append(destination)
            }
            return response
        }

        router.register(Cx_Wire_V1_Outbox.retry) { request, _ in
            if !request.destination.isEmpty, !destinations.contains(request.destination) {
                throw RPCError.invalidArgument(
                    field: "destination",
                    "\(RequestCheck.quoted(request.destination)) is not a peer of \(server); its peers are \(destinations.sorted().joined(separator: ", "))")
            }
            guard request.eventIds.count <= 1_000 else {
                throw RPCError.invalidArgument(field: "event_ids", "\(request.eventIds.count) ids; at most 1,000 at once")
            }
            if let index = request.eventIds.firstIndex(where: \.isEmpty) {
                throw RPCError.invalidArgument(field: "event_ids[\(index)]", "is empty")
            }
            var response = Cx_Wire_V1_OutboxRetryResponse()
            response.requeued = UInt64(try await store.outboxRequeueRefused(
                destination: request.destination.isEmpty ? nil : request.destination, eventIDs: request.eventIds))
            return response
        }
    }
}
