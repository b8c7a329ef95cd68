import CXModel
import CXWire
import Foundation
import XCTest

/// Three real processes: a purchase in cx-loyalty reaches cx-journey as a
/// first purchase (admission, the 100-day plan), and the stage change
/// journey makes reaches cx-profiles as the journey_stage trait, each hop
/// through an outbox and its relay.
final class LoyaltyToJourneyTests: XCTestCase {
    typealias J = Cx_Journey_V1_Journey

    func testAPurchaseAdmitsTheCustomerInJourneyAndProfilesLearnsTheStage() async throws {
        let profiles = try RunningService(.profiles)
        defer { _ = profiles.stop() }
        let journey = try RunningService(.journey, extraArguments: ["--profiles-addr", profiles.address, "--lost-interval", "0"])
        defer { _ = journey.stop() }
        let loyalty = try RunningService(
            .loyalty,
            extraArguments: ["--profiles-addr", profiles.address, "--journey-addr", journey.address, "--batch-interval", "0"])
        defer { _ = loyalty.stop() }

        let profilesClient = try RPCClient(address: profiles.address)
        addTeardownBlock { await profilesClient.close() }
        _ = try await profilesClient.call(Cx_Profiles_V1_Customers.createCustomer, .with {
            $0.customer.id = "c-9"
            $0.customer.name = "Reza Karimi"
        })
        let loyaltyClient = try RPCClient(address: loyalty.address)
        addTeardownBlock { await loyaltyClient.close() }
        _ = try await loyaltyClient.call(Cx_Loyalty_V1_Loyalty.enroll, .with { $0.customerID = "c-9" })
        _ = try await loyaltyClient.call(Cx_Loyalty_V1_Loyalty.recordPurchase, .with {
            $0.customerID = "c-9"
            $0.orderID = "A-9"
            $0.channel = .app
            $0.amount = .with {
                $0.minorUnits = 20_000_000
                $0.currency = "IRR"
            }
        })

        let journeyClient = try RPCClient(address: journey.address)
        addTeardownBlock { await journeyClient.close() }
        var seen = Cx_Journey_V1_GetJourneyResponse()
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if let answer = try? await journeyClient.call(J.getJourney, .with { $0.customerID = "c-9" }), answer.stage == .admission {
                seen = answer
                break
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        XCTAssertEqual(seen.stage, .admission, "loyalty's first purchase admitted the customer")
        XCTAssertEqual(seen.openTasks.count, 9)
        let purchases = seen.recentEvents.filter { $0.event.type == "first_purchase" }
        XCTAssertEqual(purchases.count, 1, "delivered once")
        XCTAssertEqual(purchases.first?.event.touchpointID, "app")
        XCTAssertEqual(purchases.first?.event.attributes["order_id"], "A-9")

        var stage = ""
        while Date() < deadline {
            stage = try await profilesClient.call(Cx_Profiles_V1_Customers.getCustomer, .with { $0.customerID = "c-9" })
                .customer.traits.journeyStage
            if stage == "admission" { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        XCTAssertEqual(stage, "admission", "journey told profiles")
    }
}
