import Foundation

/// What value analysis needs to know about one customer.
///
/// Spend is in minor units of one currency: a population that mixes currencies must be
/// converted (or analysed per currency) first, since 100 of one is not 100 of another.
public struct RFMInput: Sendable, Equatable {
    public var id: String
    /// The last purchase, nil when the customer has never bought.
    public var lastPurchase: Date?
    public var purchaseCount: Int
    /// Lifetime spend in minor units (net of refunds, so it may be negative).
    public var lifetimeSpend: Int64

    public init(id: String, lastPurchase: Date?, purchaseCount: Int, lifetimeSpend: Int64) {
        self.id = id
        self.lastPurchase = lastPurchase
        self.purchaseCount = purchaseCount
        self.lifetimeSpend = lifetimeSpend
    }

    /// Whether the customer counts as a buyer: a last purchase and at least one purchase.
    /// A record with only one of the two is inconsistent and is treated as no purchase,
    /// the cautious reading. (proto-spec's RfmScore is all 0 for a customer who is not a
    /// buyer; this says when to send that instead of `RFMScore.lowest`.)
    public var hasPurchased: Bool { lastPurchase != nil && purchaseCount > 0 }
}

/// Recency, frequency and monetary scores, each 1–5, 5 best (bought most recently, most
/// often, spent most).
public struct RFMScore: Sendable, Equatable {
    public var recency: Int
    public var frequency: Int
    public var monetary: Int

    public init(recency: Int, frequency: Int, monetary: Int) {
        self.recency = recency
        self.frequency = frequency
        self.monetary = monetary
    }

    /// The score of a customer who has never bought.
    public static let lowest = RFMScore(recency: 1, frequency: 1, monetary: 1)

    /// The three scores added up, 3–15: the single number trends are judged by.
    public var total: Int { recency + frequency + monetary }
}

/// The cut points that split a population of buyers into quintiles on each dimension.
///
/// Computing them sorts the population (O(n log n)); scoring one customer against them is
/// four comparisons per dimension. So the service recomputes them now and then and scores
/// single customers on the hot path against the latest ones.
///
/// The rule they encode: sort the buyers by a dimension, worst first; a customer at 0-based
/// position p of n scores 1 + ⌊5p/n⌋, where p is the position of the first customer with an
/// equal value, so equal values score the same. Cut point k (1...4) is the value at position
/// ⌈kn/5⌉ − 1, and a value strictly better than k cut points scores k + 1: for the
/// population itself this gives exactly the positional rule.
///
/// Customers who never bought are left out of the population (they all score 1s): were they
/// in it, a shop where most sign-ups never buy would rank every buyer in the top quintile.
/// A population of one scores that customer 1s by the rule; an empty population has no cut
/// points, and every buyer scored against it gets 1s.
public struct RFMQuintiles: Sendable, Equatable {
    /// Seconds since the last purchase, largest (worst) first: an age below k of them scores
    /// k + 1. Ages rather than dates, so cut points computed yesterday still mean "bought in
    /// the last N days" when scoring today.
    public let recencyAgeCuts: [TimeInterval]
    /// Purchase counts, smallest first: a count above k of them scores k + 1.
    public let frequencyCuts: [Int]
    /// Lifetime spends in minor units, smallest first: a spend above k of them scores k + 1.
    public let monetaryCuts: [Int64]
    /// How many buyers the cut points were computed from.
    public let populationCount: Int

    /// The cut points of the buyers in `customers`, with recency measured at `now`.
    public init(_ customers: [RFMInput], now: Date) {
        var ages: [TimeInterval] = []
        var counts: [Int] = []
        var spends: [Int64] = []
        for customer in customers where customer.hasPurchased {
            ages.append(Self.age(of: customer, now: now))
            counts.append(customer.purchaseCount)
            spends.append(customer.lifetimeSpend)
        }
        recencyAgeCuts = Self.cuts(worstFirst: ages.sorted(by: >))
        frequencyCuts = Self.cuts(worstFirst: counts.sorted())
        monetaryCuts = Self.cuts(worstFirst: spends.sorted())
        populationCount = ages.count
    }

    /// The score of `customer` against these cut points, with recency measured at `now`.
    public func score(for customer: RFMInput, now: Date) -> RFMScore {
        guard customer.hasPurchased else { return .lowest }
        let age = Self.age(of: customer, now: now)
        return RFMScore(
            recency: 1 + recencyAgeCuts.count { age < $0 },
            frequency: 1 + frequencyCuts.count { customer.purchaseCount > $0 },
            monetary: 1 + monetaryCuts.count { customer.lifetimeSpend > $0 }
        )
    }

    /// Seconds from the last purchase to `now`; a purchase dated after `now` (a clock ahead)
    /// counts as just now.
    private static func age(of customer: RFMInput, now: Date) -> TimeInterval {
        guard let last = customer.lastPurchase else { return .infinity }
        return max(0, now.timeIntervalSince(last))
    }

    /// The four cut points of values sorted worst first.
    private static func cuts<Value>(worstFirst sorted: [Value]) -> [Value] {
        let n = sorted.count
        guard n > 0 else { return [] }
        return (1...4).map { k in sorted[(k * n + 4) / 5 - 1] }  // position ⌈kn/5⌉ − 1
    }
}

/// How a customer's value is moving between two scorings.
public enum ValueTrend: String, Sendable, Equatable, CaseIterable {
    /// Worth more than before: a customer with potential, worth nurturing.
    case rising
    case steady
    /// Worth less than before: a customer at risk, worth winning back before they are lost.
    case falling
}

/// How much of the revenue the top customers bring (the 80/20 rule checked on real data).
public struct ParetoReport: Sendable, Equatable {
    /// Customers who spent more than zero: the population the report ranks.
    public var customerCount: Int
    /// How many customers the top group has: ⌈customerCount × topPercent / 100⌉.
    public var topCount: Int
    /// The top group's spend, in minor units (saturated at `Int64.max`, see `isSaturated`).
    public var topSpend: Int64
    /// Everyone's spend, in minor units (saturated at `Int64.max`, see `isSaturated`).
    public var totalSpend: Int64
    /// The top group's share of the total, 0...1; 0 when nobody spent anything.
    public var topShare: Double
    /// Whether a sum was too large for Int64 and `topSpend` or `totalSpend` shows `Int64.max`
    /// instead. `topShare` is computed from the exact sums even then.
    public var isSaturated: Bool

    public init(
        customerCount: Int, topCount: Int, topSpend: Int64, totalSpend: Int64, topShare: Double,
        isSaturated: Bool = false
    ) {
        self.customerCount = customerCount
        self.topCount = topCount
        self.topSpend = topSpend
        self.totalSpend = totalSpend
        self.topShare = topShare
        self.isSaturated = isSaturated
    }
}

/// Customer value analysis: who is profitable now (RFM scores, the Pareto split), and whose
/// value is rising or falling.
public enum RFM {
    /// The change in `RFMScore.total` that counts as a trend. One step on one dimension is
    /// often noise (a customer near a cut point crosses it with one order); two steps is a
    /// real move, on one dimension or across several.
    public static let trendThreshold = 2

    /// Every customer's score by quintiles over the buyers in `customers` (see `RFMQuintiles`
    /// for the rule), keyed by id. O(n log n). When an id appears more than once, every entry
    /// counts in the population and the last one's score is kept.
    public static func score(_ customers: [RFMInput], now: Date) -> [String: RFMScore] {
        let quintiles = RFMQuintiles(customers, now: now)
        var scores: [String: RFMScore] = [:]
        scores.reserveCapacity(customers.count)
        for customer in customers {
            scores[customer.id] = quintiles.score(for: customer, now: now)
        }
        return scores
    }

    /// The cut points of `customers`, to score single customers against later.
    public static func quintiles(_ customers: [RFMInput], now: Date) -> RFMQuintiles {
        RFMQuintiles(customers, now: now)
    }

    /// How much of the total spend the top `topPercent` percent of customers bring.
    ///
    /// The population is the customers who spent more than zero, as in proto-spec's
    /// ParetoReportResponse: counting those who never bought (or got more refunded than they
    /// paid) would make "the top fifth" a fifth of people who are mostly not customers yet,
    /// and would let the share leave 0...1. `topPercent` is clamped to 0...100 (NaN is 0).
    ///
    /// Sums are taken in 128 bits, which cannot overflow for any array that fits in memory;
    /// the Int64 fields saturate at `Int64.max` and say so with `isSaturated`, and `topShare`
    /// comes from the exact sums. O(n log n).
    public static func pareto(spends: [Int64], topPercent: Double) -> ParetoReport {
        let sorted = spends.filter { $0 > 0 }.sorted(by: >)
        let n = sorted.count
        let percent = topPercent.isNaN ? 0 : min(max(topPercent, 0), 100)
        // The epsilon keeps a product that should be whole (n × 20 / 100) from rounding up
        // past it because of binary fractions.
        let wanted = (Double(n) * percent / 100 - 1e-9).rounded(.up)
        let topCount = min(n, max(0, Int(wanted)))

        var top: Int128 = 0
        var total: Int128 = 0
        for (index, spend) in sorted.enumerated() {
            total += Int128(spend)
            if index < topCount { top += Int128(spend) }
        }
        let share = total > 0 ? min(1, Double(top) / Double(total)) : 0
        return ParetoReport(
            customerCount: n,
            topCount: topCount,
            topSpend: Int64(clamping: top),
            totalSpend: Int64(clamping: total),
            topShare: share,
            isSaturated: total > Int128(Int64.max)
        )
    }

    /// Which way a customer's spending goes, as proto-spec's `Trend` defines it: spend in the
    /// last window against the window before. `rising` at 20% more or more (or any spend after
    /// none), `falling` at 20% less or more (or none after some), `steady` in between; nil when
    /// there was no spend in either window (not enough history). Amounts in minor units, one
    /// currency; compared in 128 bits, so no amount overflows.
    public static func spendTrend(previous: Int64, recent: Int64) -> ValueTrend? {
        let previous = Int128(max(previous, 0))
        let recent = Int128(max(recent, 0))
        switch (previous, recent) {
        case (0, 0): return nil
        case (0, _): return .rising
        case (_, 0): return .falling
        default:
            if recent * 5 >= previous * 6 { return .rising }  // recent ≥ 1.2 × previous
            if recent * 5 <= previous * 4 { return .falling }  // recent ≤ 0.8 × previous
            return .steady
        }
    }

    /// Whether a customer's value rose, held or fell between two scorings: `rising` when
    /// `current.total` is at least `trendThreshold` above `previous.total`, `falling` when at
    /// least that much below, `steady` otherwise and when there is no previous score (a new
    /// customer has no trend yet). This is the score-based view; the `Trend` that proto-spec
    /// sends is spend-based, see `spendTrend`.
    public static func trend(previous: RFMScore?, current: RFMScore) -> ValueTrend {
        guard let previous else { return .steady }
        let change = current.total - previous.total
        if change >= trendThreshold { return .rising }
        if change <= -trendThreshold { return .falling }
        return .steady
    }
}
