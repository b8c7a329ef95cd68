import CXTestSupport
import CXModel
import CXWire
import Foundation
import XCTest

@testable import CXProfiles

final class PersonaAndValueTests: XCTestCase {
    func testPersonasMatchAndDistribute() async throws {
        let h = try await ProfilesHarness.start()
        addTeardownBlock { await h.stop() }
        let student = try await h.create { $0.name = "S"; $0.occupation = "student"; $0.city = "Tehran" }
        _ = try await h.create { $0.name = "M"; $0.occupation = "manager"; $0.city = "Tehran" }
        _ = try await h.create { $0.name = "X"; $0.occupation = "farmer"; $0.city = "Yazd" }
        var define = Cx_Profiles_V1_DefinePersonaRequest()
        define.persona.name = "Young urban learner"
        define.persona.criteria = [
            .with { $0.field = "occupation"; $0.op = "=="; $0.values = ["student"]; $0.weight = 3 },
            .with { $0.field = "city"; $0.op = "in"; $0.values = ["Tehran", "تهران"]; $0.weight = 1 },
        ]
        let learner = try await h.client.call(Cx_Profiles_V1_Personas.definePersona, define).persona
        define.persona.name = "City professional"
        define.persona.criteria = [
            .with { $0.field = "occupation"; $0.op = "=="; $0.values = ["manager"]; $0.weight = 1 },
            .with { $0.field = "city"; $0.op = "=="; $0.values = ["Tehran"]; $0.weight = 1 },
        ]
        _ = try await h.client.call(Cx_Profiles_V1_Personas.definePersona, define)
        var match = Cx_Profiles_V1_MatchPersonaRequest()
        match.customerID = student.id
        let matched = try await h.client.call(Cx_Profiles_V1_Personas.matchPersona, match)
        XCTAssertTrue(matched.matched)
        XCTAssertEqual(matched.best.personaID, learner.id)
        XCTAssertEqual(matched.best.score, 1, accuracy: 1e-9)
        XCTAssertEqual(matched.runnerUp.score, 0.5, accuracy: 1e-9)
        let distribution = try await h.client.call(Cx_Profiles_V1_Personas.personaDistribution, .init())
        XCTAssertEqual(distribution.totalCustomers, 3)
        XCTAssertEqual(distribution.unmatched, 1)
        XCTAssertEqual(distribution.personas.map(\.count), [1, 1])
        var bad = Cx_Profiles_V1_DefinePersonaRequest()
        bad.persona.name = "Broken"
        bad.persona.criteria = [.with { $0.field = "traits.teir"; $0.op = "=="; $0.values = ["gold"] }]
        await assertRPCError(.invalidArgument, field: "persona.criteria[0].field", messageContains: "traits.tier") {
            try await h.client.call(Cx_Profiles_V1_Personas.definePersona, bad)
        }
    }

    func testValueReportsFromTraits() async throws {
        let h = try await ProfilesHarness.start()
        addTeardownBlock { await h.stop() }
        let start = h.clock.now
        // Ten customers; the first spends far more than the rest.
        var ids: [String] = []
        for index in 0..<10 {
            let customer = try await h.create { $0.id = "v\(index)"; $0.name = "customer \(index)" }
            ids.append(customer.id)
            let spend: Int64 = index == 0 ? 9_000_000 : 100_000
            _ = try await h.pushTraits(customer.id, event: "s\(index)", occurredAt: start - 100 * 86_400, mask: ["lifetime_spend", "purchase_count", "last_purchase_at"]) {
                $0.lifetimeSpend = .with { $0.minorUnits = spend; $0.currency = "IRR" }
                $0.purchaseCount = Int64(index + 1)
                $0.lastPurchaseAt = .init(date: start - Double(index) * 86_400)
            }
        }
        // v1 keeps buying this quarter: its value is rising.
        _ = try await h.pushTraits("v1", event: "s1b", occurredAt: start - 86_400, mask: ["lifetime_spend"]) {
            $0.lifetimeSpend = .with { $0.minorUnits = 500_000; $0.currency = "IRR" }
        }
        var pareto = Cx_Profiles_V1_ParetoReportRequest()
        pareto.topPercent = 10
        let report = try await h.client.call(Cx_Profiles_V1_Value.paretoReport, pareto)
        XCTAssertEqual(report.customers, 10)
        XCTAssertEqual(report.topCustomers, 1)
        XCTAssertEqual(report.topSpend.minorUnits, 9_000_000)
        XCTAssertEqual(report.totalSpend.minorUnits, 9_000_000 + 500_000 + 8 * 100_000)
        var top = Cx_Profiles_V1_TopCustomersRequest()
        top.limit = 2
        let best = try await h.client.call(Cx_Profiles_V1_Value.topCustomers, top)
        XCTAssertEqual(best.customers.map(\.customerID), ["v0", "v1"])
        var value = Cx_Profiles_V1_CustomerValueRequest()
        value.customerID = "v0"
        let v0 = try await h.client.call(Cx_Profiles_V1_Value.customerValue, value)
        XCTAssertEqual(v0.customer.rfm.recency, 5)
        XCTAssertEqual(v0.customer.rfm.monetary, 5)
        var movers = Cx_Profiles_V1_ValueMoversRequest()
        movers.direction = .rising
        let rising = try await h.client.call(Cx_Profiles_V1_Value.valueMovers, movers)
        XCTAssertEqual(rising.customers.map(\.customerID), ["v1"])
        XCTAssertEqual(rising.customers.first?.recentSpend.minorUnits, 400_000)
        movers.direction = .steady
        await assertRPCError(.invalidArgument, field: "direction") { try await h.client.call(Cx_Profiles_V1_Value.valueMovers, movers) }
        pareto.currency = "rial"
        await assertRPCError(.invalidArgument, field: "currency") { try await h.client.call(Cx_Profiles_V1_Value.paretoReport, pareto) }
    }
}
