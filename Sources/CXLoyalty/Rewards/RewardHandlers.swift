import CXModel
import CXService
import CXStore
import CXWire
import Foundation
import GRDB

extension LoyaltyService {
    static let rewardPaths: Set<String> = ["name", "description", "cost_points", "stock", "min_tier"]

    /// Checks the settable fields of a reward named in `paths`.
    static func validateReward(_ reward: Cx_Loyalty_V1_Reward, paths: Set<String>, prefix: String) throws(RPCError) {
        if paths.contains("name") {
            guard (1...200).contains(reward.name.count) else {
                throw .invalidArgument(field: "\(prefix).name", "is \(reward.name.count) characters; 1 to 200")
            }
        }
        if paths.contains("description") {
            guard reward.description_p.count <= 2_000 else {
                throw .invalidArgument(field: "\(prefix).description", "is \(reward.description_p.count) characters; at most 2000")
            }
        }
        if paths.contains("cost_points") {
            guard reward.costPoints >= 1 else {
                throw .invalidArgument(field: "\(prefix).cost_points", "is \(reward.costPoints); a reward costs at least 1 point")
            }
        }
        if paths.contains("stock"), reward.hasStock, reward.stock < 0 {
            throw .invalidArgument(field: "\(prefix).stock", "is \(reward.stock); 0 or more (unset = unlimited)")
        }
    }

    static func checkTier(_ name: String, program: Cx_Loyalty_V1_Program, field: String) throws {
        guard name.isEmpty || ProgramRules.tierIndex(named: name, in: program) != nil else {
            throw RPCError.invalidArgument(
                field: field, "\(RequestCheck.quoted(name)) is not a tier of the program (\(program.tiers.map(\.name).joined(separator: ", ")))")
        }
    }

    /// The index of the lowest tier of `program` that may redeem `reward`
    /// (ListRewards and Redeem agree): 0 for every tier; the top tier when
    /// its min_tier is no longer a tier of the program.
    static func tierIndexNeeded(_ reward: Cx_Loyalty_V1_Reward, in program: Cx_Loyalty_V1_Program) -> Int {
        reward.minTier.isEmpty ? 0 : ProgramRules.tierIndex(named: reward.minTier, in: program) ?? program.tiers.count - 1
    }

    static func reward(_ db: Database, _ id: String) throws -> Cx_Loyalty_V1_Reward {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT body FROM reward WHERE id = ?"), arguments: [id]) else {
            throw LoyaltyErrors.rewardNotFound(id)
        }
        return try LoyaltyDatabase.decodeBody(row, Cx_Loyalty_V1_Reward.self, table: "reward", key: id)
    }

    static func saveReward(_ db: Database, _ reward: Cx_Loyalty_V1_Reward) throws {
        try db.cachedStatement(sql: "INSERT OR REPLACE INTO reward (id, body) VALUES (?, ?)")
            .execute(arguments: [reward.id, try RecordBody(reward)])
    }

    func createReward(_ request: Cx_Loyalty_V1_CreateRewardRequest, _ context: ServerContext) async throws
        -> Cx_Loyalty_V1_CreateRewardResponse
    {
        var reward = request.reward
        if !reward.id.isEmpty { try RequestCheck.id(reward.id, field: "reward.id") }
        try Self.validateReward(reward, paths: Self.rewardPaths, prefix: "reward")
        reward.retired = false
        reward.redeemed = 0
        let key = try RequestCheck.idempotencyKey(request.idempotencyKey, context)
        let now = clock()
        reward.createdAt = .init(date: now)
        let prepared = reward
        let programs = self.programs
        return try await store.idempotentWrite("loyalty.CreateReward", key: key, request: request) { db in
            var reward = prepared
            if reward.id.isEmpty { reward.id = Self.generateID(prefix: "r-") }
            try Self.checkTier(reward.minTier, program: try programs.value(db), field: "reward.min_tier")
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM reward WHERE id = ?", arguments: [reward.id]) == nil else {
                throw RPCError(code: .alreadyExists, message: "reward \(RequestCheck.quoted(reward.id)) already exists", reason: "REWARD_EXISTS")
            }
            try Self.saveReward(db, reward)
            var response = Cx_Loyalty_V1_CreateRewardResponse()
            response.reward = reward
            return response
        }
    }

    func listRewards(_ request: Cx_Loyalty_V1_ListRewardsRequest, _ context: ServerContext) async throws
        -> Cx_Loyalty_V1_ListRewardsResponse
    {
        let size = try RequestCheck.pageSize(request.pageSize)
        let scope = "loyalty.ListRewards/\(request.eligibleTier)/\(request.includeRetired)"
        let after = try pager.position(request.pageToken, scope: scope)?.first ?? ""
        let programs = self.programs
        let (rewards, last) = try await store.read { db in
            let program = try programs.value(db)
            var limit = Int.max
            if !request.eligibleTier.isEmpty {
                try Self.checkTier(request.eligibleTier, program: program, field: "eligible_tier")
                limit = ProgramRules.tierIndex(named: request.eligibleTier, in: program)!
            }
            var found: [Cx_Loyalty_V1_Reward] = []
            var last: String?
            let cursor = try Row.fetchCursor(db, sql: "SELECT id, body FROM reward WHERE id > ? ORDER BY id", arguments: [after])
            while found.count < size, let row = try cursor.next() {
                let id: String = try row.decode(String.self, forColumn: "id")
                last = id
                let reward = try LoyaltyDatabase.decodeBody(row, Cx_Loyalty_V1_Reward.self, table: "reward", key: id)
                if reward.retired, !request.includeRetired { continue }
                if Self.tierIndexNeeded(reward, in: program) > limit { continue }
                found.append(reward)
            }
            return (found, last)
        }
        var response = Cx_Loyalty_V1_ListRewardsResponse()
        response.rewards = rewards
        response.nextPageToken = pager.nextToken(scope: scope, last: last.map { [$0] }, full: rewards.count == size)
        return response
    }

    func updateReward(_ request: Cx_Loyalty_V1_UpdateRewardRequest, _ context: ServerContext) async throws
        -> Cx_Loyalty_V1_UpdateRewardResponse
    {
        try RequestCheck.id(request.rewardID, field: "reward_id")
        guard !request.updateMask.isEmpty else {
            throw RPCError.invalidArgument(field: "update_mask", "is required: name, description, cost_points, stock or min_tier")
        }
        var paths = Set<String>()
        for (index, path) in request.updateMask.enumerated() {
            guard Self.rewardPaths.contains(path) else {
                throw RPCError.invalidArgument(
                    field: "update_mask[\(index)]", "\(RequestCheck.quoted(path)) is not name, description, cost_points, stock or min_tier")
            }
            guard paths.insert(path).inserted else {
                throw RPCError.invalidArgument(field: "update_mask[\(index)]", "\(path) is named twice")
            }
        }
        try Self.validateReward(request.reward, paths: paths, prefix: "reward")
        let named = paths
        let key = try RequestCheck.idempotencyKey(request.idempotencyKey, context)
        let programs = self.programs
        return try await store.idempotentWrite("loyalty.UpdateReward", key: key, request: request) { db in
            var reward = try Self.reward(db, request.rewardID)
            let source = request.reward
            let paths = named
            if paths.contains("name") { reward.name = source.name }
            if paths.contains("description") { reward.description_p = source.description_p }
            if paths.contains("cost_points") { reward.costPoints = source.costPoints }
            if paths.contains("stock") {
                if source.hasStock { reward.stock = source.stock } else { reward.clearStock() }
            }
            if paths.contains("min_tier") {
                try Self.checkTier(source.minTier, program: try programs.value(db), field: "reward.min_tier")
                reward.minTier = source.minTier
            }
            try Self.saveReward(db, reward)
            var response = Cx_Loyalty_V1_UpdateRewardResponse()
            response.reward = reward
            return response
        }
    }

    func retireReward(_ request: Cx_Loyalty_V1_RetireRewardRequest, _ context: ServerContext) async throws
        -> Cx_Loyalty_V1_RetireRewardResponse
    {
        try RequestCheck.id(request.rewardID, field: "reward_id")
        return try await store.write { db in
            var reward = try Self.reward(db, request.rewardID)
            if !reward.retired {
                reward.retired = true
                try Self.saveReward(db, reward)
            }
            var response = Cx_Loyalty_V1_RetireRewardResponse()
            response.reward = reward
            return response
        }
    }

    static let codeAlphabet = Array("23456789ABCDEFGHJKLMNPQRSTUVWXYZ")

    static func redemptionCode() -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<10).map { _ in codeAlphabet[Int.random(in: 0..<codeAlphabet.count, using: &generator)] })
    }

    func redeem(_ request: Cx_Loyalty_V1_RedeemRequest, _ context: ServerContext) async throws -> Cx_Loyalty_V1_RedeemResponse {
        let id = request.customerID
        try RequestCheck.id(id, field: "customer_id")
        try RequestCheck.id(request.rewardID, field: "reward_id")
        let key = try RequestCheck.requiredIdempotencyKey(request.idempotencyKey, context)
        let now = clock()
        let programs = self.programs
        let events = self.events(at: now)
        return try await store.idempotentWrite("loyalty.Redeem", key: key, request: request, subjects: { _, response in [response.account.customerID] }) { db in
            var account = try AccountRecord.require(db, id)
            var reward = try Self.reward(db, request.rewardID)
            let program = try programs.value(db)
            guard !reward.retired else {
                throw RPCError(
                    code: .failedPrecondition, message: "reward \(RequestCheck.quoted(reward.id)) is retired", reason: "REWARD_RETIRED")
            }
            if !reward.minTier.isEmpty {
                let needs = Self.tierIndexNeeded(reward, in: program)
                let has = ProgramRules.tierIndex(named: account.tier, in: program) ?? 0
                guard has >= needs else {
                    let whom =
                        ProgramRules.tierIndex(named: reward.minTier, in: program) == nil
                        ? "\(program.tiers[needs].name) only (its tier \(reward.minTier) is no longer in the program)"
                        : "\(reward.minTier) and above"
                    throw RPCError(
                        code: .failedPrecondition,
                        message: "reward \(RequestCheck.quoted(reward.id)) is for \(whom); \(id) is \(account.tier)",
                        reason: "TIER_TOO_LOW")
                }
            }
            if reward.hasStock, reward.stock <= 0 {
                throw RPCError(
                    code: .failedPrecondition, message: "reward \(RequestCheck.quoted(reward.id)) is out of stock", reason: "OUT_OF_STOCK")
            }
            try Ledger.expireDue(db, &account, now: now, programVersion: program.version)
            let balances = Ledger.balances(account, now: now)
            guard balances.spendable >= reward.costPoints else {
                let pending = balances.pending > 0 ? " (\(ProgramRules.grouped(balances.pending)) more are pending)" : ""
                throw RPCError(
                    code: .failedPrecondition,
                    message: "\(id) has \(ProgramRules.grouped(balances.spendable)) spendable points\(pending); "
                        + "reward \(RequestCheck.quoted(reward.id)) costs \(ProgramRules.grouped(reward.costPoints))",
                    reason: "INSUFFICIENT_POINTS")
            }
            let pieces = Ledger.take(&account, points: reward.costPoints, from: .spendable, now: now)
            var redemption = Cx_Loyalty_V1_Redemption()
            redemption.id = Self.generateID(prefix: "d-")
            redemption.customerID = id
            redemption.rewardID = reward.id
            redemption.points = reward.costPoints
            redemption.createdAt = .init(date: now)
            repeat {
                redemption.code = Self.redemptionCode()
            } while try Bool.fetchOne(db, sql: "SELECT 1 FROM redemption WHERE code = ?", arguments: [redemption.code]) != nil
            try Ledger.append(
                db, &account,
                Ledger.Entry(
                    kind: .redemption, points: -reward.costPoints, at: now, reference: redemption.id,
                    description: "redeemed \(reward.name) (\(reward.id)), code \(redemption.code)", programVersion: program.version))
            try db.execute(
                sql: "INSERT INTO redemption (id, customer_id, code, body) VALUES (?, ?, ?, ?)",
                arguments: [redemption.id, id, redemption.code, try RecordBody(redemption)])
            for (position, piece) in pieces.enumerated() {
                try db.execute(
                    sql: "INSERT INTO redemption_lot (redemption_id, position, points, available_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                    arguments: [
                        redemption.id, position, piece.points, piece.availableAt.timeIntervalSince1970, piece.expiresAt.timeIntervalSince1970,
                    ])
            }
            if reward.hasStock { reward.stock -= 1 }
            reward.redeemed += 1
            try Self.saveReward(db, reward)
            try account.update(db)
            var event = Cx_Loyalty_V1_LoyaltyEvent()
            event.kind = .redemption
            event.occurredAt = .init(date: now)
            event.rewardID = reward.id
            event.points = reward.costPoints
            try events.journey(db, account, suffix: "redemption", event)
            var response = Cx_Loyalty_V1_RedeemResponse()
            response.redemption = redemption
            response.account = try AccountView.make(db, account, program: program, now: now)
            return response
        }
    }

    func cancelRedemption(_ request: Cx_Loyalty_V1_CancelRedemptionRequest, _ context: ServerContext) async throws
        -> Cx_Loyalty_V1_CancelRedemptionResponse
    {
        try RequestCheck.id(request.redemptionID, field: "redemption_id")
        let key = try RequestCheck.idempotencyKey(request.idempotencyKey, context)
        let now = clock()
        let programs = self.programs
        return try await store.idempotentWrite("loyalty.CancelRedemption", key: key, request: request, subjects: { _, response in [response.account.customerID] }) { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT body FROM redemption WHERE id = ?", arguments: [request.redemptionID]) else {
                throw RPCError(
                    code: .notFound, message: "no redemption has id \(RequestCheck.quoted(request.redemptionID))",
                    reason: "REDEMPTION_NOT_FOUND")
            }
            var redemption = try LoyaltyDatabase.decodeBody(row, Cx_Loyalty_V1_Redemption.self, table: "redemption", key: request.redemptionID)
            var account = try AccountRecord.require(db, redemption.customerID)
            let program = try programs.value(db)
            var response = Cx_Loyalty_V1_CancelRedemptionResponse()
            guard !redemption.cancelled else {
                // Cancelling twice changes nothing.
                response.redemption = redemption
                response.account = try AccountView.make(db, account, program: program, now: now)
                return response
            }
            try Ledger.expireDue(db, &account, now: now, programVersion: program.version)
            // The points go back with the dates they had: a point that
            // would have expired meanwhile expires at the next sweep.
            let pieces = try Row.fetchAll(
                db, sql: "SELECT points, available_at, expires_at FROM redemption_lot WHERE redemption_id = ? ORDER BY position",
                arguments: [redemption.id])
            for piece in pieces {
                let points = try piece.decode(Int64.self, forColumn: "points")
                let expires = Date(timeIntervalSince1970: try piece.decode(Double.self, forColumn: "expires_at"))
                try Ledger.append(
                    db, &account,
                    Ledger.Entry(
                        kind: .redemptionCancelled, points: points, at: now,
                        availableAt: Date(timeIntervalSince1970: try piece.decode(Double.self, forColumn: "available_at")),
                        expiresAt: expires, reference: redemption.id,
                        description: "redemption \(redemption.id) cancelled: \(ProgramRules.grouped(points)) points back, expiring \(ProgramRules.day(expires))",
                        programVersion: program.version))
            }
            try Ledger.expireDue(db, &account, now: now, programVersion: program.version)
            // Rewards are retired, never deleted: the redemption's reward is there.
            var reward = try Self.reward(db, redemption.rewardID)
            if reward.hasStock { reward.stock += 1 }
            reward.redeemed = max(0, reward.redeemed - 1)
            try Self.saveReward(db, reward)
            redemption.cancelled = true
            redemption.cancelledAt = .init(date: now)
            try db.execute(
                sql: "UPDATE redemption SET body = ? WHERE id = ?", arguments: [try RecordBody(redemption), redemption.id])
            try account.update(db)
            response.redemption = redemption
            response.account = try AccountView.make(db, account, program: program, now: now)
            return response
        }
    }
}
