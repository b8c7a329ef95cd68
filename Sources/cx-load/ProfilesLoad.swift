import CXModel
import CXWire
import Foundation
import Synchronization

typealias Customers = Cx_Profiles_V1_Customers
typealias Segments = Cx_Profiles_V1_Segments

/// cx-profiles: reads of customers (from its cache once warm), sign-ups and
/// edits, Persian-aware search, segment counts.
enum ProfilesLoad {
    static let scenarios: [Scenario] = [
        Scenario(
            "profiles", "get", "GetCustomer of a random seeded customer (the customer cache serves repeats)",
            services: [.profiles], seed: [seedCustomers], operations: [Operation(weight: 1, run: get)]),
        Scenario(
            "profiles", "upsert",
            "3 in 4 calls CreateCustomer of a new customer (run-unique id), 1 in 4 UpdateCustomer of a seeded one's attribute",
            services: [.profiles], seed: [seedCustomers],
            operations: [Operation(weight: 3, run: create), Operation(weight: 1, run: update)]),
        Scenario(
            "profiles", "search", "SearchCustomers by the first letters of a Persian or English name, 20 a page",
            services: [.profiles], seed: [seedCustomers], operations: [Operation(weight: 1, run: search)]),
        Scenario(
            "profiles", "segment-count", "CountSegment of one of 4 seeded segments (rules over city, age, gender, attributes)",
            services: [.profiles], seed: [seedCustomers, seedSegments], operations: [Operation(weight: 1, run: countSegment)]),
        Scenario(
            "profiles", "mix", "60% get, 15% search, 10% create, 5% update, 10% segment-count",
            services: [.profiles], seed: [seedCustomers, seedSegments],
            operations: [
                Operation(weight: 60, run: get), Operation(weight: 15, run: search), Operation(weight: 10, run: create),
                Operation(weight: 5, run: update), Operation(weight: 10, run: countSegment),
            ]),
    ]

    // MARK: Seeding

    /// The seeded customers, imported 500 a call; those already there stay as they are.
    static let seedCustomers: Scenario.SeedStep = { seeder, _ in
        let run = seeder.run
        let batches = (run.customers + 499) / 500
        let created = Counter()
        try await seeder.parallel(batches, width: 2) { batch in
            var request = Cx_Profiles_V1_ImportCustomersRequest()
            request.customers = (batch * 500..<min(run.customers, (batch + 1) * 500)).map { SeedData.customer(run, $0) }
            let response = try await seeder.call(.profiles, Customers.importCustomers, request, seeding: "customers")
            for result in response.results {
                guard case .error(let error) = result.outcome else { continue }
                if error.code == .alreadyExists && error.reason != "CUSTOMER_ERASED" { continue }
                throw SeedError(
                    service: .profiles, what: "customer \(request.customers[Int(result.index)].id)", method: "ImportCustomers",
                    error: RPCError(code: RPCCode(wireValue: error.code), message: "\(error.field): \(error.message)", reason: error.reason))
            }
            created.add(Int(response.created))
        }
        seeder.note("profiles: \(Format.grouped(run.customers)) customers \(run.customerID(0)) ... (\(Format.grouped(created.value)) new)")
    }

    /// The segments segment-count counts, defined once per seed.
    static let seedSegments: Scenario.SeedStep = { seeder, fixture in
        let run = seeder.run
        var existing: [String: String] = [:]
        var token = ""
        repeat {
            let page = try await seeder.call(.profiles, Segments.listSegments, .with {
                $0.pageSize = 1_000
                $0.pageToken = token
            }, seeding: "segments")
            for segment in page.segments { existing[segment.name] = segment.id }
            token = page.nextPageToken
        } while !token.isEmpty
        var ids: [String] = []
        var made = 0
        for segment in SeedData.segments {
            let name = "load \(run.seed) \(segment.name)"
            if let id = existing[name] {
                ids.append(id)
                continue
            }
            let defined = try await seeder.call(.profiles, Segments.defineSegment, .with {
                $0.segment.name = name
                $0.segment.description_p = "cx-load: customers of seed \(run.seed)"
                $0.segment.rule = segment.rule
            }, seeding: "segment \"\(name)\"")
            ids.append(defined.segment.id)
            made += 1
        }
        fixture.segmentIDs = ids
        seeder.note("profiles: \(ids.count) segments \"load \(run.seed) ...\" (\(made) new)")
    }

    // MARK: Calls

    static let get: @Sendable (Caller, Fixture, inout SessionState) async throws -> Void = { caller, fixture, _ in
        _ = try await caller.call(.profiles, Customers.getCustomer, .with { $0.customerID = fixture.customer(caller) })
    }

    static let create: @Sendable (Caller, Fixture, inout SessionState) async throws -> Void = { caller, _, _ in
        let customer = SeedData.signUp(id: caller.uniqueID("u"), caller)
        _ = try await caller.call(.profiles, Customers.createCustomer, .with {
            $0.customer = customer
            $0.idempotencyKey = caller.uniqueID("k")
        })
        caller.count("customers_created")
    }

    static let update: @Sendable (Caller, Fixture, inout SessionState) async throws -> Void = { caller, fixture, _ in
        _ = try await caller.call(.profiles, Customers.updateCustomer, .with {
            $0.customerID = fixture.customer(caller)
            $0.customer.attributes["last_campaign"] = caller.pick(["نوروز", "black-friday", "یلدا", "back-to-school"])
            $0.updateMask = ["attributes.last_campaign"]
            $0.idempotencyKey = caller.uniqueID("k")
        })
        caller.count("customers_updated")
    }

    static let search: @Sendable (Caller, Fixture, inout SessionState) async throws -> Void = { caller, _, _ in
        _ = try await caller.call(.profiles, Customers.searchCustomers, .with {
            $0.query = caller.pick(SeedData.searchPrefixes)
            $0.field = .name
            $0.pageSize = 20
        })
    }

    static let countSegment: @Sendable (Caller, Fixture, inout SessionState) async throws -> Void = { caller, fixture, _ in
        _ = try await caller.call(.profiles, Segments.countSegment, .with { $0.segmentID = caller.pick(fixture.segmentIDs) })
    }
}

/// A count several seeding tasks add to.
final class Counter: Sendable {
    private let total = Mutex(0)
    func add(_ amount: Int) { total.withLock { $0 += amount } }
    var value: Int { total.withLock { $0 } }
}
