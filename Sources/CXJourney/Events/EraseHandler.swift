import CXModel
import CXService
import CXStore
import CXWire
import Foundation
import GRDB

extension JourneyService {
    /// Profiles erased the customer: deletes what journey keeps under the
    /// id (see ``JourneyWriter/erase(_:_:)``), once per idempotency key.
    func eraseCustomer(_ request: Cx_Common_V1_EraseCustomerRequest, _ context: ServerContext) async throws
        -> Cx_Common_V1_EraseCustomerResponse
    {
        try RequestCheck.id(request.customerID, field: "customer_id")
        let key = try RequestCheck.idempotencyKey("", context)
        let id = request.customerID
        // Alone: the outbox has no index on the ordering key, and its scan
        // must not lengthen a group-commit batch of events.
        return try await store.idempotentWrite("erase-customer", key: key, request: request, alone: true) { db in
            let erased = try JourneyWriter.erase(db, id)
            return .with { $0.recordsErased = erased }
        }
    }
}

extension JourneyWriter {
    /// Deletes the customer's row, events, stage changes and tasks, and the
    /// events about them still waiting (or refused) in journey's outbox;
    /// the customer leaves their stage's count in `stage_count` (which
    /// counts customer rows by stage). The other aggregates name no one
    /// and stay. Returns the rows deleted (0 for an unknown id).
    static func erase(_ db: Database, _ id: String) throws -> UInt64 {
        var erased: UInt64 = 0
        if let state = try load(db, id) {
            try Aggregates.forget(db, stage: state.stage)
            try db.execute(sql: "DELETE FROM customer WHERE customer_id = ?", arguments: [id])
            erased += UInt64(db.changesCount)
        }
        for table in ["event", "stage_change", "task"] {
            try db.execute(sql: "DELETE FROM \(table) WHERE customer_id = ?", arguments: [id])
            erased += UInt64(db.changesCount)
        }
        // Journey's outbox events (profiles' journey_stage trait) are keyed by customer id.
        erased += UInt64(try Outbox.forget(db, orderingKey: id))
        // Stored first answers about the customer (events, stage moves, tasks).
        erased += UInt64(try Idempotency.forget(db, subject: id))
        return erased
    }
}
