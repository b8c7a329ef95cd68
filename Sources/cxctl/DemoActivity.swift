import CXModel
import CXWire
import Foundation

/// Each customer's life, in time order across loyalty and journey: the
/// visits before the first purchase, the enrolment, the purchases, and the
/// events after each (confirmation, delivery, onboarding, a review). The
/// purchases reach journey through loyalty's outbox, so before recording
/// an event that follows a purchase the demo waits until journey has the
/// purchase: the customer then moves through the stages as they would have.
extension DemoRun {
    enum Step {
        case events([DemoEvent])
        case purchase(DemoPurchase)
    }

    /// The events and purchases after the opening, merged in time order;
    /// events in a row go in one call.
    static func steps(_ customer: DemoCustomer) -> [Step] {
        var steps: [Step] = []
        var batch: [DemoEvent] = []
        var events = customer.events[...]
        var purchases = customer.purchases[...]
        while !events.isEmpty || !purchases.isEmpty {
            if let purchase = purchases.first, events.first.map({ purchase.at <= $0.at }) ?? true {
                if !batch.isEmpty { steps.append(.events(batch)) }
                batch = []
                steps.append(.purchase(purchase))
                purchases = purchases.dropFirst()
            } else if let event = events.first {
                batch.append(event)
                events = events.dropFirst()
            }
        }
        if !batch.isEmpty { steps.append(.events(batch)) }
        return steps
    }

    /// Every customer's life; referred customers after all the others, so
    /// that whoever referred them has lived theirs first.
    func live(_ customers: [DemoCustomer], clock: DemoClock) async throws {
        let tally = self.tally
        progress.begin("loyalty & journey: customers", total: customers.count) {
            "\(LoyaltyFormat.points(tally[.purchases].added + tally[.purchases].existing)) purchases, "
                + "\(LoyaltyFormat.points(tally[.events].added + tally[.events].existing)) events"
        }
        let referred = customers.filter { $0.referrerID != nil }
        try await demoForEach(customers.filter { $0.referrerID == nil }, parallel: parallel) { try await live($0, clock: clock) }
        try await demoForEach(referred, parallel: parallel) { try await live($0, clock: clock) }
        progress.end()
    }

    func live(_ customer: DemoCustomer, clock: DemoClock) async throws {
        let recorded = try await recordedKeys(customer.id)
        // Journey must know where they started before loyalty says anything.
        try await record(customer.opening, of: customer.id, skipping: recorded, clock: clock)
        guard customer.buyer else {
            progress.step()
            return
        }
        var account = try await enroll(customer)
        if let referrer = customer.referrerID { try await refer(customer, by: referrer, &account) }
        var unconfirmed: String?
        for step in Self.steps(customer) {
            switch step {
            case .events(let events):
                if let order = unconfirmed {
                    try await waitForPurchase(of: customer.id, order: order)
                    unconfirmed = nil
                }
                try await record(events, of: customer.id, skipping: recorded, clock: clock)
            case .purchase(let purchase):
                if try await self.purchase(purchase, of: customer, &account, clock: clock) { unconfirmed = purchase.orderID }
            }
        }
        try await settle(customer, &account)
        // The plan's tasks come with the first purchase: wait for it, then work them.
        if let order = unconfirmed { try await waitForPurchase(of: customer.id, order: order) }
        try await closeTasks(of: customer, clock: clock)
        progress.step()
    }
}
