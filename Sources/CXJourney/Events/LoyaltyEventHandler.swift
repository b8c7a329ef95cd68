import CXModel
import CXService
import CXStore
import CXWire
import Foundation
import GRDB

extension JourneyService {
    /// The event type a loyalty event is kept as.
    static func eventType(_ kind: Cx_Loyalty_V1_LoyaltyEvent.Kind) -> String? {
        switch kind {
        case .enrolled: "loyalty_enrolled"
        case .purchase: "repeat_purchase"
        case .firstPurchase: "first_purchase"
        case .refund: "refund"
        case .referral: "referral"
        case .tierChanged: "tier_changed"
        case .redemption: "redemption"
        case .unspecified, .UNRECOGNIZED: nil
        }
    }

    /// The default touchpoint of a sales channel.
    static func touchpoint(_ channel: Cx_Loyalty_V1_SalesChannel) -> String {
        switch channel {
        case .store: "store"
        case .web: "website"
        case .app: "app"
        case .phone: "phone"
        case .social: "social"
        case .unspecified, .UNRECOGNIZED: ""
        }
    }

    /// A loyalty event as a journey event. Its time is clamped to now (a
    /// peer's clock running ahead must not make the relay retry forever),
    /// and a touchpoint that is retired or gone is left out, not refused.
    func recordLoyaltyEvent(_ request: Cx_Loyalty_V1_LoyaltyEvent, _ context: ServerContext) async throws
        -> Cx_Journey_V1_RecordLoyaltyEventResponse
    {
        let key = try RequestCheck.requiredIdempotencyKey(request.eventID, context, fieldName: "event_id")
        try RequestCheck.id(request.customerID, field: "customer_id")
        guard let type = Self.eventType(request.kind) else {
            throw RPCError.invalidArgument(field: "kind", "\(request.kind.rawValue) is not a loyalty event kind journey knows")
        }
        let now = clock()
        var event = Cx_Journey_V1_Event()
        event.customerID = request.customerID
        event.type = type
        event.idempotencyKey = key
        if request.hasOccurredAt { event.occurredAt = .init(date: min(request.occurredAt.date, now)) }
        var attributes: [String: String] = ["source": "loyalty"]
        if !request.orderID.isEmpty { attributes["order_id"] = String(request.orderID.prefix(1_024)) }
        if request.hasAmount {
            attributes["amount_minor_units"] = "\(request.amount.minorUnits)"
            attributes["currency"] = request.amount.currency
        }
        if request.points != 0 { attributes["points"] = "\(request.points)" }
        for (name, value) in [
            ("from_tier", request.fromTier), ("to_tier", request.toTier), ("other_customer_id", request.otherCustomerID),
            ("reward_id", request.rewardID),
        ] where !value.isEmpty {
            attributes[name] = String(value.prefix(1_024))
        }
        event.attributes = attributes
        let translated = event
        let touchpoint = Self.touchpoint(request.channel)
        return try await store.write { db in
            let writer = try self.writer(db, now: now)
            var event = translated
            if !touchpoint.isEmpty, (try? Touchpoints.requireInService(db, touchpoint, field: "touchpoint")) != nil {
                event.touchpointID = touchpoint
            }
            let time = event.hasOccurredAt ? event.occurredAt.date.timeIntervalSince1970 : now.timeIntervalSince1970
            var ran = false
            let recorded = try Idempotency.run(db, scope: "loyalty-event", key: key, request: request) { () throws -> Cx_Journey_V1_RecordLoyaltyEventResponse in
                ran = true
                let response = try writer.record(db, event, at: time)
                return .with {
                    $0.outcome = .recorded
                    $0.stage = response.stage
                }
            }
            var response = recorded
            if !ran { response.outcome = .duplicate }
            return response
        }
    }
}
