import CXModel
import CXService
import CXStore
import CXWire
import Foundation
import GRDB

/// The journey service: events and the stages they move customers
/// through, touchpoints, the 100-day plans and their tasks, and the
/// analytics kept as events arrive. The handlers validate, then run the
/// domain code (``StageMachine``, ``StageRules``, ``PlanTemplates``) inside
/// one store write or read through ``JourneyWriter``.
public final class JourneyService: Sendable {
    public let store: Store
    let clock: @Sendable () -> Date
    let pager: Pager
    /// The rules in force, compiled once per version.
    let rulesCache = NewestVersion(table: "rules", Cx_Journey_V1_Rules.self, transform: CompiledRules.init)
    /// The services told about stage changes through the outbox.
    let destinations: Set<CXServiceName>

    /// Opens (creating when needed) `<directory>/journey.sqlite`; a new
    /// store starts with the default rules (version 1), one touchpoint per
    /// channel and the "default" 100-day plan.
    /// - Parameters:
    ///   - destinations: the services told of stage changes (profiles by default).
    ///   - clock: the time every rule and timestamp uses (tests move it).
    public static func open(
        directory: URL, options: StoreOptions = JourneyService.storeOptions, destinations: Set<CXServiceName> = [.profiles],
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
        router.register(J.eraseCustomer) { try await self.eraseCustomer($0, $1) }
    }

    /// The store's options unless the caller gives others: a 256 MiB writer
    /// cache, since group commit gathers up to 512 batches of up to 1,000
    /// events in one transaction, and with the default 64 MiB SQLite spilled
    /// dirty pages to the WAL mid-transaction (7% of the writer's time in
    /// cx-bench journey). Pages stay 4 KiB: 2 KiB pages, best for loyalty,
    /// measured 15,073 events/s here against 17,909 with 4 KiB.
    public static var storeOptions: StoreOptions {
        StoreOptions(writerCacheKiB: 262_144)
    }

    func writer(_ db: Database, now: Date) throws -> JourneyWriter {
        JourneyWriter(rules: try rulesCache.value(db), now: now.timeIntervalSince1970, destinations: destinations)
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
