import ArgumentParser
import CXModel
import CXWire
import Foundation

/// `cxctl loyalty rewards ...`
struct LoyaltyRewardsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rewards",
        abstract: "The rewards members spend points on: list, create, change, retire.",
        discussion: """
            A reward costs a number of points, may have a limited stock, and may be kept for \
            a tier and the tiers above it. Retired rewards can no longer be redeemed (their \
            redemptions stay valid); rewards are never deleted. Members redeem them with \
            `cxctl loyalty redeem`.

            Examples:
              cxctl loyalty rewards create --name "Free coffee" --cost 200 --id coffee
              cxctl loyalty rewards create --name "Lounge pass" --cost 5000 --stock 100 --min-tier gold
              cxctl loyalty rewards list --tier silver
              cxctl loyalty rewards update coffee --cost 250 --unlimited
              cxctl loyalty rewards retire coffee
            """,
        subcommands: [List.self, Create.self, Update.self, Retire.self]
    )
}

/// The reward fields `rewards create` and `rewards update` set.
struct LoyaltyRewardFields: ParsableArguments {
    @Option(help: ArgumentHelp("Its name, 1 to 200 characters.", valueName: "text"))
    var name: String?

    @Option(name: .customLong("description"), help: ArgumentHelp("What the member gets, up to 2000 characters.", valueName: "text"))
    var about: String?

    @Option(help: ArgumentHelp("Points a redemption costs, 1 or more.", valueName: "points"))
    var cost: Int64?

    @Option(help: ArgumentHelp("Units left, 0 or more (default: unlimited).", valueName: "n"))
    var stock: Int64?

    @Option(help: ArgumentHelp("The lowest tier that may redeem it (default: every tier).", valueName: "tier"))
    var minTier: String?

    /// Sets the fields given on the command line; returns their update_mask
    /// paths. Bad values are flag errors (exit 64).
    @discardableResult
    func apply(to reward: inout Cx_Loyalty_V1_Reward) throws -> [String] {
        var paths: [String] = []
        if let name {
            guard (1...200).contains(name.count) else { throw ValidationError("--name: \(name.count) characters; 1 to 200") }
            reward.name = name
            paths.append("name")
        }
        if let about {
            guard about.count <= 2_000 else { throw ValidationError("--description: \(about.count) characters; at most 2000") }
            reward.description_p = about
            paths.append("description")
        }
        if let cost {
            guard cost >= 1 else { throw ValidationError("--cost: \(cost) must be 1 or more") }
            reward.costPoints = cost
            paths.append("cost_points")
        }
        if let stock {
            guard stock >= 0 else { throw ValidationError("--stock: \(stock) must be 0 or more") }
            reward.stock = stock
            paths.append("stock")
        }
        if let minTier {
            reward.minTier = minTier.isEmpty ? "" : try loyaltyTierName(minTier, flag: "--min-tier")
            paths.append("min_tier")
        }
        return paths
    }
}

extension LoyaltyRewardsCommand {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List rewards, ordered by id; --tier keeps those a member of that tier may redeem.",
            discussion: """
                Examples:
                  cxctl loyalty rewards list
                  cxctl loyalty rewards list --tier gold --include-retired --all --json
                """)

        @Option(help: ArgumentHelp("Only rewards a member of this tier may redeem.", valueName: "tier"))
        var tier: String?

        @Flag(help: "Retired rewards too.")
        var includeRetired = false

        @OptionGroup var page: PageOptions
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            if let tier { _ = try loyaltyTierName(tier, flag: "--tier") }
        }

        func run() async throws {
            var request = Cx_Loyalty_V1_ListRewardsRequest()
            request.eligibleTier = try tier.map { try loyaltyTierName($0, flag: "--tier") } ?? ""
            request.includeRetired = includeRetired
            try await ServiceSession.showPages(.loyalty, Cx_Loyalty_V1_Loyalty.listRewards, request, page, connection, output) {
                $0.rewards.isEmpty ? "(no rewards)" : LoyaltyView.rewards($0.rewards).render()
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create",
            abstract: "Create a reward; prints it with its id.",
            discussion: """
                --name and --cost are required. Without --id the service picks the id. Without \
                --stock the reward is unlimited.

                Examples:
                  cxctl loyalty rewards create --name "Free coffee" --cost 200 --id coffee
                  cxctl loyalty rewards create --name "Lounge pass" --cost 5000 --stock 100 --min-tier gold \\
                      --description "One visit to the airport lounge" --key lounge-2026
                """)

        @OptionGroup var fields: LoyaltyRewardFields

        @Option(help: ArgumentHelp(
            "The new reward's id: 1 to 64 of A-Z a-z 0-9 - _ . : (default: the service picks one).", valueName: "id"))
        var id: String?

        @OptionGroup var key: KeyOption
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            guard fields.name != nil else { throw ValidationError("--name is required: what the reward is called") }
            guard fields.cost != nil else { throw ValidationError("--cost is required: the points a redemption costs") }
            _ = try makeRequest()
        }

        func makeRequest() throws -> Cx_Loyalty_V1_CreateRewardRequest {
            var reward = Cx_Loyalty_V1_Reward()
            try fields.apply(to: &reward)
            reward.id = id ?? ""
            var request = Cx_Loyalty_V1_CreateRewardRequest()
            request.reward = reward
            request.idempotencyKey = key.value
            return request
        }

        func run() async throws {
            let request = try makeRequest()
            try await ServiceSession.show(.loyalty, Cx_Loyalty_V1_Loyalty.createReward, request, connection, output) {
                LoyaltyView.reward($0.reward).render()
            }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "update",
            abstract: "Change some fields of a reward and leave the others as they are.",
            discussion: """
                Only the fields given are changed (they make the update_mask). --unlimited \
                removes the stock limit; --min-tier "" opens the reward to every tier.

                Examples:
                  cxctl loyalty rewards update coffee --cost 250
                  cxctl loyalty rewards update lounge --stock 50 --min-tier platinum
                  cxctl loyalty rewards update coffee --unlimited --min-tier ""
                """)

        @Argument(help: "The reward's id.")
        var id: String

        @OptionGroup var fields: LoyaltyRewardFields

        @Flag(help: "No stock limit any more.")
        var unlimited = false

        @OptionGroup var key: KeyOption
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            _ = try makeRequest()
        }

        /// The request the flags describe: update_mask is exactly the fields given.
        func makeRequest() throws -> Cx_Loyalty_V1_UpdateRewardRequest {
            var reward = Cx_Loyalty_V1_Reward()
            var mask = try fields.apply(to: &reward)
            if unlimited {
                guard fields.stock == nil else { throw ValidationError("--stock and --unlimited contradict each other: give one") }
                mask.append("stock")
            }
            guard !mask.isEmpty else {
                throw ValidationError("nothing to change: give --name, --description, --cost, --stock, --unlimited or --min-tier")
            }
            var request = Cx_Loyalty_V1_UpdateRewardRequest()
            request.rewardID = id
            request.reward = reward
            request.updateMask = mask
            request.idempotencyKey = key.value
            return request
        }

        func run() async throws {
            let request = try makeRequest()
            try await ServiceSession.show(.loyalty, Cx_Loyalty_V1_Loyalty.updateReward, request, connection, output) {
                LoyaltyView.reward($0.reward).render()
            }
        }
    }

    struct Retire: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "retire",
            abstract: "Retire a reward: it can no longer be redeemed; its redemptions stay valid.",
            discussion: """
                Retiring a retired reward changes nothing.

                Examples:
                  cxctl loyalty rewards retire coffee
                """)

        @Argument(help: "The reward's id.")
        var id: String

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            var request = Cx_Loyalty_V1_RetireRewardRequest()
            request.rewardID = id
            try await ServiceSession.show(.loyalty, Cx_Loyalty_V1_Loyalty.retireReward, request, connection, output) {
                LoyaltyView.reward($0.reward).render()
            }
        }
    }
}

/// `cxctl loyalty redeem CUSTOMER REWARD`
struct LoyaltyRedeemCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redeem",
        abstract: "Spend a member's points on a reward; prints the code the member shows.",
        discussion: """
            Spends spendable points only (pending ones wait for the returns period), those \
            that expire soonest first. Refusals are FAILED_PRECONDITION: INSUFFICIENT_POINTS, \
            OUT_OF_STOCK, REWARD_RETIRED or TIER_TOO_LOW.

            Every redemption has an idempotency key. Without --key the command makes one up \
            and prints it on standard error before it calls; if the call fails or times out, \
            run the command again with that --key: the reward is redeemed once.

            Examples:
              cxctl loyalty redeem c-1042 coffee
              cxctl loyalty redeem c-1042 coffee --key cxctl-redeem-3f2a9c
            """)

    @Argument(help: "The customer's id.")
    var customer: String

    @Argument(help: "The reward's id.")
    var reward: String

    @Option(help: ArgumentHelp("Redeems once however often it is run: 1 to 128 characters (default: made up).", valueName: "key"))
    var key: String?

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if let key { try KeyOption.check(key) }
    }

    func run() async throws {
        var request = Cx_Loyalty_V1_RedeemRequest()
        request.customerID = customer
        request.rewardID = reward
        if let key {
            request.idempotencyKey = key
        } else {
            request.idempotencyKey = "cxctl-redeem-" + UUID().uuidString.lowercased()
            writeStderr(
                "cxctl: redeeming with --key \(request.idempotencyKey); to retry without redeeming twice, "
                    + "run the same command with that --key\n")
        }
        try await ServiceSession.show(.loyalty, Cx_Loyalty_V1_Loyalty.redeem, request, connection, output) {
            LoyaltyView.summary(LoyaltyView.redemption($0.redemption), account: $0.account)
        }
    }
}

/// `cxctl loyalty cancel-redemption ID`
struct LoyaltyCancelRedemptionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel-redemption",
        abstract: "Cancel a redemption: the points go back (with their own expiry) and so does the stock.",
        discussion: """
            Cancelling a cancelled redemption changes nothing.

            Examples:
              cxctl loyalty cancel-redemption d-7c1e0f2a9b3d4e5f6a7b
            """)

    @Argument(help: "The redemption's id (redeem prints it).")
    var id: String

    @OptionGroup var key: KeyOption
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        var request = Cx_Loyalty_V1_CancelRedemptionRequest()
        request.redemptionID = id
        request.idempotencyKey = key.value
        try await ServiceSession.show(.loyalty, Cx_Loyalty_V1_Loyalty.cancelRedemption, request, connection, output) {
            LoyaltyView.summary(LoyaltyView.redemption($0.redemption), account: $0.account)
        }
    }
}
