import CXModel
import CXService
import CXStore
import CXWire
import Foundation
import GRDB

/// The loyalty service: program, accounts and their ledger, rewards, tiers
/// and reports, over one store. The handlers validate, then run domain code
/// (``Ledger``, ``ProgramRules``, ``TierPolicy``) inside one store write or
/// read.
public final class LoyaltyService: Sendable {
    public let store: Store
    let clock: @Sendable () -> Date
    let pager: Pager
    /// The program in force, decoded once per version.
    let programs = NewestVersion(table: "program", Cx_Loyalty_V1_Program.self)
    /// The services told about loyalty events through the outbox.
    let destinations: Set<CXServiceName>

    /// Opens (creating when needed) `<directory>/loyalty.sqlite`; a new
    /// store starts with ``ProgramRules/defaultProgram()`` as version 1.
    /// - Parameters:
    ///   - destinations: the services events go to (profiles and journey
    ///     by default); one left out is never told.
    ///   - clock: the time every rule and timestamp uses (tests move it).
    public static func open(
        directory: URL, options: StoreOptions = LoyaltyService.storeOptions, destinations: Set<CXServiceName> = [.profiles, .journey],
        clock: @escaping @Sendable () -> Date = { Date() }
    ) async throws -> LoyaltyService {
        let store = try Store(directory: directory, name: "loyalty", migrator: LoyaltyDatabase.migrator, options: options)
        let now = clock()
        let secret = try await store.writeAlone { db in
            if try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM program") == 0 {
                var program = ProgramRules.defaultProgram()
                program.effectiveAt = .init(date: now)
                try db.execute(
                    sql: "INSERT INTO program (version, effective_at, body) VALUES (1, ?, ?)",
                    arguments: [now.timeIntervalSince1970, try RecordBody(program)])
            }
            return try Pager.secret(db, table: "loyalty_meta")
        }
        return LoyaltyService(store: store, secret: secret, destinations: destinations, clock: clock)
    }

    init(store: Store, secret: [UInt8], destinations: Set<CXServiceName>, clock: @escaping @Sendable () -> Date) {
        self.store = store
        self.clock = clock
        self.destinations = destinations
        self.pager = Pager(secret: secret, clock: clock)
    }

    /// Adds every loyalty method to `router`.
    public func register(into router: inout RPCRouter) {
        typealias L = Cx_Loyalty_V1_Loyalty
        router.register(L.getProgram) { try await self.getProgram($0, $1) }
        router.register(L.updateProgram) { try await self.updateProgram($0, $1) }
        router.register(L.simulateProgram) { try await self.simulateProgram($0, $1) }
        router.register(L.enroll) { try await self.enroll($0, $1) }
        router.register(L.getAccount) { try await self.getAccount($0, $1) }
        router.register(L.listLedger) { try await self.listLedger($0, $1) }
        router.register(L.recordPurchase) { try await self.recordPurchase($0, $1) }
        router.register(L.reversePurchase) { try await self.reversePurchase($0, $1) }
        router.register(L.awardBonus) { try await self.awardBonus($0, $1) }
        router.register(L.refer) { try await self.refer($0, $1) }
        router.register(L.createReward) { try await self.createReward($0, $1) }
        router.register(L.listRewards) { try await self.listRewards($0, $1) }
        router.register(L.updateReward) { try await self.updateReward($0, $1) }
        router.register(L.retireReward) { try await self.retireReward($0, $1) }
        router.register(L.redeem) { try await self.redeem($0, $1) }
        router.register(L.cancelRedemption) { try await self.cancelRedemption($0, $1) }
        router.register(L.evaluateTiers) { try await self.evaluateTiers($0, $1) }
        router.register(L.listTierDecisions) { try await self.listTierDecisions($0, $1) }
        router.register(L.expirePoints) { try await self.expirePoints($0, $1) }
        router.register(L.getReport) { try await self.getReport($0, $1) }
        router.register(L.eraseCustomer) { try await self.eraseCustomer($0, $1) }
    }

    /// The store's options unless the caller gives others. Every purchase
    /// touches a few rows at random places (its account, its ledger, its
    /// outbox rows by customer), so each dirties a few pages whatever their
    /// size; 2 KiB pages measured best (cx-bench loyalty: 1 KiB 4,081,
    /// 2 KiB 5,000, 4 KiB 3,924 purchases/s at 16x8).
    ///
    /// The writer's cache is 8 MiB, not the store's 64: purchases split
    /// ledger and account pages at random places, and with SQLite 3.40 a
    /// commit after such a split walks the whole page cache (see
    /// ``StoreOptions/writerCacheKiB``). cx-bench loyalty, writer time per
    /// purchase: 64 MiB 95-100 µs (the walk about 15% of it), 8 MiB
    /// 78-94 µs (the walk 2%, reads that miss the cache 8%).
    public static var storeOptions: StoreOptions {
        StoreOptions(writerCacheKiB: 8_192, pageSize: 2_048)
    }

    static func generateID(prefix: String) -> String {
        prefix + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20)
    }
}

/// The refusals several methods share, with the reasons the contract names.
enum LoyaltyErrors {
    static func accountNotFound(_ id: String) -> RPCError {
        RPCError(
            code: .notFound, message: "customer \(RequestCheck.quoted(id)) has no loyalty account: enroll the customer first",
            reason: "ACCOUNT_NOT_FOUND")
    }

    static func rewardNotFound(_ id: String) -> RPCError {
        RPCError(code: .notFound, message: "no reward has id \(RequestCheck.quoted(id))", reason: "REWARD_NOT_FOUND")
    }
}
