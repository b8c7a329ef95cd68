import CXModel
import CXService
import CXStore
import CXWire
import Foundation
import GRDB

/// The feedback service: surveys and the responses to them, the scores
/// kept as aggregates, the words detractors use, and complaints with their
/// deadlines and threads. The handlers validate, then run the domain code
/// (``Surveys``, ``Complaints``, ``ScoreAggregates``) inside one store write
/// or read.
public final class FeedbackService: Sendable {
    public let store: Store
    let clock: @Sendable () -> Date
    let pager: Pager
    /// The services told about responses and goodwill through the outbox.
    let destinations: Set<CXServiceName>
    let surveys = SurveyBodies()

    /// Opens (creating when needed) `<directory>/feedback.sqlite`.
    /// - Parameters:
    ///   - destinations: the services told of responses (loyalty, journey
    ///     and profiles by default); one left out is never told.
    ///   - clock: the time every timestamp and deadline uses (tests move it).
    public static func open(
        directory: URL, options: StoreOptions = StoreOptions(), destinations: Set<CXServiceName> = [.loyalty, .journey, .profiles],
        clock: @escaping @Sendable () -> Date = { Date() }
    ) async throws -> FeedbackService {
        let store = try Store(directory: directory, name: "feedback", migrator: FeedbackDatabase.migrator, options: options)
        let secret = try await store.writeAlone { db in try Pager.secret(db, table: "feedback_meta") }
        return FeedbackService(store: store, secret: secret, destinations: destinations, clock: clock)
    }

    init(store: Store, secret: [UInt8], destinations: Set<CXServiceName>, clock: @escaping @Sendable () -> Date) {
        self.store = store
        self.clock = clock
        self.destinations = destinations
        self.pager = Pager(secret: secret, clock: clock)
    }

    /// Adds every feedback method to `router`.
    public func register(into router: inout RPCRouter) {
        typealias F = Cx_Feedback_V1_Feedback
        router.register(F.createSurvey) { try await self.createSurvey($0, $1) }
        router.register(F.getSurvey) { try await self.getSurvey($0, $1) }
        router.register(F.listSurveys) { try await self.listSurveys($0, $1) }
        router.register(F.closeSurvey) { try await self.closeSurvey($0, $1) }
        router.register(F.shouldAsk) { try await self.shouldAsk($0, $1) }
        router.register(F.submitResponse) { try await self.submitResponse($0, $1) }
        router.register(F.getScores) { try await self.getScores($0, $1) }
        router.register(F.rankTouchpoints) { try await self.rankTouchpoints($0, $1) }
        router.register(F.detractorWords) { try await self.detractorWords($0, $1) }
        router.register(F.openComplaint) { try await self.openComplaint($0, $1) }
        router.register(F.getComplaint) { try await self.getComplaint($0, $1) }
        router.register(F.listComplaints) { try await self.listComplaints($0, $1) }
        router.register(F.moveComplaint) { try await self.moveComplaint($0, $1) }
        router.register(F.assignComplaint) { try await self.assignComplaint($0, $1) }
        router.register(F.addComplaintNote) { try await self.addComplaintNote($0, $1) }
        router.register(F.complaintStats) { try await self.complaintStats($0, $1) }
        router.register(F.eraseCustomer) { try await self.eraseCustomer($0, $1) }
    }
}
