import CXModel
import CXWire
import Foundation
import XCTest

/// The outbox end to end: real cx-profiles and cx-loyalty processes, a
/// purchase in loyalty, and the traits it changes arriving in profiles
/// through the relay, also across a profiles restart in between.
final class LoyaltyToProfilesTests: XCTestCase {
    func testAPurchaseReachesTheCustomersTraitsThroughTheOutbox() async throws {
        var profiles = try RunningService(.profiles)
        let profilesData = profiles.dataDirectory
        let loyalty = try RunningService(
            .loyalty, extraArguments: ["--profiles-addr", profiles.address, "--journey-addr", "none", "--batch-interval", "0"])
        defer { _ = loyalty.stop() }
        let profilesClient = try RPCClient(address: profiles.address)
        var customer = Cx_Profiles_V1_CreateCustomerRequest()
        customer.customer.id = "c-7"
        customer.customer.name = "مریم احمدی"
        _ = try await profilesClient.call(Cx_Profiles_V1_Customers.createCustomer, customer)
        await profilesClient.close()

        let loyaltyClient = try RPCClient(address: loyalty.address)
        addTeardownBlock { await loyaltyClient.close() }
        _ = try await loyaltyClient.call(Cx_Loyalty_V1_Loyalty.enroll, .with { $0.customerID = "c-7" })

        // Profiles goes down; the purchase is answered anyway and its traits wait in the outbox.
        let stopped = profiles.stop(keepData: true)
        XCTAssertEqual(stopped.status, 0, stopped.log)
        let bought = try await loyaltyClient.call(Cx_Loyalty_V1_Loyalty.recordPurchase, .with {
            $0.customerID = "c-7"
            $0.orderID = "A-1"
            $0.amount = .with {
                $0.minorUnits = 150_000_000
                $0.currency = "IRR"
            }
        })
        XCTAssertEqual(bought.newTier, "silver")

        // Profiles comes back on the same address; the relay delivers.
        let port = profiles.address.split(separator: ":").last.map(String.init) ?? ""
        profiles = try RunningService(.profiles, extraArguments: ["--listen", "127.0.0.1:\(port)"], reusing: profilesData)
        defer { _ = profiles.stop() }
        let client = try RPCClient(address: profiles.address)
        addTeardownBlock { await client.close() }
        var traits = Cx_Profiles_V1_Traits()
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            traits = try await client.call(Cx_Profiles_V1_Customers.getCustomer, .with { $0.customerID = "c-7" }).customer.traits
            if traits.purchaseCount == 1 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        XCTAssertEqual(traits.tier, "silver")
        XCTAssertEqual(traits.purchaseCount, 1)
        XCTAssertEqual(traits.lifetimeSpend.minorUnits, 150_000_000)
        XCTAssertEqual(traits.lifetimeSpend.currency, "IRR")
    }
}
