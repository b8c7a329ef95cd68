import CXModel
import Foundation
import SwiftProtobuf

/// A deterministic stream of random numbers (SplitMix64), seeded by the
/// demo's --seed and a path (a customer's index, what the numbers are for),
/// so that the same seed always makes the same business and one customer's
/// data never depends on how many others there are.
struct DemoRandom {
    private var random: SplitMix64

    init(_ seed: Int, _ path: Int...) {
        var state = SplitMix64.mix(0x243F_6A88_85A3_08D3 ^ UInt64(truncatingIfNeeded: seed))
        for part in path { state = SplitMix64.mix(state ^ (UInt64(truncatingIfNeeded: part) &* 0x9E37_79B9_7F4A_7C15)) }
        random = SplitMix64(seed: state)
    }

    mutating func next() -> UInt64 { random.next() }

    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.count))
    }

    mutating func int64(_ range: ClosedRange<Int64>) -> Int64 {
        range.lowerBound + Int64(next() % UInt64(range.upperBound - range.lowerBound + 1))
    }

    /// In [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) / Double(UInt64(1) << 53) }

    mutating func chance(_ probability: Double) -> Bool { unit() < probability }

    mutating func pick<T>(_ items: [T]) -> T { items[int(0...(items.count - 1))] }

    mutating func weighted<T>(_ items: [T], _ weight: (T) -> Int) -> T {
        var left = int(0...(items.map(weight).reduce(0, +) - 1))
        for item in items {
            left -= weight(item)
            if left < 0 { return item }
        }
        return items[items.count - 1]
    }
}

/// One journey event the demo records itself. `at` is seconds from the
/// anchor's UTC midnight (negative: days before).
struct DemoEvent: Sendable {
    var key: String
    var type: String
    var touchpoint: String
    var at: Int64
    var attributes: [String: String] = [:]
}

struct DemoPurchase: Sendable {
    var orderID: String
    var minorUnits: Int64
    var channel: Cx_Loyalty_V1_SalesChannel
    var at: Int64
    var product: String
}

struct DemoRefund: Sendable {
    var orderID: String
    var refundID: String
    /// nil: all that is left of the order.
    var minorUnits: Int64?
}

struct DemoSurveyAnswer: Sendable {
    var surveyID: String
    var answers: [Cx_Feedback_V1_Answer]
    var channel: Cx_Feedback_V1_Channel
    var key: String
}

struct DemoComplaint: Sendable {
    var text: DemoData.ComplaintText
    /// How far it has been worked: 0 open ... 5 reopened and in progress again.
    var path: Int
    var key: String
}

/// One customer of the demo: who they are, and everything they do.
struct DemoCustomer: Sendable {
    var index: Int
    var id: String
    var persian: Bool
    var profile: Cx_Profiles_V1_Customer
    /// Buyers join the loyalty club; the others only browsed.
    var buyer: Bool
    /// The events before the first purchase and the visit at which they
    /// joined the club: journey must hold these before loyalty says anything.
    var opening: [DemoEvent] = []
    /// The rest, in time order.
    var events: [DemoEvent] = []
    var purchases: [DemoPurchase] = []
    var refunds: [DemoRefund] = []
    /// The review bonus's key and note (the review itself is an event).
    var review: (key: String, note: String)?
    var redeems = false
    var referrerID: String?
    var survey: DemoSurveyAnswer?
    var complaint: DemoComplaint?

    var eventCount: Int { opening.count + events.count }
}

/// Makes the demo's customers from --seed: profiles first (they need no
/// clock), then everything they did over the ~120 days before the anchor.
enum DemoPlan {
    static let days = 118
    static let surveyNPS = "narenj-nps"
    static let surveyCSAT = "narenj-delivery-csat"

    static func customerID(seed: Int, index: Int) -> String { "c-\(seed)-\(padded(index + 1))" }

    static func padded(_ number: Int) -> String {
        let text = String(number)
        return String(repeating: "0", count: max(0, 5 - text.count)) + text
    }

    /// FNV-1a 64 of `text`: the same in every run and on every machine.
    static func hash(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }

    /// The key prefix of everything one customer's run writes.
    static func key(seed: Int, index: Int, _ what: String) -> String { "demo-\(seed)-\(padded(index + 1))-\(what)" }

    // MARK: - Profiles

    static func profile(seed: Int, index: Int) -> (customer: Cx_Profiles_V1_Customer, persian: Bool) {
        var random = DemoRandom(seed, index, 1)
        let persian = random.chance(0.6)
        let female = random.chance(0.5)
        let first = persian
            ? random.pick(female ? DemoData.persianWomen : DemoData.persianMen)
            : random.pick(female ? DemoData.englishWomen : DemoData.englishMen)
        let family = random.pick(persian ? DemoData.persianFamilies : DemoData.englishFamilies)
        var customer = Cx_Profiles_V1_Customer()
        customer.id = customerID(seed: seed, index: index)
        customer.name = "\(first.text) \(family.text)"
        customer.gender = random.chance(0.04) ? .undisclosed : female ? .female : .male
        let year = random.int(1965...2005)
        if random.chance(0.8) {
            customer.birthDate = .with {
                $0.year = Int32(year)
                $0.month = Int32(random.int(1...12))
                $0.day = Int32(random.int(1...28))
            }
        }
        if random.chance(0.92) {
            let handle: String
            switch random.int(0...3) {
            case 0: handle = "\(first.latin).\(family.latin)"
            case 1: handle = "\(first.latin)\(family.latin)\(random.int(10...99))"
            case 2: handle = "\(first.latin.prefix(1)).\(family.latin)"
            default: handle = "\(first.latin)_\(family.latin)\(padded(year % 100).suffix(2))"
            }
            customer.email = "\(handle)@\(random.pick(DemoData.emailDomains))"
        }
        let place = random.weighted(persian ? DemoData.persianPlaces : DemoData.englishPlaces) { $0.weight }
        if random.chance(0.85) {
            let digits = (0..<place.phoneDigits).map { _ in String(random.int(0...9)) }.joined()
            customer.phone = random.pick(place.phonePrefixes) + digits
        }
        customer.city = place.city
        customer.region = place.region
        customer.country = place.country
        if random.chance(0.7) { customer.occupation = random.pick(persian ? DemoData.persianOccupations : DemoData.englishOccupations) }
        if random.chance(0.6) { customer.education = random.pick(DemoData.educations) }
        var channels: [Cx_Profiles_V1_Channel] = []
        let offered: [Cx_Profiles_V1_Channel] = persian ? [.sms, .messenger, .app, .email, .phone, .store] : [.email, .app, .sms, .messenger, .web]
        for _ in 0..<random.int(1...3) {
            let channel = random.pick(offered)
            if !channels.contains(channel) { channels.append(channel) }
        }
        customer.preferredChannels = channels
        if random.chance(0.85) {
            customer.marketingConsent = .with {
                $0.given = random.chance(0.7)
                $0.method = random.pick(["web-form", "store", "app"])
            }
        }
        var attributes: [String: String] = [
            "shopping": random.pick(DemoData.shoppingHabits),
            "price_sensitivity": random.pick(DemoData.priceSensitivities),
            "household": random.pick(DemoData.households),
            "goals": random.pick(persian ? DemoData.persianGoals : DemoData.englishGoals),
        ]
        var interests: [String] = []
        for _ in 0..<random.int(1...3) {
            let tag = random.pick(DemoData.interestTags)
            if !interests.contains(tag) { interests.append(tag) }
        }
        attributes["interests"] = interests.joined(separator: ", ")
        if random.chance(0.5) { attributes["needs"] = random.pick(persian ? DemoData.persianNeeds : DemoData.englishNeeds) }
        customer.attributes = attributes
        return (customer, persian)
    }

    // MARK: - What they did

    /// Every customer, with what they did up to `limit` (seconds after the
    /// anchor's UTC midnight; nothing is later).
    static func customers(seed: Int, count: Int, limit: Int64) -> [DemoCustomer] {
        var customers = (0..<count).map { activity(seed: seed, index: $0, limit: limit) }
        // Referrals: a recent buyer brought in by an older one. The referee's
        // first purchase must come after the referral, so referees run after
        // everyone else (DemoActivity), and a referee never refers.
        var referrers: [String] = []
        for index in customers.indices where customers[index].buyer {
            guard let first = customers[index].purchases.first else { continue }
            var random = DemoRandom(seed, index, 4)
            if random.chance(0.12), first.at > -30 * 86_400, !referrers.isEmpty {
                customers[index].referrerID = random.pick(referrers)
            } else if first.at < -45 * 86_400 {
                referrers.append(customers[index].id)
            }
        }
        return customers
    }

    /// 08:00 to 22:00 in Tehran (UTC+03:30), in seconds after UTC midnight.
    private static func daytime(_ random: inout DemoRandom) -> Int64 {
        Int64(random.int(16_200...66_600))
    }

    static func activity(seed: Int, index: Int, limit: Int64) -> DemoCustomer {
        let (profile, persian) = self.profile(seed: seed, index: index)
        var random = DemoRandom(seed, index, 2)
        var customer = DemoCustomer(
            index: index, id: customerID(seed: seed, index: index), persian: persian, profile: profile, buyer: !random.chance(0.12))
        let key = { (what: String) in self.key(seed: seed, index: index, what) }
        let browsingPlaces = ["website", "website", "app", "instagram", "store"]
        let pages = ["home", "beans", "machines", "cafe-menu", "gift-boxes", "brewing-guides"]
        func visit(_ label: String, at: Int64) -> DemoEvent {
            if random.chance(0.2) {
                return DemoEvent(
                    key: key(label), type: "inquiry", touchpoint: random.pick(["phone", "instagram", "email"]), at: at,
                    attributes: ["topic": random.pick(["opening-hours", "beans", "machines", "delivery", "classes"])])
            }
            return DemoEvent(
                key: key(label), type: "visit", touchpoint: random.pick(browsingPlaces), at: at, attributes: ["page": random.pick(pages)])
        }

        guard customer.buyer else {
            // Browsed, asked, never bought: those quiet for two months are lost.
            let firstDay = Int64(random.int(1...days))
            var day = firstDay
            for number in 1...random.int(1...4) {
                let at = -day * 86_400 + daytime(&random)
                if at <= limit { customer.opening.append(visit("visit\(number)", at: at)) }
                day = max(0, day - Int64(random.int(0...14)))
            }
            customer.opening.sort { $0.at < $1.at }
            return customer
        }

        // Purchases: the first 1 to 118 days ago, then one every 3 to 28 days.
        let purchaseWeights = [30, 22, 16, 11, 8, 6, 4, 3]
        let planned = random.weighted(Array(purchaseWeights.indices)) { purchaseWeights[$0] } + 1
        var day = Int64(random.int(1...days))
        for number in 1...planned {
            let product = random.weighted(DemoData.products) { $0.weight }
            let channel: Cx_Loyalty_V1_SalesChannel =
                product.inCafe
                ? .store
                : random.weighted([(Cx_Loyalty_V1_SalesChannel.web, 40), (.app, 30), (.store, 15), (.phone, 8), (.social, 7)]) { $0.1 }.0
            let rials = random.int64(product.minRials / 10_000...product.maxRials / 10_000) * 10_000
            let at = -day * 86_400 + daytime(&random)
            if at <= limit {
                customer.purchases.append(
                    DemoPurchase(
                        orderID: "o-\(seed)-\(padded(index + 1))-\(number)", minorUnits: rials * 100, channel: channel, at: at,
                        product: product.id))
            }
            day -= Int64(random.int(3...28))
            if day < 0 { break }
        }
        guard let first = customer.purchases.first else {
            customer.buyer = false
            return customer
        }

        // Before the first purchase: a visit or three, and the recent visit
        // at which they joined the club (it keeps them from looking lost
        // while loyalty's events are on their way to journey).
        for number in 1...random.int(1...3) {
            let at = min(first.at - Int64(random.int(600...7_200)), first.at - Int64(random.int(0...10)) * 86_400 - Int64(random.int(0...20_000)))
            customer.opening.append(visit("visit\(number)", at: at))
        }
        customer.opening.append(
            DemoEvent(
                key: key("signup"), type: "visit", touchpoint: random.pick(["app", "website"]),
                at: limit - Int64(random.int(600...(5 * 86_400))), attributes: ["page": "loyalty-club"]))
        customer.opening.sort { $0.at < $1.at }

        // After it: the confirmation, delivery or first use, onboarding,
        // a goal reached, browsing, a review.
        var after: [DemoEvent] = []
        for (number, purchase) in customer.purchases.enumerated() {
            if number == 0 {
                after.append(
                    DemoEvent(
                        key: key("confirmation"), type: "purchase_confirmation", touchpoint: "email", at: purchase.at + Int64(random.int(120...1_200)),
                        attributes: ["order_id": purchase.orderID, "product": purchase.product]))
            }
            if purchase.channel != .store {
                after.append(
                    DemoEvent(
                        key: key("delivery\(number + 1)"), type: "delivery", touchpoint: "logistics",
                        at: purchase.at + Int64(random.int(129_600...432_000)), attributes: ["order_id": purchase.orderID]))
            } else if number == 0 {
                after.append(
                    DemoEvent(
                        key: key("first-use"), type: "first_use", touchpoint: purchase.product == "barista-class" ? "barista-class" : "product",
                        at: purchase.at + Int64(random.int(14_400...259_200)), attributes: ["product": purchase.product]))
            }
        }
        if random.chance(0.65) {
            after.append(
                DemoEvent(
                    key: key("onboarding"), type: "onboarding_done", touchpoint: random.pick(["app", "email"]),
                    at: first.at + Int64(random.int(6...20)) * 86_400 + Int64(random.int(0...40_000)), attributes: ["step": "brewing-guide"]))
            if random.chance(0.35) {
                let classes = customer.purchases.contains { $0.product == "barista-class" }
                after.append(
                    DemoEvent(
                        key: key("goal"), type: "goal_reached", touchpoint: classes ? "barista-class" : "product",
                        at: first.at + Int64(random.int(25...60)) * 86_400 + Int64(random.int(0...40_000)),
                        attributes: ["goal": classes ? "latte-art" : "daily-brew"]))
            }
        }
        for number in 0..<random.int(0...3) {
            let at = first.at + Int64(random.unit() * Double(limit - first.at))
            after.append(
                DemoEvent(
                    key: key("browse\(number + 1)"), type: "visit", touchpoint: random.pick(["website", "app", "instagram"]), at: at,
                    attributes: ["page": random.pick(pages)]))
        }
        if customer.purchases.count >= 2, random.chance(0.3) {
            let reviewed = customer.purchases[1]
            let at = reviewed.at + Int64(random.int(2...12)) * 86_400
            if at <= limit {
                after.append(
                    DemoEvent(
                        key: key("review"), type: "review", touchpoint: random.pick(["website", "instagram"]), at: at,
                        attributes: ["order_id": reviewed.orderID, "rating": random.chance(0.7) ? "5" : "4"]))
                customer.review = (key("review-bonus"), "review of order \(reviewed.orderID)")
            }
        }
        customer.events = after.filter { $0.at <= limit }.sorted { $0.at < $1.at }

        for (number, purchase) in customer.purchases.enumerated() where purchase.product != "espresso-bar" && random.chance(0.07) {
            let half = purchase.minorUnits / 2 / 100 * 100
            customer.refunds.append(
                DemoRefund(
                    orderID: purchase.orderID, refundID: "rf-\(seed)-\(padded(index + 1))-\(number + 1)",
                    minorUnits: random.chance(0.5) && half > 0 ? half : nil))
        }
        customer.redeems = random.chance(0.14)

        var asked = DemoRandom(seed, index, 3)
        if asked.chance(0.85) {
            let delivered = customer.events.contains { $0.type == "delivery" }
            customer.survey =
                delivered && asked.chance(0.35)
                ? csat(&asked, customer: customer, key: key("response")) : nps(&asked, customer: customer, key: key("response"))
        }
        if index % 40 == 3 {
            customer.complaint = DemoComplaint(
                text: DemoData.complaints[(index / 40) % DemoData.complaints.count], path: (index / 40) % 6, key: key("complaint"))
        }
        return customer
    }

    private static func nps(_ random: inout DemoRandom, customer: DemoCustomer, key: String) -> DemoSurveyAnswer {
        let unhappy = !customer.refunds.isEmpty
        let roll = random.unit()
        let detractor = roll < (unhappy ? 0.5 : 0.17)
        let passive = !detractor && roll < (unhappy ? 0.75 : 0.42)
        let score = detractor ? random.weighted([0, 1, 2, 3, 4, 5, 6]) { $0 < 3 ? 1 : 3 } : passive ? random.int(7...8) : random.int(9...10)
        var answers: [Cx_Feedback_V1_Answer] = [
            .with {
                $0.questionID = "nps"
                $0.score = Int32(score)
            }
        ]
        if random.chance(0.75) {
            let texts =
                customer.persian
                ? (detractor ? DemoData.persianDetractor : passive ? DemoData.persianPassive : DemoData.persianPromoter)
                : (detractor ? DemoData.englishDetractor : passive ? DemoData.englishPassive : DemoData.englishPromoter)
            let text = random.pick(texts)
            answers.append(
                .with {
                    $0.questionID = "why"
                    $0.text = text
                })
        }
        if random.chance(0.6) {
            var choices: [String] = []
            for _ in 0..<random.int(1...2) {
                let choice = random.pick(DemoData.valueOptions)
                if !choices.contains(choice) { choices.append(choice) }
            }
            answers.append(
                .with {
                    $0.questionID = "value"
                    $0.choices = choices
                })
        }
        return DemoSurveyAnswer(surveyID: surveyNPS, answers: answers, channel: random.pick([.email, .sms, .app, .web, .inStore]), key: key)
    }

    private static func csat(_ random: inout DemoRandom, customer: DemoCustomer, key: String) -> DemoSurveyAnswer {
        let score = random.weighted([5, 4, 3, 2, 1]) { [5: 40, 4: 30, 3: 15, 2: 10, 1: 5][$0] ?? 1 }
        var answers: [Cx_Feedback_V1_Answer] = [
            .with {
                $0.questionID = "csat"
                $0.score = Int32(score)
            }
        ]
        if random.chance(0.7) {
            let effort = score >= 4 ? random.int(1...3) : random.int(3...7)
            answers.append(
                .with {
                    $0.questionID = "effort"
                    $0.score = Int32(effort)
                })
        }
        if random.chance(0.6) {
            let texts = customer.persian ? DemoData.persianDelivery : DemoData.englishDelivery
            let text = score >= 4 ? texts[random.int(0...2)] : texts[random.int(3...4)]
            answers.append(
                .with {
                    $0.questionID = "comment"
                    $0.text = text
                })
        }
        return DemoSurveyAnswer(surveyID: surveyCSAT, answers: answers, channel: random.pick([.sms, .app, .email]), key: key)
    }
}
