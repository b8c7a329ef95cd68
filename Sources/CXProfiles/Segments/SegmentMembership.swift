import CXModel
import CXStore
import Foundation
import GRDB
import Synchronization

/// A defined segment with its rule compiled.
struct CompiledSegment: Sendable {
    let segment: Cx_Profiles_V1_Segment
    let rule: CompiledRule
    var id: String { segment.id }
}

/// The defined segments, compiled once per change of the segment table.
///
/// Every change to the segments stores a new random generation in
/// `profiles_meta`; an operation reads the generation inside its own
/// transaction and gets the segments as that transaction sees them. A
/// random generation rather than a counter: a rolled-back change must not
/// leave a cached list that a later, different change would seem to match.
final class SegmentCatalog: Sendable {
    private let cache = Mutex<(generation: Data?, segments: [CompiledSegment])>((nil, []))

    func segments(_ db: Database) throws -> [CompiledSegment] {
        let generation = try ProfilesDatabase.meta(db, "segments_generation")
        if let cached = cache.withLock({ $0.generation == generation ? $0.segments : nil }) { return cached }
        let rows = try Row.fetchAll(db, sql: "SELECT id, body FROM segment ORDER BY id")
        var compiled: [CompiledSegment] = []
        for row in rows {
            let id: String = try row.decode(String.self, forColumn: "id")
            let segment = try row.decode(RecordBody.self, forColumn: "body").decode(Cx_Profiles_V1_Segment.self, table: "segment", key: id)
            // A rule that compiled when defined compiles now; if the language
            // ever narrows, the segment keeps its members until redefined.
            guard let rule = try? CompiledRule.compile(segment.rule) else { continue }
            compiled.append(CompiledSegment(segment: segment, rule: rule))
        }
        cache.withLock { $0 = (generation, compiled) }
        return compiled
    }

    static func touch(_ db: Database) throws {
        var generator = SystemRandomNumberGenerator()
        let generation = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        try ProfilesDatabase.setMeta(db, "segments_generation", Data(generation))
    }
}

/// Keeps `segment_member` right as customers change, one customer at a
/// time, and `segment_flip`: when each membership that depends on a
/// relative date (`now - 30d`) or an age (`age >= 18`: the birthday) may
/// flip, so time alone is handled by re-evaluating the due rows, never by a
/// rescan.
enum SegmentMembership {
    /// Re-evaluates `customer` against `segments` (all of them, or only
    /// those reading one of `changedFields`) and stores the differences.
    /// Returns how many memberships changed.
    @discardableResult
    static func refresh(
        _ db: Database, customer: Cx_Profiles_V1_Customer, segments: [CompiledSegment],
        changedFields: Set<String>? = nil, now: Date
    ) throws -> Int {
        let affected = segments.filter { segment in
            guard let changedFields else { return true }
            return !segment.rule.fields.isDisjoint(with: changedFields)
                || (segment.rule.fields.contains(where: { $0.hasPrefix("attributes.") }) && changedFields.contains("attributes"))
        }
        guard !affected.isEmpty else { return 0 }
        let current = Set(try String.fetchAll(
            db.cachedStatement(sql: "SELECT segment_id FROM segment_member WHERE customer_id = ?"), arguments: [customer.id]))
        let subject = CustomerSubject(customer)
        var changes = 0
        for segment in affected {
            let evaluation = segment.rule.evaluate(subject, now: now)
            changes += try store(db, segment: segment, customerID: customer.id, evaluation: evaluation, wasMember: current.contains(segment.id))
        }
        return changes
    }

    /// Stores one evaluation: membership and the flip time. Runs for every
    /// affected segment of every changed customer (50 segments: 50 times in
    /// one UpdateTraits), so its statements bind straight through SQLite's C
    /// API (CXStore's DirectBinding).
    static func store(
        _ db: Database, segment: CompiledSegment, customerID: String, evaluation: RuleEvaluation, wasMember: Bool
    ) throws -> Int {
        var changed = 0
        if evaluation.matches && !wasMember {
            try db.cachedStatement(sql: "INSERT INTO segment_member (segment_id, customer_id) VALUES (?, ?)")
                .run(.text(segment.id), .text(customerID))
            changed = 1
        } else if !evaluation.matches && wasMember {
            try db.cachedStatement(sql: "DELETE FROM segment_member WHERE segment_id = ? AND customer_id = ?")
                .run(.text(segment.id), .text(customerID))
            changed = 1
        }
        if segment.rule.usesRelativeTime {
            if let due = evaluation.nextChange {
                try db.cachedStatement(sql: "INSERT OR REPLACE INTO segment_flip (segment_id, customer_id, due) VALUES (?, ?, ?)")
                    .run(.text(segment.id), .text(customerID), .seconds(due))
            } else {
                try db.cachedStatement(sql: "DELETE FROM segment_flip WHERE segment_id = ? AND customer_id = ?")
                    .run(.text(segment.id), .text(customerID))
            }
        }
        return changed
    }

    /// Evaluates one segment over every live customer (on define or rule
    /// change). Returns the member count.
    static func populate(_ db: Database, segment: CompiledSegment, now: Date) throws -> Int64 {
        try db.execute(sql: "DELETE FROM segment_member WHERE segment_id = ?", arguments: [segment.id])
        try db.execute(sql: "DELETE FROM segment_flip WHERE segment_id = ?", arguments: [segment.id])
        var members: Int64 = 0
        try ProfilesDatabase.forEachLiveCustomer(db) { customer in
            let id = customer.id
            let evaluation = segment.rule.evaluate(CustomerSubject(customer), now: now)
            members += Int64(try store(db, segment: segment, customerID: id, evaluation: evaluation, wasMember: false))
        }
        return members
    }

    /// Re-evaluates memberships whose flip time has come, up to `limit`
    /// rows. Returns how many rows it handled (so a caller loops while it
    /// gets `limit`).
    static func processDue(_ db: Database, segments: [CompiledSegment], now: Date, limit: Int) throws -> Int {
        let due = try Row.fetchAll(
            db, sql: "SELECT segment_id, customer_id FROM segment_flip WHERE due <= ? ORDER BY due LIMIT ?",
            arguments: [now.timeIntervalSince1970, limit])
        guard !due.isEmpty else { return 0 }
        let byID = Dictionary(segments.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var customers: [String: Cx_Profiles_V1_Customer?] = [:]
        for row in due {
            let segmentID: String = try row.decode(String.self, forColumn: "segment_id")
            let customerID: String = try row.decode(String.self, forColumn: "customer_id")
            if customers[customerID] == nil {
                if case .live(let customer) = try ProfilesDatabase.customer(db, id: customerID) {
                    customers[customerID] = customer
                } else {
                    customers[customerID] = .some(nil)
                }
            }
            guard let segment = byID[segmentID], let customer = customers[customerID] ?? nil else {
                try db.execute(sql: "DELETE FROM segment_flip WHERE segment_id = ? AND customer_id = ?", arguments: [segmentID, customerID])
                continue
            }
            let wasMember = try Bool.fetchOne(
                db, sql: "SELECT 1 FROM segment_member WHERE segment_id = ? AND customer_id = ?", arguments: [segmentID, customerID]) ?? false
            let evaluation = segment.rule.evaluate(CustomerSubject(customer), now: now)
            _ = try store(db, segment: segment, customerID: customerID, evaluation: evaluation, wasMember: wasMember)
            if evaluation.nextChange == nil || (evaluation.nextChange ?? now) <= now {
                // Never leave a due row behind that would be picked up again at once.
                try db.execute(sql: "DELETE FROM segment_flip WHERE segment_id = ? AND customer_id = ? AND due <= ?",
                               arguments: [segmentID, customerID, now.timeIntervalSince1970])
            }
        }
        return due.count
    }
}
