import CXModel
import CXWire
import Foundation

/// What loyalty holds for one customer of the demo, so that a rerun sends
/// only what is missing: an account enrolled by an earlier run is read with
/// its ledger, and its orders, refunds, bonuses and redemptions are not
/// sent again (order and refund ids are kept for good, but other
/// idempotency keys only for a week).
struct DemoAccount: Sendable {
    var account = Cx_Loyalty_V1_Account()
    var orders: Set<String> = []
    var ledger: [Cx_Loyalty_V1_LedgerEntry] = []
    /// Enrolled by this run: only then does the demo redeem (whether a
    /// reward is affordable depends on what happened since, so a rerun
    /// could otherwise redeem what the first run could not).
    var enrolledNow = false

    func has(_ kind: Cx_Loyalty_V1_LedgerEntry.Kind, describedWith text: String) -> Bool {
        ledger.contains { $0.kind == kind && $0.description_p.contains(text) }
    }
}

/// loyalty: the rewards, then each customer's enrolment, referral,
/// purchases, refunds, review bonus and redemption.
extension DemoRun {
    static let currency = "IRR"

    static let rewards: [(id: String, name: String, about: String, cost: Int64, minTier: String, stock: Int64?)] = [
        ("free-espresso", "اسپرسو رایگان · Free espresso", "One espresso at any Narenj café.", 300, "", nil),
        ("beans-250g", "۲۵۰ گرم دانه قهوه · 250 g of beans", "A bag of this month's single origin.", 1_500, "silver", nil),
        ("barista-class-seat", "کلاس باریستا · A barista class seat", "A Saturday morning class at the roastery.", 6_000, "gold", 25),
    ]

    func createRewards() async throws {
        try await demoForEach(Array(Self.rewards.indices), parallel: parallel) { index in
            let reward = Self.rewards[index]
            var request = Cx_Loyalty_V1_CreateRewardRequest()
            request.reward.id = reward.id
            request.reward.name = reward.name
            request.reward.description_p = reward.about
            request.reward.costPoints = reward.cost
            if tiers.contains(reward.minTier) { request.reward.minTier = reward.minTier }
            if let stock = reward.stock { request.reward.stock = stock }
            let created = try await services.call(
                .loyalty, Cx_Loyalty_V1_Loyalty.createReward, request, "creating reward \(reward.id)", accepting: \.alreadyExists)
            created == nil ? tally.existing(.rewards) : tally.added(.rewards)
        }
    }

    /// Enrolls the customer, or reads the account an earlier run enrolled.
    func enroll(_ customer: DemoCustomer) async throws -> DemoAccount {
        var request = Cx_Loyalty_V1_EnrollRequest()
        request.customerID = customer.id
        request.currency = Self.currency
        if let enrolled = try await services.call(
            .loyalty, Cx_Loyalty_V1_Loyalty.enroll, request, "enrolling \(customer.id)", accepting: \.alreadyExists)
        {
            tally.added(.accounts)
            return DemoAccount(account: enrolled.account, enrolledNow: true)
        }
        tally.existing(.accounts)
        var state = DemoAccount()
        state.account = try await services.call(
            .loyalty, Cx_Loyalty_V1_Loyalty.getAccount, .with { $0.customerID = customer.id }, "reading \(customer.id)'s account"
        ).account
        var ledger = Cx_Loyalty_V1_ListLedgerRequest()
        ledger.customerID = customer.id
        ledger.pageSize = 1_000
        repeat {
            let page = try await services.call(.loyalty, Cx_Loyalty_V1_Loyalty.listLedger, ledger, "reading \(customer.id)'s ledger")
            state.ledger += page.entries
            ledger.pageToken = page.nextPageToken
        } while !ledger.pageToken.isEmpty
        state.orders = Set(state.ledger.filter { $0.kind == .purchase }.map(\.reference))
        return state
    }

    /// Records that an older customer brought this one in, before their first purchase.
    func refer(_ customer: DemoCustomer, by referrer: String, _ state: inout DemoAccount) async throws {
        guard state.account.referredBy.isEmpty else {
            tally.existing(.referrals)
            return
        }
        // Only a customer without purchases can be referred.
        guard state.orders.isEmpty else { return }
        var request = Cx_Loyalty_V1_ReferRequest()
        request.referrerID = referrer
        request.refereeID = customer.id
        switch try await services.attempt(.loyalty, Cx_Loyalty_V1_Loyalty.refer, request) {
        case .success:
            tally.added(.referrals)
        case .failure(let error) where error.alreadyExists || error.reason == "REFEREE_HAS_PURCHASED":
            tally.existing(.referrals)
        case .failure(let error) where error.code == .notFound:
            break  // The referrer's account is gone (an erased customer).
        case .failure(let error):
            throw services.failure(.loyalty, Cx_Loyalty_V1_Loyalty.refer, error, "recording that \(referrer) referred \(customer.id)")
        }
    }

    /// Records a purchase, unless an earlier run did. True when it is new.
    func purchase(_ purchase: DemoPurchase, of customer: DemoCustomer, _ state: inout DemoAccount, clock: DemoClock) async throws -> Bool {
        guard !state.orders.contains(purchase.orderID) else {
            tally.existing(.purchases)
            return false
        }
        var request = Cx_Loyalty_V1_RecordPurchaseRequest()
        request.customerID = customer.id
        request.orderID = purchase.orderID
        request.amount = .with {
            $0.minorUnits = purchase.minorUnits
            $0.currency = Self.currency
        }
        request.channel = purchase.channel
        request.purchasedAt = clock.timestamp(purchase.at)
        let response = try await services.call(
            .loyalty, Cx_Loyalty_V1_Loyalty.recordPurchase, request, "recording \(customer.id)'s order \(purchase.orderID)")
        state.account = response.account
        state.orders.insert(purchase.orderID)
        tally.added(.purchases)
        tally.added(.points, response.points + response.bonusPoints)
        return true
    }

    /// The refunds, the review bonus and the redemption: things that happen now.
    func settle(_ customer: DemoCustomer, _ state: inout DemoAccount) async throws {
        for refund in customer.refunds where state.orders.contains(refund.orderID) {
            if state.has(.refund, describedWith: "refund \(refund.refundID) of order") {
                tally.existing(.refunds)
                continue
            }
            var request = Cx_Loyalty_V1_ReversePurchaseRequest()
            request.customerID = customer.id
            request.orderID = refund.orderID
            request.refundID = refund.refundID
            if let minorUnits = refund.minorUnits {
                request.amount = .with {
                    $0.minorUnits = minorUnits
                    $0.currency = Self.currency
                }
            }
            let response = try await services.call(
                .loyalty, Cx_Loyalty_V1_Loyalty.reversePurchase, request, "refunding \(customer.id)'s order \(refund.orderID)",
                accepting: { $0.reason == "ORDER_FULLY_REFUNDED" })
            if let response {
                state.account = response.account
                tally.added(.refunds)
            } else {
                tally.existing(.refunds)
            }
        }

        if let review = customer.review {
            if state.has(.bonus, describedWith: review.note) {
                tally.existing(.bonuses)
            } else {
                var request = Cx_Loyalty_V1_AwardBonusRequest()
                request.customerID = customer.id
                request.reason = .review
                request.idempotencyKey = review.key
                request.note = review.note
                let response = try await services.call(
                    .loyalty, Cx_Loyalty_V1_Loyalty.awardBonus, request, "giving \(customer.id) the review bonus",
                    accepting: { $0.reason == "BONUS_NOT_OFFERED" })
                if let response {
                    state.account = response.account
                    tally.added(.bonuses)
                    tally.added(.points, response.points)
                }
            }
        }

        guard customer.redeems else { return }
        if Self.rewards.contains(where: { state.has(.redemption, describedWith: "(\($0.id))") }) {
            tally.existing(.redemptions)
            return
        }
        guard state.enrolledNow else { return }
        // The dearest reward the customer can have now.
        let rank = { (tier: String) in tiers.firstIndex(of: tier) ?? 0 }
        guard let reward = Self.rewards.reversed().first(where: {
            $0.cost <= state.account.spendablePoints && ($0.minTier.isEmpty || rank(state.account.tier) >= rank($0.minTier))
        })
        else { return }
        var request = Cx_Loyalty_V1_RedeemRequest()
        request.customerID = customer.id
        request.rewardID = reward.id
        request.idempotencyKey = DemoPlan.key(seed: seed, index: customer.index, "redeem")
        let refusals: Set<String> = ["INSUFFICIENT_POINTS", "OUT_OF_STOCK", "TIER_TOO_LOW", "REWARD_RETIRED"]
        let response = try await services.call(
            .loyalty, Cx_Loyalty_V1_Loyalty.redeem, request, "redeeming \(reward.id) for \(customer.id)",
            accepting: { refusals.contains($0.reason) })
        if let response {
            state.account = response.account
            tally.added(.redemptions)
        }
    }
}
