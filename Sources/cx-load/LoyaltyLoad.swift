import CXModel
import CXWire
import Foundation

typealias Loyalty = Cx_Loyalty_V1_Loyalty

/// cx-loyalty: durable purchases (ledger, lots, tier, two outbox events
/// each), balance reads, redemptions against a reward's stock.
enum LoyaltyLoad {
    static let scenarios: [Scenario] = [
        Scenario(
            "loyalty", "purchase", "RecordPurchase of 200,000 to 20,000,000 IRR by a random account, a run-unique order id",
            services: [.loyalty], seed: [seedAccounts], operations: [Operation(weight: 1, run: purchase)]),
        Scenario(
            "loyalty", "balance", "GetAccount of a random account: balances, tier, progress",
            services: [.loyalty], seed: [seedAccounts], operations: [Operation(weight: 1, run: balance)]),
        Scenario(
            "loyalty", "redeem",
            "Redeem the seeded reward (10 points, ample stock); an account found short gets a goodwill bonus first",
            services: [.loyalty], seed: [seedAccounts, seedReward, seedPoints], operations: [Operation(weight: 1, run: redeem)]),
        Scenario(
            "loyalty", "mix", "40% purchase, 35% balance, 15% redeem, 10% ListLedger",
            services: [.loyalty], seed: [seedAccounts, seedReward, seedPoints],
            operations: [
                Operation(weight: 40, run: purchase), Operation(weight: 35, run: balance), Operation(weight: 15, run: redeem),
                Operation(weight: 10, run: ledger),
            ]),
    ]

    static let rewardCost: Int64 = 10
    static let rewardStock: Int64 = 1_000_000_000

    // MARK: Seeding

    /// An account (IRR) for every seeded customer; enrolled ones stay as they are.
    static let seedAccounts: Scenario.SeedStep = { seeder, _ in
        let run = seeder.run
        let enrolled = Counter()
        try await seeder.parallel(run.customers) { index in
            do {
                _ = try await seeder.call(.loyalty, Loyalty.enroll, .with {
                    $0.customerID = run.customerID(index)
                    $0.currency = "IRR"
                }, seeding: "account \(run.customerID(index))")
                enrolled.add(1)
            } catch where alreadyThere(error) {}
        }
        seeder.note("loyalty: \(Format.grouped(run.customers)) accounts (\(Format.grouped(enrolled.value)) new)")
    }

    /// The reward redeem spends points on, with stock for a billion redemptions.
    static let seedReward: Scenario.SeedStep = { seeder, fixture in
        let id = "load-\(seeder.run.seed)-reward"
        var reward: Cx_Loyalty_V1_Reward
        do {
            reward = try await seeder.call(.loyalty, Loyalty.createReward, .with {
                $0.reward.id = id
                $0.reward.name = "کارت هدیه قهوه / coffee voucher (load)"
                $0.reward.description_p = "cx-load's reward for seed \(seeder.run.seed)"
                $0.reward.costPoints = rewardCost
                $0.reward.stock = rewardStock
            }, seeding: "reward \(id)").reward
        } catch where alreadyThere(error) {
            reward = try await findReward(seeder, id)
        }
        if reward.retired {
            throw SeedError(
                service: .loyalty, what: "reward \(id)", method: "ListRewards",
                error: RPCError(code: .failedPrecondition, message: "reward \(id) is retired; run with another --seed"))
        }
        if reward.hasStock, reward.stock < rewardStock / 10 {
            reward = try await seeder.call(.loyalty, Loyalty.updateReward, .with {
                $0.rewardID = id
                $0.reward.stock = rewardStock
                $0.updateMask = ["stock"]
            }, seeding: "reward \(id)'s stock").reward
        }
        fixture.rewardID = id
        fixture.rewardCost = reward.costPoints
        seeder.note(
            "loyalty: reward \(id), \(reward.costPoints) points, stock \(reward.hasStock ? Format.grouped(Int(reward.stock)) : "unlimited"), "
                + "\(Format.grouped(Int(reward.redeemed))) redeemed so far")
    }

    static func findReward(_ seeder: Seeder, _ id: String) async throws -> Cx_Loyalty_V1_Reward {
        var token = ""
        repeat {
            let page = try await seeder.call(.loyalty, Loyalty.listRewards, .with {
                $0.includeRetired = true
                $0.pageSize = 1_000
                $0.pageToken = token
            }, seeding: "reward \(id)")
            if let reward = page.rewards.first(where: { $0.id == id }) { return reward }
            token = page.nextPageToken
        } while !token.isEmpty
        throw SeedError(
            service: .loyalty, what: "reward \(id)", method: "ListRewards",
            error: RPCError(code: .notFound, message: "CreateReward said \(id) exists, but ListRewards does not list it"))
    }

    /// Spendable points for 30 redemptions in every account that has fewer:
    /// a goodwill bonus (purchase points are pending for the returns period).
    static let seedPoints: Scenario.SeedStep = { seeder, fixture in
        let run = seeder.run
        let cost = fixture.rewardCost
        let topped = Counter()
        try await seeder.parallel(run.customers) { index in
            let customer = run.customerID(index)
            var account = try await seeder.call(.loyalty, Loyalty.getAccount, .with { $0.customerID = customer }, seeding: "points").account
            var round = 0
            while account.spendablePoints < cost * 30 {
                account = try await seeder.call(.loyalty, Loyalty.awardBonus, .with {
                    $0.customerID = customer
                    $0.reason = .goodwill
                    $0.idempotencyKey = "load-\(run.runID)-seed-points-\(index)-\(round)"
                    $0.note = "cx-load: points to redeem"
                }, seeding: "points for \(customer)").account
                round += 1
                if round == 1 { topped.add(1) }
                if round > 1_000 { break }
            }
        }
        seeder.note("loyalty: goodwill bonuses for \(Format.grouped(topped.value)) accounts short of \(cost * 30) spendable points")
    }

    // MARK: Calls

    static let purchase: @Sendable (Caller, Fixture, inout SessionState) async throws -> Void = { caller, fixture, _ in
        let rials = Int64(20 + caller.below(1_981)) * 10_000
        _ = try await caller.call(.loyalty, Loyalty.recordPurchase, .with {
            $0.customerID = fixture.customer(caller)
            $0.orderID = caller.uniqueID("o")
            $0.amount = .with {
                $0.minorUnits = rials * 100
                $0.currency = "IRR"
            }
            $0.channel = caller.pick([.store, .web, .web, .app, .app, .phone, .social])
        })
        caller.count("purchases")
    }

    static let balance: @Sendable (Caller, Fixture, inout SessionState) async throws -> Void = { caller, fixture, _ in
        _ = try await caller.call(.loyalty, Loyalty.getAccount, .with { $0.customerID = fixture.customer(caller) })
    }

    static let ledger: @Sendable (Caller, Fixture, inout SessionState) async throws -> Void = { caller, fixture, _ in
        _ = try await caller.call(.loyalty, Loyalty.listLedger, .with {
            $0.customerID = fixture.customer(caller)
            $0.pageSize = 20
        })
    }

    /// A redemption, or the goodwill bonus an account found short needs first.
    static let redeem: @Sendable (Caller, Fixture, inout SessionState) async throws -> Void = { caller, fixture, state in
        if let short = state.topUps.popLast() {
            _ = try await caller.call(.loyalty, Loyalty.awardBonus, .with {
                $0.customerID = short
                $0.reason = .goodwill
                $0.idempotencyKey = caller.uniqueID("b")
                $0.note = "cx-load: points to redeem"
            })
            caller.count("bonuses")
            return
        }
        let customer = fixture.customer(caller)
        do {
            let redeemed = try await caller.call(.loyalty, Loyalty.redeem, .with {
                $0.customerID = customer
                $0.rewardID = fixture.rewardID
                $0.idempotencyKey = caller.uniqueID("d")
            })
            caller.count("redemptions")
            if redeemed.account.spendablePoints < fixture.rewardCost * 3, !state.topUps.contains(customer) {
                state.topUps.append(customer)
            }
        } catch let error as RPCError where error.reason == "INSUFFICIENT_POINTS" {
            if !state.topUps.contains(customer) { state.topUps.append(customer) }
            throw error
        }
    }
}
