import CXModel
import CXStore
import CXWire
import Foundation
import GRDB
import SwiftProtobuf

extension ProfilesService {
    static let traitPaths = [
        "tier", "journey_stage", "lifetime_spend", "purchase_count", "last_purchase_at", "last_nps", "surveys_answered",
    ]
    static let knownSources: Set<String> = ["loyalty", "journey", "feedback", "profiles"]
    /// Seconds a peer's `occurred_at` may be ahead of this server's clock (and is taken as now).
    static let maxClockAhead: TimeInterval = 3_600

    /// Other services push the traits they own. Deduplicated by (source,
    /// event_id); a trait is only overwritten by a value at least as recent
    /// as the one it holds, so a late event never undoes a newer one.
    func updateTraits(_ request: Cx_Profiles_V1_UpdateTraitsRequest, _ context: ServerContext) async throws
        -> Cx_Profiles_V1_UpdateTraitsResponse
    {
        let id = request.customerID
        try CustomerValidation.validateID(id, field: "customer_id")
        guard !request.eventID.isEmpty, request.eventID.count <= 128 else {
            throw RPCError.invalidArgument(field: "event_id", "must be 1 to 128 characters")
        }
        let metadataKey = context.metadata["idempotency-key"] ?? ""
        if !metadataKey.isEmpty, metadataKey != request.eventID {
            throw RPCError(
                code: .invalidArgument, message: "event_id \"\(request.eventID)\" differs from the idempotency-key metadata \"\(metadataKey)\"",
                reason: "IDEMPOTENCY_KEY_MISMATCH")
        }
        guard Self.knownSources.contains(request.source) else {
            throw RPCError.invalidArgument(
                field: "source", "\"\(request.source)\" is not a CX service; one of \(Self.knownSources.sorted().joined(separator: ", "))")
        }
        guard request.hasOccurredAt else { throw RPCError.invalidArgument(field: "occurred_at", "is required") }
        guard !request.updateMask.isEmpty else {
            throw RPCError.invalidArgument(field: "update_mask", "must name at least one trait, e.g. \"tier\"")
        }
        var seen = Set<String>()
        for (index, path) in request.updateMask.enumerated() {
            guard Self.traitPaths.contains(path) else {
                throw RPCError.invalidArgument(
                    field: "update_mask[\(index)]", "\"\(path)\" is not a trait; one of \(Self.traitPaths.joined(separator: ", "))")
            }
            guard seen.insert(path).inserted else { throw RPCError.invalidArgument(field: "update_mask[\(index)]", "\"\(path)\" is named twice") }
        }
        try CustomerValidation.validateTraits(request.traits, prefix: "traits")
        let now = clock()
        // A peer's clock a little ahead is clamped to ours; one far ahead is a
        // mistake (or a forgery), and a trait time in the future would make
        // every true update after it look stale until then.
        let occurred: TimeInterval
        let ahead = request.occurredAt.date.timeIntervalSince1970 - now.timeIntervalSince1970
        guard ahead <= Self.maxClockAhead else {
            throw RPCError(
                code: .invalidArgument,
                message: "occurred_at: \(Int(ahead)) s ahead of this server's clock; at most \(Int(Self.maxClockAhead)) s is taken (as now)",
                fieldViolations: [.init(field: "occurred_at", description: "in the future")],
                reason: "OCCURRED_IN_FUTURE")
        }
        occurred = min(request.occurredAt.date.timeIntervalSince1970, now.timeIntervalSince1970)
        let segments = self.segments
        let cache = self.cache
        return try await store.write { db in
            try Idempotency.run(db, scope: "profiles.UpdateTraits/\(request.source)", key: request.eventID, request: request) {
                var response = Cx_Profiles_V1_UpdateTraitsResponse()
                let current: Cx_Profiles_V1_Customer
                switch try ProfilesDatabase.customer(db, id: id) {
                case nil:
                    response.outcome = .customerUnknown
                    return response
                case .erased:
                    response.outcome = .customerErased
                    return response
                case .live(let customer):
                    current = customer
                }
                var updated = current
                var applied: [String] = []
                let clockRead = try db.cachedStatement(sql: "SELECT occurred_at FROM trait_clock WHERE customer_id = ? AND path = ?")
                let clockWrite = try db.cachedStatement(
                    sql: "INSERT OR REPLACE INTO trait_clock (customer_id, path, occurred_at) VALUES (?, ?, ?)")
                for path in request.updateMask {
                    if let held = try clockRead.first(.text(id), .text(path), read: { row in row[0] as Double }), held > occurred {
                        response.stalePaths.append(path)
                        continue
                    }
                    try clockWrite.run(.text(id), .text(path), .real(occurred))
                    Self.setTrait(path, from: request.traits, to: &updated.traits)
                    applied.append(path)
                    if path == "lifetime_spend" {
                        try db.cachedStatement(sql: "INSERT OR REPLACE INTO spend_point (customer_id, at, lifetime) VALUES (?, ?, ?)")
                            .run(.text(id), .real(occurred), .integer(request.traits.lifetimeSpend.minorUnits))
                    }
                }
                guard !applied.isEmpty else {
                    response.outcome = .stale
                    response.version = current.version
                    return response
                }
                if updated.traits == Cx_Profiles_V1_Traits() { updated.clearTraits() }
                if updated != current {
                    updated.version = current.version + 1
                    updated.updatedAt = Google_Protobuf_Timestamp(date: now)
                    try ProfilesDatabase.save(db, updated, isNew: false, cache: cache)
                    var changed = Set(applied.map { "traits.\($0)" })
                    changed.insert("updated_at")
                    try SegmentMembership.refresh(db, customer: updated, segments: segments.segments(db), changedFields: changed, now: now)
                }
                response.outcome = .applied
                response.version = updated.version
                return response
            }
        }
    }

    static func setTrait(_ path: String, from source: Cx_Profiles_V1_Traits, to traits: inout Cx_Profiles_V1_Traits) {
        switch path {
        case "tier": traits.tier = source.tier
        case "journey_stage": traits.journeyStage = source.journeyStage
        case "lifetime_spend":
            if source.hasLifetimeSpend { traits.lifetimeSpend = source.lifetimeSpend } else { traits.clearLifetimeSpend() }
        case "purchase_count": traits.purchaseCount = source.purchaseCount
        case "last_purchase_at":
            if source.hasLastPurchaseAt { traits.lastPurchaseAt = source.lastPurchaseAt } else { traits.clearLastPurchaseAt() }
        case "last_nps":
            if source.hasLastNps { traits.lastNps = source.lastNps } else { traits.clearLastNps() }
        case "surveys_answered": traits.surveysAnswered = source.surveysAnswered
        default: break
        }
    }
}
