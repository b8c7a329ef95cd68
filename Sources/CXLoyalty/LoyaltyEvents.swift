import CXModel
import CXStore
import Foundation
import GRDB
import SwiftProtobuf

/// What loyalty tells profiles (traits) and journey (events), written to the
/// outbox in the transaction of the change: the call never waits for the
/// peers, and the relay delivers in order per customer.
struct LoyaltyEvents {
    /// The journey method that receives ``Cx_Loyalty_V1_LoyaltyEvent``
    /// (proto-spec/cx/loyalty/v1/loyalty.proto, "Effects elsewhere").
    static let journeyMethod = "/cx.journey.v1.Journey/RecordLoyaltyEvent"

    let destinations: Set<CXServiceName>
    /// When the call that causes the events began.
    let now: Date
    /// "loyalty:" and `now` as 12 hex digits of milliseconds, made before the
    /// write so that the writer thread only appends to it.
    private let idPrefix: String

    init(destinations: Set<CXServiceName>, now: Date) {
        self.destinations = destinations
        self.now = now
        let stamp = String(UInt64(max(0, now.timeIntervalSince1970 * 1_000)), radix: 16)
        idPrefix = "loyalty:\(String(repeating: "0", count: max(0, 12 - stamp.count)))\(stamp):"
    }

    /// Event ids are the call's time, the account, its ledger sequence and a
    /// suffix: unique, and the same in every run of a write that group
    /// commit repeats. The time comes first so that the outbox's unique
    /// index on event ids grows at its end instead of at a random page per
    /// event (customer ids are random): that halves the pages a purchase
    /// dirties in that index.
    func eventID(_ customerID: String, _ sequence: Int64, _ suffix: String) -> String {
        "\(idPrefix)\(customerID):\(sequence):\(suffix)"
    }

    /// Pushes the traits loyalty owns (the whole set, so a late event never
    /// leaves a mix; profiles drops values older than those it holds).
    func traits(_ db: Database, _ account: AccountRecord, at: Date, suffix: String = "traits") throws {
        guard destinations.contains(.profiles) else { return }
        var request = Cx_Profiles_V1_UpdateTraitsRequest()
        request.customerID = account.customerID
        request.eventID = eventID(account.customerID, account.lastSequence, suffix)
        request.source = "loyalty"
        request.occurredAt = .init(date: at)
        request.traits.tier = account.tier
        request.updateMask = ["tier", "purchase_count"]
        request.traits.purchaseCount = account.purchaseCount
        if account.purchaseCount > 0 {
            request.updateMask += ["lifetime_spend", "last_purchase_at"]
            request.traits.lifetimeSpend = .with {
                $0.minorUnits = account.lifetimeSpend
                $0.currency = account.currency
            }
            if let last = account.lastPurchaseAt { request.traits.lastPurchaseAt = .init(date: last) }
        }
        try enqueue(db, .profiles, method: Cx_Profiles_V1_Customers.updateTraits.fullName, id: request.eventID, key: account.customerID, request)
    }

    /// Tells journey; `event.event_id` and `customer_id` are filled in here.
    func journey(_ db: Database, _ account: AccountRecord, suffix: String, _ event: Cx_Loyalty_V1_LoyaltyEvent) throws {
        guard destinations.contains(.journey) else { return }
        var event = event
        event.eventID = eventID(account.customerID, account.lastSequence, suffix)
        event.customerID = account.customerID
        try enqueue(db, .journey, method: Self.journeyMethod, id: event.eventID, key: account.customerID, event)
    }

    /// 16 hex digits of FNV-1a 64: keeps event ids that name a second
    /// customer within the 128 characters an idempotency key may have.
    static func shortHash(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    private func enqueue(
        _ db: Database, _ destination: CXServiceName, method: String, id: String, key: String, _ message: some SwiftProtobuf.Message
    ) throws {
        try Outbox.enqueue(
            db,
            OutboxEvent(
                eventID: id, destination: destination.rawValue, method: method, orderingKey: key,
                payload: try message.serializedData()))
    }
}
