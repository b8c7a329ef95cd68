import CXModel
import CXService
import CXStore
import CXWire
import Foundation
import GRDB

extension LoyaltyService {
    /// Profiles erased the customer: deletes every row loyalty keeps under
    /// the id, in one write (proto-spec/cx/loyalty/v1/loyalty.proto,
    /// EraseCustomer). Loyalty holds no account in memory (only the
    /// program, in ``programs``), so there is no cache to drop it from.
    func eraseCustomer(_ request: Cx_Common_V1_EraseCustomerRequest, _ context: ServerContext) async throws
        -> Cx_Common_V1_EraseCustomerResponse
    {
        let id = request.customerID
        try RequestCheck.id(id, field: "customer_id")
        let key = try RequestCheck.idempotencyKey("", context)
        return try await store.idempotentWrite("loyalty.EraseCustomer", key: key, request: request) { db in
            var response = Cx_Common_V1_EraseCustomerResponse()
            response.recordsErased = UInt64(try LoyaltyErasure.erase(db, customerID: id))
            return response
        }
    }
}

/// What erasing a customer deletes, table by table.
enum LoyaltyErasure {
    /// Deletes the customer's rows; returns how many were deleted or blanked.
    ///
    /// `purchase` has no index by customer (a purchase would pay for one at
    /// a random place), so its order ids are read from the customer's own
    /// ledger: every purchase writes a PURCHASE entry referencing its order
    /// id in the same transaction, and ledger rows are removed only here.
    static func erase(_ db: Database, customerID id: String) throws -> Int {
        var erased = 0
        func run(_ sql: String, _ arguments: StatementArguments) throws {
            try db.execute(sql: sql, arguments: arguments)
            erased += db.changesCount
        }
        func placeholders(_ count: Int) -> String { Array(repeating: "?", count: count).joined(separator: ",") }

        let orders = try String.fetchAll(
            db, sql: "SELECT DISTINCT reference FROM ledger WHERE customer_id = ? AND kind = ?",
            arguments: [id, Cx_Loyalty_V1_LedgerEntry.Kind.purchase.rawValue])
        for chunk in stride(from: 0, to: orders.count, by: 500).map({ Array(orders[$0..<min($0 + 500, orders.count)]) }) {
            // The purchase row is checked to be this customer's, so the refunds of no one else's order go.
            try run(
                """
                DELETE FROM refund WHERE order_id IN (
                    SELECT order_id FROM purchase WHERE order_id IN (\(placeholders(chunk.count))) AND customer_id = ?)
                """,
                StatementArguments(chunk) + [id])
            try run(
                "DELETE FROM purchase WHERE order_id IN (\(placeholders(chunk.count))) AND customer_id = ?",
                StatementArguments(chunk) + [id])
        }

        let redemptions = try String.fetchAll(db, sql: "SELECT id FROM redemption WHERE customer_id = ?", arguments: [id])
        for redemption in redemptions {
            try run("DELETE FROM redemption_lot WHERE redemption_id = ?", [redemption])
        }
        try run("DELETE FROM redemption WHERE customer_id = ?", [id])

        // Those it referred keep their accounts, without its id in referred_by.
        try run(
            """
            UPDATE account SET referred_by = NULL
            WHERE customer_id IN (SELECT referee_id FROM referral WHERE referrer_id = ?) AND referred_by = ?
            """,
            [id, id])
        try run("DELETE FROM referral WHERE referee_id = ? OR referrer_id = ?", [id, id])

        try run("DELETE FROM tier_decision WHERE customer_id = ?", [id])
        try run("DELETE FROM ledger WHERE customer_id = ?", [id])
        try run("DELETE FROM account WHERE customer_id = ?", [id])

        // Events about the customer not yet delivered, or set aside as refused
        // (`cxctl outbox retry` would send them again): erased data is not sent on.
        erased += try Outbox.forget(db, orderingKey: id)
        // Stored first answers about the customer (an account, a redemption).
        erased += try Idempotency.forget(db, subject: id)
        return erased
    }
}
