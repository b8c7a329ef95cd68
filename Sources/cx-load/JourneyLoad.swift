import CXModel
import CXWire
import Foundation

typealias Journey = Cx_Journey_V1_Journey

/// cx-journey: events through the stage machine (a first purchase also
/// makes the 100-day plan's tasks), batches as ingestion sends them,
/// journey reads, the funnel from its per-day aggregates.
enum JourneyLoad {
    static let scenarios: [Scenario] = [
        Scenario(
            "journey", "event", "RecordEvent of a realistic type (visit ... referral) at a fitting touchpoint, for a random customer",
            services: [.journey], seed: [seedTouchpoints], operations: [Operation(weight: 1, run: event)]),
        Scenario(
            "journey", "event-batch", "RecordEvents of --batch events (default 100) of random customers, as an import sends them",
            services: [.journey], seed: [seedTouchpoints], operations: [Operation(weight: 1, run: eventBatch)]),
        Scenario(
            "journey", "get-journey", "GetJourney of a random seeded customer: stage, history, recent events, open tasks",
            services: [.journey], seed: [seedTouchpoints, seedJourneys], operations: [Operation(weight: 1, run: getJourney)]),
        Scenario(
            "journey", "funnel", "Funnel of the last 30 days, from the per-day aggregates",
            services: [.journey], seed: [seedTouchpoints, seedJourneys], operations: [Operation(weight: 1, run: funnel)]),
    ]

    // MARK: Seeding

    /// The catalogue's touchpoints: a new store has one per channel
    /// ("website", "store", "app", ...); the events use those not retired.
    static let seedTouchpoints: Scenario.SeedStep = { seeder, fixture in
        let listed = try await seeder.call(.journey, Journey.listTouchpoints, .init(), seeding: "touchpoints")
        fixture.touchpoints = listed.touchpoints.filter { !$0.retired }.map(\.id)
        let wanted = ["website", "store", "app"]
        let missing = wanted.filter { !fixture.touchpoints.contains($0) }
        if !missing.isEmpty {
            throw SeedError(
                service: .journey, what: "touchpoints", method: "ListTouchpoints",
                error: RPCError(
                    code: .failedPrecondition,
                    message: "touchpoint \(missing.joined(separator: ", ")) is missing or retired; a new journey store has one per channel "
                        + "(cxctl journey touchpoints list)"))
        }
        seeder.note("journey: \(fixture.touchpoints.count) touchpoints (\(fixture.touchpoints.prefix(4).joined(separator: ", ")), ...)")
    }

    /// A first visit for every seeded customer, so each has a journey to read.
    static let seedJourneys: Scenario.SeedStep = { seeder, fixture in
        let run = seeder.run
        let batches = (run.customers + 499) / 500
        try await seeder.parallel(batches, width: 2) { batch in
            let events = (batch * 500..<min(run.customers, (batch + 1) * 500)).map { index in
                Cx_Journey_V1_Event.with {
                    $0.customerID = run.customerID(index)
                    $0.type = "visit"
                    $0.touchpointID = "website"
                    $0.idempotencyKey = "load-\(run.seed)-first-visit-\(index)"
                }
            }
            let response = try await seeder.call(.journey, Journey.recordEvents, .with { $0.events = events }, seeding: "first visits")
            if let failed = response.results.first(where: { $0.code != 0 }) {
                throw SeedError(
                    service: .journey, what: "first visits", method: "RecordEvents",
                    error: RPCError(code: RPCCode(rawValue: Int(failed.code)) ?? .unknown, message: failed.message, reason: failed.reason))
            }
        }
        seeder.note("journey: a first visit for each of \(Format.grouped(run.customers)) customers (kept once per seed)")
    }

    // MARK: Calls

    static let event: @Sendable (Caller, Fixture, inout SessionState) async throws -> Void = { caller, fixture, _ in
        let event = SeedData.event(
            customer: fixture.customer(caller), key: caller.uniqueID("e"), touchpoints: fixture.touchpoints, random: &caller.random)
        _ = try await caller.call(.journey, Journey.recordEvent, .with { $0.event = event })
        caller.count("events_recorded")
    }

    static let eventBatch: @Sendable (Caller, Fixture, inout SessionState) async throws -> Void = { caller, fixture, _ in
        let key = caller.uniqueID("e")
        var request = Cx_Journey_V1_RecordEventsRequest()
        for index in 0..<fixture.batch {
            request.events.append(
                SeedData.event(customer: fixture.customer(caller), key: "\(key)-\(index)", touchpoints: fixture.touchpoints, random: &caller.random))
        }
        let response = try await caller.call(.journey, Journey.recordEvents, request)
        caller.count("events_recorded", Int(response.recorded))
        if response.failed > 0 { caller.count("events_failed", Int(response.failed)) }
    }

    static let getJourney: @Sendable (Caller, Fixture, inout SessionState) async throws -> Void = { caller, fixture, _ in
        _ = try await caller.call(.journey, Journey.getJourney, .with {
            $0.customerID = fixture.customer(caller)
            $0.recentEvents = 20
        })
    }

    static let funnel: @Sendable (Caller, Fixture, inout SessionState) async throws -> Void = { caller, _, _ in
        _ = try await caller.call(.journey, Journey.funnel, .init())
    }
}
