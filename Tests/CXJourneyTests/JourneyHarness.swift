import CXModel
import CXService
import CXTestSupport
import CXWire
import Foundation
import GRDB
import XCTest

@testable import CXJourney

/// A real journey server on 127.0.0.1 (port 0) over a real SQLite file in a
/// temporary directory, and a client connected to it.
struct JourneyHarness {
    typealias J = Cx_Journey_V1_Journey
    let directory: URL
    let clock: ManualClock
    let service: JourneyService
    let server: RPCServer
    let client: RPCClient

    static func start(destinations: Set<CXServiceName> = [], clock: ManualClock = ManualClock(), directory: URL? = nil) async throws
        -> JourneyHarness
    {
        let directory = directory ?? temporaryDirectory("cx-journey-test")
        let service = try await JourneyService.open(directory: directory, destinations: destinations, clock: { clock.now })
        let (server, client) = try await startLoopbackServer(name: "journey") { service.register(into: &$0) }
        return JourneyHarness(directory: directory, clock: clock, service: service, server: server, client: client)
    }

    /// Stops the server and closes the store; `keep` leaves the files for a reopen.
    func stop(keep: Bool = false) async {
        await client.close()
        server.close()
        try? service.store.close()
        if !keep { try? FileManager.default.removeItem(at: directory) }
    }

    @discardableResult
    func event(
        _ customer: String, _ type: String, touchpoint: String = "", at: Date? = nil, attributes: [String: String] = [:], key: String = ""
    ) async throws -> Cx_Journey_V1_RecordEventResponse {
        try await client.call(J.recordEvent, .with {
            $0.event = Self.makeEvent(customer, type, touchpoint: touchpoint, at: at, attributes: attributes, key: key)
        })
    }

    static func makeEvent(
        _ customer: String, _ type: String, touchpoint: String = "", at: Date? = nil, attributes: [String: String] = [:], key: String = ""
    ) -> Cx_Journey_V1_Event {
        .with {
            $0.customerID = customer
            $0.type = type
            $0.touchpointID = touchpoint
            if let at { $0.occurredAt = .init(date: at) }
            $0.attributes = attributes
            $0.idempotencyKey = key
        }
    }

    func journey(_ customer: String) async throws -> Cx_Journey_V1_GetJourneyResponse {
        try await client.call(J.getJourney, .with { $0.customerID = customer })
    }

    func tasks(_ change: (inout Cx_Journey_V1_ListTasksRequest) -> Void = { _ in }) async throws -> [Cx_Journey_V1_Task] {
        var request = Cx_Journey_V1_ListTasksRequest()
        change(&request)
        request.pageSize = 4
        var tasks: [Cx_Journey_V1_Task] = []
        repeat {
            let page = try await client.call(J.listTasks, request)
            tasks += page.tasks
            request.pageToken = page.nextPageToken
        } while !request.pageToken.isEmpty
        return tasks
    }

    func funnel(from: Date? = nil, to: Date? = nil) async throws -> Cx_Journey_V1_FunnelResponse {
        try await client.call(J.funnel, .with {
            if let from { $0.from = .init(date: from) }
            if let to { $0.to = .init(date: to) }
        })
    }

    func rules() async throws -> Cx_Journey_V1_Rules {
        try await client.call(J.getRules, .init()).rules
    }
}

extension Cx_Journey_V1_FunnelResponse {
    func stage(_ stage: Cx_Journey_V1_Stage) -> Cx_Journey_V1_FunnelStage {
        stages.first { $0.stage == stage } ?? .init()
    }
}
