import CXModel
import CXService
import CXStore
import CXWire
import Foundation
import GRDB

extension FeedbackService {
    /// Profiles erased the customer (see feedback.proto's EraseCustomer).
    func eraseCustomer(_ request: Cx_Common_V1_EraseCustomerRequest, _ context: ServerContext) async throws
        -> Cx_Common_V1_EraseCustomerResponse
    {
        try RequestCheck.id(request.customerID, field: "customer_id")
        // Profiles' outbox sends its event id as the idempotency-key metadata.
        let key = try RequestCheck.idempotencyKey("", context)
        return try await store.idempotentWrite("erase-customer", key: key, request: request) { db in
            var response = Cx_Common_V1_EraseCustomerResponse()
            response.recordsErased = try CustomerErasure.erase(db, customer: request.customerID)
            return response
        }
    }
}

/// What erasing a customer does to feedback's tables. No in-memory cache
/// of feedback holds anything by customer (``SurveyBodies`` is by survey),
/// so the store is all there is to erase.
enum CustomerErasure {
    /// An erased complaint's customer_id, and the text of its description,
    /// notes and replies. Not a valid id (brackets), so no customer's
    /// ListComplaints finds erased complaints and no customer can own them.
    static let marker = "[erased]"

    /// Deletes the customer's responses, contact row and outbox events and
    /// blanks their complaints; returns the rows deleted or blanked.
    static func erase(_ db: Database, customer: String) throws -> UInt64 {
        var erased: UInt64 = 0
        // Every response writes the contact row in its transaction: without
        // one there is no response, and the scan of `response` (which has no
        // index by customer, to keep the response path cheap) is skipped.
        try db.execute(sql: "DELETE FROM contact WHERE customer_id = ?", arguments: [customer])
        if db.changesCount > 0 {
            erased += UInt64(db.changesCount)
            try db.execute(sql: "DELETE FROM response WHERE customer_id = ?", arguments: [customer])
            erased += UInt64(db.changesCount)
        }
        // Feedback's events are all ordered by their customer's id; refused
        // ones are erased too, so `cxctl outbox retry` cannot send them on.
        erased += UInt64(try Outbox.forget(db, orderingKey: customer))
        // Stored first answers about the customer (a response, a complaint and its thread).
        erased += UInt64(try Idempotency.forget(db, subject: customer))

        let complaints = try Row.fetchAll(db, sql: "SELECT id, body FROM complaint WHERE customer_id = ?", arguments: [customer])
        for row in complaints {
            let id: String = row["id"]
            var complaint = try FeedbackDatabase.decodeBody(row, Cx_Feedback_V1_Complaint.self, table: "complaint", key: id)
            complaint.customerID = marker
            complaint.description_p = marker
            complaint.responseID = ""
            try db.execute(
                sql: "UPDATE complaint SET customer_id = ?, body = ? WHERE id = ?",
                arguments: [marker, try FeedbackDatabase.body(complaint), id])
            erased += 1
            for note in try Row.fetchAll(db, sql: "SELECT sequence, kind, text FROM complaint_note WHERE complaint_id = ?", arguments: [id]) {
                let text: String = note["text"]
                let blanked = Self.text(text, kind: Cx_Feedback_V1_ComplaintNote.Kind(rawValue: note["kind"]) ?? .unspecified)
                guard blanked != text else { continue }
                try db.execute(
                    sql: "UPDATE complaint_note SET text = ? WHERE complaint_id = ? AND sequence = ?",
                    arguments: [blanked, id, note["sequence"] as Int64])
                erased += 1
            }
        }
        return erased
    }

    /// A note's text once its customer is erased: notes and replies are
    /// people's words and go; events are feedback's own ("opened",
    /// "assigned to support-1", "OPEN -> RESOLVED") and stay, without the
    /// note a state move may carry.
    static func text(_ text: String, kind: Cx_Feedback_V1_ComplaintNote.Kind) -> String {
        guard kind == .event else { return marker }
        if text.contains(" -> "), let colon = text.range(of: ": ") { return String(text[..<colon.lowerBound]) }
        return text
    }
}
