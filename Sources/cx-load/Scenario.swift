import CXModel
import CXWire
import Foundation
import Synchronization

/// One kind of call a scenario makes, and how often relative to the others.
struct Operation: Sendable {
    let weight: Int
    /// Makes exactly one call through the caller (so a ticket is a call).
    let run: @Sendable (Caller, Fixture, inout SessionState) async throws -> Void
}

/// What a worker remembers between its calls: a flow in progress.
struct SessionState {
    /// Accounts this worker found short of points: its next redemption call
    /// tops one up first.
    var topUps: [String] = []
    /// A complaint this worker is walking through its states.
    var complaint: (id: String, next: Cx_Feedback_V1_ComplaintState)?
}

/// What seeding made ready for the calls: ids the calls refer to.
struct Fixture: Sendable {
    var run: RunIdentity
    /// Events per RecordEvents call (event-batch).
    var batch: Int
    var segmentIDs: [String] = []
    var rewardID = ""
    var rewardCost: Int64 = 0
    var surveys: [SeedData.SurveyPlan] = []
    /// Journey touchpoints that exist and are not retired.
    var touchpoints: [String] = []

    func customer(_ caller: Caller) -> String { run.customerID(caller.below(run.customers)) }
}

/// A named load: what it seeds, then the calls it makes.
struct Scenario: Sendable {
    typealias SeedStep = @Sendable (Seeder, inout Fixture) async throws -> Void

    /// "profiles", ..., or "platform".
    let service: String
    let name: String
    let summary: String
    /// The services it calls (and needs addresses for).
    let services: [CXServiceName]
    let seed: [SeedStep]
    let operations: [Operation]
    private let totalWeight: Int

    init(_ service: String, _ name: String, _ summary: String, services: [CXServiceName], seed: [SeedStep], operations: [Operation]) {
        self.service = service
        self.name = name
        self.summary = summary
        self.services = services
        self.seed = seed
        self.operations = operations
        totalWeight = operations.reduce(0) { $0 + $1.weight }
    }

    func pick(_ random: inout SplitMix64) -> Operation {
        if operations.count == 1 { return operations[0] }
        var roll = Int(random.next() % UInt64(totalWeight))
        for operation in operations {
            if roll < operation.weight { return operation }
            roll -= operation.weight
        }
        return operations[operations.count - 1]
    }
}

/// Every scenario, in the order `--list` shows them.
enum Catalog {
    static let all: [Scenario] = ProfilesLoad.scenarios + LoyaltyLoad.scenarios + JourneyLoad.scenarios + FeedbackLoad.scenarios
        + [PlatformLoad.scenario]

    static let services = ["profiles", "loyalty", "journey", "feedback", "platform"]

    static func scenarios(of service: String) -> [Scenario] { all.filter { $0.service == service } }

    static func find(service: String, name: String) -> Scenario? {
        all.first { $0.service == service && $0.name == name }
    }

    static func listing() -> String {
        let rows = all.map { [$0.service, $0.name, $0.summary] }
        return Format.table(["SERVICE", "SCENARIO", "WHAT IT DOES"], rows)
    }
}

/// Makes what a scenario needs, idempotently: what exists is left as it is.
final class Seeder: Sendable {
    let clients: [CXServiceName: RPCClient]
    let options: CallOptions
    let run: RunIdentity
    private let notes = Mutex<[String]>([])

    init(clients: [CXServiceName: RPCClient], options: CallOptions, run: RunIdentity) {
        self.clients = clients
        self.options = options
        self.run = run
    }

    /// What seeding found and made, a line per step, for the report.
    var summary: [String] { notes.withLock { $0 } }

    func note(_ line: String) { notes.withLock { $0.append(line) } }

    /// A call of seeding; a failure names what was being seeded.
    func call<Request, Response>(
        _ service: CXServiceName, _ method: MethodDescriptor<Request, Response>, _ request: Request, seeding what: String
    ) async throws -> Response {
        do {
            guard let client = clients[service] else { throw RPCError(code: .internal, message: "no client for \(service.rawValue)") }
            return try await client.call(method, request, options: options)
        } catch let error as RPCError {
            throw SeedError(service: service, what: what, method: method.method, error: error)
        }
    }

    /// Runs `body` for 0..<count, at most `width` at once.
    func parallel(_ count: Int, width: Int = 16, _ body: @escaping @Sendable (Int) async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            while next < min(count, width) {
                let index = next
                group.addTask { try await body(index) }
                next += 1
            }
            while try await group.next() != nil {
                if next < count {
                    let index = next
                    group.addTask { try await body(index) }
                    next += 1
                }
            }
        }
    }
}

/// Seeding failed: what, where, and what the service said.
struct SeedError: Error, CustomStringConvertible {
    let service: CXServiceName
    let what: String
    let method: String
    let error: RPCError

    var description: String {
        var text = "seeding \(what) in \(service.rawValue) failed: \(method): \(error.code.name)"
        if !error.reason.isEmpty { text += " (\(error.reason))" }
        text += ": \(error.message)"
        switch error.code {
        case .unauthenticated, .permissionDenied:
            text += "\n(seeding needs an admin token: --token, $CX_TOKEN or `token` in the cxctl config file)"
        default: break
        }
        return text
    }
}

/// Counts a refusal the seed expects (the thing exists) as done.
func alreadyThere(_ error: any Error) -> Bool {
    if let seed = error as? SeedError { return seed.error.code == .alreadyExists }
    return (error as? RPCError)?.code == .alreadyExists
}
