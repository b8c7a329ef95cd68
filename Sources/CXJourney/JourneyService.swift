import CXModel
import CXService
import CXStore
import CXWire
import Foundation
import GRDB
import Synchronization

/// The journey service: events and the stages they move customers
/// through, touchpoints, the 100-day plans and their tasks, and the
/// analytics kept as events arrive. The handlers validate, then run the
/// domain code (``StageMachine``, ``StageRules``, ``PlanTemplates``) inside
/// one store write or read through ``JourneyWriter``.
public final class JourneyService: Sendable {
    public let store: Store
    let clock: @Sendable () -> Date
    let pager: Pager
    let rulesCache = RulesCache()
    /// The services told about stage changes through the outbox.
    let destinations: Set<CXServiceName>

    /// Opens (creating when needed) `<directory>/journey.sqlite`; a new
    /// store starts with the default rules (version 1), one touchpoint per
    /// channel and the "default" 100-day plan.
    /// - Parameters:
    ///   - destinations: the services told of stage changes (profiles by default).
    ///   - clock: the time every rule and timestamp uses (tests move it).
    public static func open(
        directory: URL, options: StoreOptions = StoreOptions(), destinations: Set<CXServiceName> = [.profiles],
        clock: @escaping @Sendable () -> Date = { Date() }
    ) async throws -> JourneyService {
        let store = try Store(directory: directory, name: "journey", migrator: JourneyDatabase.migrator, options: options)
        let now = clock()
        let secret = try await store.writeAlone { db in
            if try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM rules") == 0 {
                var rules = StageRules.defaultRules()
                rules.version = 1
                rules.effectiveAt = .init(date: now)
                try db.execute(
                    sql: "INSERT INTO rules (version, effective_at, body) VALUES (1, ?, ?)",
                    arguments: [now.timeIntervalSince1970, try RecordBody(rules)])
                for touchpoint in Touchpoints.defaults() {
                    try Touchpoints.save(db, touchpoint)
                }
                try PlanTemplates.save(db, PlanTemplates.defaultTemplate())
            }
            return try Pager.secret(db, table: "journey_meta")
        }
        return JourneyService(store: store, secret: secret, destinations: destinations, clock: clock)
    }

    init(store: Store, secret: [UInt8], destinations: Set<CXServiceName>, clock: @escaping @Sendable () -> Date) {
        self.store = store
        self.clock = clock
        self.destinations = destinations
        self.pager = Pager(secret: secret, clock: clock)
    }

    /// Adds every journey method to `router`.
    public func register(into router: inout RPCRouter) {
        typealias J = Cx_Journey_V1_Journey
        router.register(J.recordEvent) { try await self.recordEvent($0, $1) }
        router.register(J.recordEvents) { try await self.recordEvents($0, $1) }
        router.register(J.recordLoyaltyEvent) { try await self.recordLoyaltyEvent($0, $1) }
        router.register(J.moveStage) { try await self.moveStage($0, $1) }
        router.register(J.detectLost) { try await self.detectLost($0, $1) }
        router.register(J.getJourney) { try await self.getJourney($0, $1) }
        router.register(J.listEvents) { try await self.listEvents($0, $1) }
        router.register(J.createTouchpoint) { try await self.createTouchpoint($0, $1) }
        router.register(J.updateTouchpoint) { try await self.updateTouchpoint($0, $1) }
        router.register(J.listTouchpoints) { try await self.listTouchpoints($0, $1) }
        router.register(J.retireTouchpoint) { try await self.retireTouchpoint($0, $1) }
        router.register(J.getRules) { try await self.getRules($0, $1) }
        router.register(J.updateRules) { try await self.updateRules($0, $1) }
        router.register(J.putPlanTemplate) { try await self.putPlanTemplate($0, $1) }
        router.register(J.listPlanTemplates) { try await self.listPlanTemplates($0, $1) }
        router.register(J.deletePlanTemplate) { try await self.deletePlanTemplate($0, $1) }
        router.register(J.listTasks) { try await self.listTasks($0, $1) }
        router.register(J.completeTask) { try await self.completeTask($0, $1) }
        router.register(J.skipTask) { try await self.skipTask($0, $1) }
        router.register(J.funnel) { try await self.funnel($0, $1) }
        router.register(J.stalled) { try await self.stalled($0, $1) }
        router.register(J.touchpointActivity) { try await self.touchpointActivity($0, $1) }
    }

    func writer(_ db: Database, now: Date) throws -> JourneyWriter {
        JourneyWriter(rules: try rulesCache.rules(db), now: now.timeIntervalSince1970, destinations: destinations)
    }
}

/// The rules in force, compiled once per version: every write asks the
/// database which version is newest (one indexed lookup) and compiles only
/// when it changed. A version is known by its number and its time, so one
/// read in a batch that failed to commit is never mistaken for the one that
/// later commits under the same number.
final class RulesCache: Sendable {
    private let current = Mutex<(rules: CompiledRules, effectiveAt: Double)?>(nil)

    func rules(_ db: Database) throws -> CompiledRules {
        guard let newest = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT version, effective_at FROM rules ORDER BY version DESC LIMIT 1"))
        else {
            throw RPCError(code: .internal, message: "the journey store has no rules")
        }
        let version: Int64 = try newest.decode(Int64.self, atIndex: 0)
        let effectiveAt: Double = try newest.decode(Double.self, atIndex: 1)
        if let cached = current.withLock({ $0 }), cached.rules.rules.version == version, cached.effectiveAt == effectiveAt {
            return cached.rules
        }
        guard let row = try Row.fetchOne(db, sql: "SELECT body FROM rules WHERE version = ?", arguments: [version]) else {
            throw RPCError(code: .internal, message: "rules version \(version) vanished while being read")
        }
        let rules = CompiledRules(try JourneyDatabase.decodeBody(row, Cx_Journey_V1_Rules.self, table: "rules", key: "\(version)"))
        current.withLock { $0 = (rules, effectiveAt) }
        return rules
    }
}

/// The refusals several methods share, with the reasons the contract names.
enum JourneyErrors {
    static func customerNotFound(_ id: String) -> RPCError {
        RPCError(
            code: .notFound, message: "journey has no events for customer \(RequestCheck.quoted(id))", reason: "CUSTOMER_NOT_FOUND")
    }

    static func touchpointNotFound(_ id: String, field: String) -> RPCError {
        RPCError(
            code: .notFound,
            message: "\(field): no touchpoint has id \(RequestCheck.quoted(id)) (cxctl journey touchpoints list shows them)",
            fieldViolations: [.init(field: field, description: "no such touchpoint")], reason: "TOUCHPOINT_NOT_FOUND")
    }
}

extension Cx_Journey_V1_Stage {
    /// Refuses an unrecognised value, or one outside `allowed`.
    static func check(_ stage: Stage, field: String, allowLost: Bool = false) throws(RPCError) {
        if case .UNRECOGNIZED(let value) = stage { throw .invalidArgument(field: field, "\(value) is not a stage") }
        guard stage.isJourneyStage || (allowLost && stage == .lost) else {
            throw .invalidArgument(
                field: field, allowLost ? "must be a stage (ASSESSMENT to ADVOCACY, or LOST)" : "must be one of the eight stages (ASSESSMENT to ADVOCACY)")
        }
    }
}
