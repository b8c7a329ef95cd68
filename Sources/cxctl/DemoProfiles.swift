import CXModel
import CXWire
import Foundation
import SwiftProtobuf
import Synchronization

/// The demo's time: every event is placed relative to the anchor, the
/// moment its first customer was created (read back from profiles, so a
/// rerun places everything exactly where the first run did and sends the
/// same requests). Nothing is later than a minute before the anchor.
struct DemoClock: Sendable {
    /// Unix seconds.
    let anchor: Int64

    var midnight: Int64 { anchor - anchor % 86_400 }
    /// The latest time anything happens, in seconds after `midnight`.
    var limit: Int64 { anchor - 60 - midnight }

    func timestamp(_ at: Int64) -> Google_Protobuf_Timestamp {
        Google_Protobuf_Timestamp(seconds: midnight + at, nanos: 0)
    }

    var date: Date { Date(timeIntervalSince1970: TimeInterval(anchor)) }
}

/// profiles: the customers, the segments and the personas.
extension DemoRun {
    static let importBatch = 500

    /// Imports the customers (an id already taken is a customer of an earlier
    /// run), then reads the anchor back. Returns the anchor and the ids that
    /// belonged to erased customers (left out of everything after).
    func fillProfiles() async throws -> (DemoClock, Set<String>) {
        let rows = (0..<count).map { DemoPlan.profile(seed: seed, index: $0).customer }
        let batches = stride(from: 0, to: rows.count, by: Self.importBatch).map { Array(rows[$0..<min($0 + Self.importBatch, rows.count)]) }
        let tally = self.tally
        progress.begin("profiles: customers", total: rows.count) {
            "\(LoyaltyFormat.points(tally[.customers].added)) created, \(LoyaltyFormat.points(tally[.customers].existing)) there already"
        }
        let erased = ErasedIDs()
        try await demoForEach(batches, parallel: 2) { batch in
            var request = Cx_Profiles_V1_ImportCustomersRequest()
            request.customers = batch
            let response = try await services.call(
                .profiles, Cx_Profiles_V1_Customers.importCustomers, request, "importing customers \(batch[0].id) to \(batch[batch.count - 1].id)")
            for result in response.results {
                let id = batch[Int(result.index)].id
                switch result.outcome {
                case .customerID:
                    tally.added(.customers)
                case .error(let error) where error.code == .alreadyExists:
                    if error.reason == "CUSTOMER_ERASED" { erased.insert(id) } else { tally.existing(.customers) }
                case .error(let error):
                    throw DemoFailure(
                        description: "importing customer \(id): ImportCustomers on profiles (\(services.link(.profiles).target.address)) "
                            + "refused the row: \(RPCCode(rawValue: error.code.rawValue)?.name ?? "\(error.code)") \(error.field): \(error.message)")
                case nil:
                    throw DemoFailure(description: "importing customer \(id): ImportCustomers on profiles answered nothing for the row")
                }
            }
            progress.step(batch.count)
        }
        progress.end()

        let skipped = erased.all
        guard let first = rows.first(where: { !skipped.contains($0.id) }) else {
            throw DemoFailure(description: "every customer of seed \(seed) was erased from profiles; try another --seed")
        }
        let stored = try await services.call(
            .profiles, Cx_Profiles_V1_Customers.getCustomer, .with { $0.customerID = first.id }, "reading customer \(first.id) back")
        let now = Int64(Date().timeIntervalSince1970)
        // A purchase may be at most 12 months old (loyalty's qualification
        // window): an anchor from long ago is moved up to six months back.
        let created = stored.customer.hasCreatedAt ? stored.customer.createdAt.seconds : now
        let anchor = min(now, max(created, now - 182 * 86_400))
        if !skipped.isEmpty {
            progress.note("profiles: \(skipped.count) customers of this seed were erased; the demo leaves them out")
        }
        return (DemoClock(anchor: anchor), skipped)
    }

    static let segments: [(name: String, rule: String, about: String)] = [
        ("Silver advocates", #"traits.tier == "silver" and traits.journey_stage == "advocacy""#,
         "Silver members who recommend us: invite them to refer a friend."),
        ("Gold and platinum", #"traits.tier in ["gold", "platinum"]"#, "Our best members."),
        ("Promoters", "traits.last_nps >= 9", "Answered 9 or 10 to the NPS question last time."),
        ("Detractors", "traits.last_nps <= 6", "Answered 0 to 6 last time: call them back."),
        ("Big spenders", "traits.lifetime_spend >= 500000000", "More than 5,000,000 rials spent (minor units: rials × 100)."),
        ("Lapsing regulars", "traits.purchase_count >= 2 and traits.last_purchase_at < now - 45d",
         "Bought more than once, but nothing in the last 45 days."),
        ("Lost browsers", #"traits.journey_stage == "lost""#, "Looked around, went quiet."),
        ("Young Tehranis", #"city in ["تهران", "Tehran"] and age < 30"#, "Under 30 in Tehran, for the new café."),
        ("SMS opt-ins", #"preferred_channels contains "sms" and marketing_consent.given == true"#, "Said yes to marketing and like SMS."),
    ]

    static let personas: [(name: String, about: String, criteria: [(String, String, [String], Double)])] = [
        ("Loyal regular · مشتری وفادار", "Comes back every few weeks, silver or better, and would recommend us.", [
            ("traits.purchase_count", ">=", ["4"], 2), ("traits.tier", "in", ["silver", "gold", "platinum"], 1),
            ("traits.last_nps", ">=", ["9"], 1),
        ]),
        ("Young digital · جوان دیجیتال", "Under 30, orders online from the app.", [
            ("age", "<", ["30"], 2), ("attributes.shopping", "==", ["online"], 2), ("preferred_channels", "contains", ["app"], 1),
        ]),
        ("Café regular · مشتری کافه", "Drops into the café for an espresso.", [
            ("attributes.shopping", "in", ["in-store", "both"], 2), ("attributes.interests", "contains", ["espresso"], 1),
            ("city", "in", ["تهران", "Tehran"], 1),
        ]),
        ("Thoughtful gifter · هدیه‌خر", "Buys gift boxes for family and colleagues.", [
            ("attributes.interests", "contains", ["gifts"], 2), ("attributes.household", "==", ["family"], 1),
            ("traits.lifetime_spend", ">=", ["300000000"], 1),
        ]),
    ]

    /// The segments and personas; one named as the demo's is there already
    /// (ALREADY_EXISTS) is left as it is.
    func defineSegmentsAndPersonas() async throws {
        try await demoForEach(Array(Self.segments.indices), parallel: parallel) { index in
            let (name, rule, about) = Self.segments[index]
            var request = Cx_Profiles_V1_DefineSegmentRequest()
            request.segment.name = name
            request.segment.rule = rule
            request.segment.description_p = about + " (cxctl demo)"
            let defined = try await services.call(
                .profiles, Cx_Profiles_V1_Segments.defineSegment, request, "defining segment \"\(name)\"", accepting: \.alreadyExists)
            defined == nil ? tally.existing(.segments) : tally.added(.segments)
        }
        try await demoForEach(Array(Self.personas.indices), parallel: parallel) { index in
            let (name, about, criteria) = Self.personas[index]
            var request = Cx_Profiles_V1_DefinePersonaRequest()
            request.persona.name = name
            request.persona.description_p = about + " (cxctl demo)"
            request.persona.criteria = criteria.map { field, op, values, weight in
                .with {
                    $0.field = field
                    $0.op = op
                    $0.values = values
                    $0.weight = weight
                }
            }
            let defined = try await services.call(
                .profiles, Cx_Profiles_V1_Personas.definePersona, request, "defining persona \"\(name)\"", accepting: \.alreadyExists)
            defined == nil ? tally.existing(.personas) : tally.added(.personas)
        }
    }
}

/// The ids of erased customers an import found.
final class ErasedIDs: Sendable {
    private let ids = Mutex<Set<String>>([])
    func insert(_ id: String) { _ = ids.withLock { $0.insert(id) } }
    var all: Set<String> { ids.withLock { $0 } }
}
