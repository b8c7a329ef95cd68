import CXModel
import CXTestSupport
import CXWire
import Foundation
import Synchronization
import XCTest

@testable import CXProfiles

/// A real profiles server on 127.0.0.1 (port 0) over a real SQLite file in
/// a temporary directory, and a client connected to it.
struct ProfilesHarness {
    let directory: URL
    let clock: ManualClock
    let service: ProfilesService
    let server: RPCServer
    let client: RPCClient

    /// - Parameter destinations: the services told of erasures (none by default).
    static func start(destinations: Set<CXServiceName> = []) async throws -> ProfilesHarness {
        let directory = temporaryDirectory("cx-profiles-test")
        let clock = ManualClock(Date(timeIntervalSince1970: 1_790_000_000))
        let service = try await ProfilesService.open(directory: directory, destinations: destinations, clock: { clock.now })
        let (server, client) = try await startLoopbackServer(name: "profiles") { service.register(into: &$0) }
        return ProfilesHarness(directory: directory, clock: clock, service: service, server: server, client: client)
    }

    func stop() async {
        await client.close()
        server.close()
        try? service.store.close()
        try? FileManager.default.removeItem(at: directory)
    }

    func create(_ configure: (inout Cx_Profiles_V1_Customer) -> Void) async throws -> Cx_Profiles_V1_Customer {
        var request = Cx_Profiles_V1_CreateCustomerRequest()
        configure(&request.customer)
        return try await client.call(Cx_Profiles_V1_Customers.createCustomer, request).customer
    }

    func get(_ id: String) async throws -> Cx_Profiles_V1_Customer {
        var request = Cx_Profiles_V1_GetCustomerRequest()
        request.customerID = id
        return try await client.call(Cx_Profiles_V1_Customers.getCustomer, request).customer
    }

    func update(_ id: String, mask: [String], _ configure: (inout Cx_Profiles_V1_Customer) -> Void) async throws -> Cx_Profiles_V1_Customer {
        var request = Cx_Profiles_V1_UpdateCustomerRequest()
        request.customerID = id
        request.updateMask = mask
        configure(&request.customer)
        return try await client.call(Cx_Profiles_V1_Customers.updateCustomer, request).customer
    }

    func defineSegment(_ name: String, _ rule: String) async throws -> Cx_Profiles_V1_Segment {
        var request = Cx_Profiles_V1_DefineSegmentRequest()
        request.segment.name = name
        request.segment.rule = rule
        return try await client.call(Cx_Profiles_V1_Segments.defineSegment, request).segment
    }

    func count(_ segment: Cx_Profiles_V1_Segment) async throws -> Int64 {
        var request = Cx_Profiles_V1_CountSegmentRequest()
        request.segmentID = segment.id
        return try await client.call(Cx_Profiles_V1_Segments.countSegment, request).count
    }

    func pushTraits(
        _ id: String, event: String, occurredAt: Date, mask: [String], _ configure: (inout Cx_Profiles_V1_Traits) -> Void
    ) async throws -> Cx_Profiles_V1_UpdateTraitsResponse {
        var request = Cx_Profiles_V1_UpdateTraitsRequest()
        request.customerID = id
        request.eventID = event
        request.source = "loyalty"
        request.occurredAt = .init(date: occurredAt)
        request.updateMask = mask
        configure(&request.traits)
        return try await client.call(Cx_Profiles_V1_Customers.updateTraits, request)
    }
}
