import CXModel
import CXStore
import CXWire
import Foundation
import GRDB
import SwiftProtobuf

extension ProfilesService {
    func registerSegments(into router: inout RPCRouter) {
        router.register(Cx_Profiles_V1_Segments.defineSegment) { try await self.defineSegment($0, $1) }
        router.register(Cx_Profiles_V1_Segments.getSegment) { try await self.getSegment($0, $1) }
        router.register(Cx_Profiles_V1_Segments.listSegments) { try await self.listSegments($0, $1) }
        router.register(Cx_Profiles_V1_Segments.updateSegment) { try await self.updateSegment($0, $1) }
        router.register(Cx_Profiles_V1_Segments.deleteSegment) { try await self.deleteSegment($0, $1) }
        router.register(Cx_Profiles_V1_Segments.countSegment) { try await self.countSegment($0, $1) }
        router.register(Cx_Profiles_V1_Segments.segmentMembers) { try await self.segmentMembers($0, $1) }
        router.register(Cx_Profiles_V1_Segments.customerSegments) { try await self.customerSegments($0, $1) }
        router.register(Cx_Profiles_V1_Segments.validateRule) { try await self.validateRule($0, $1) }
    }

    static func compileRule(_ source: String, field: String) throws(RPCError) -> CompiledRule {
        do {
            return try CompiledRule.compile(source)
        } catch {
            throw RPCError(
                code: .invalidArgument, message: "\(field): \(error)",
                fieldViolations: [.init(field: field, description: error.description)], reason: "RULE_INVALID")
        }
    }

    static func validateSegmentText(_ segment: Cx_Profiles_V1_Segment, paths: Set<String>) throws(RPCError) {
        if paths.contains("name") {
            guard (1...100).contains(segment.name.count) else {
                throw .invalidArgument(field: "segment.name", "must be 1 to 100 characters (is \(segment.name.count))")
            }
        }
        if paths.contains("description"), segment.description_p.count > 2_000 {
            throw .invalidArgument(field: "segment.description", "is \(segment.description_p.count) characters; at most 2000")
        }
    }

    static func segmentNotFound(_ id: String) -> RPCError {
        RPCError(code: .notFound, message: "no segment has id \"\(id)\"", reason: "SEGMENT_NOT_FOUND")
    }

    static func loadSegment(_ db: Database, id: String) throws -> Cx_Profiles_V1_Segment {
        guard let body = try RecordBody.fetchOne(db, sql: "SELECT body FROM segment WHERE id = ?", arguments: [id]) else {
            throw segmentNotFound(id)
        }
        return try body.decode(Cx_Profiles_V1_Segment.self, table: "segment", key: id)
    }

    static func memberCount(_ db: Database, segmentID: String) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM segment_member WHERE segment_id = ?", arguments: [segmentID]) ?? 0
    }

    static func saveSegment(_ db: Database, _ segment: Cx_Profiles_V1_Segment, isNew: Bool) throws {
        let nameKey = CXText.normalize(segment.name)
        if let other = try String.fetchOne(db, sql: "SELECT id FROM segment WHERE name_key = ? AND id <> ?", arguments: [nameKey, segment.id]) {
            throw RPCError(
                code: .alreadyExists, message: "segment \"\(other)\" is already named \"\(segment.name)\"", reason: "SEGMENT_NAME_TAKEN")
        }
        var stored = segment
        stored.memberCount = 0
        stored.clearCountedAt()
        if isNew {
            try db.execute(sql: "INSERT INTO segment (id, name_key, body) VALUES (?, ?, ?)", arguments: [segment.id, nameKey, try RecordBody(stored)])
        } else {
            try db.execute(sql: "UPDATE segment SET name_key = ?, body = ? WHERE id = ?", arguments: [nameKey, try RecordBody(stored), segment.id])
        }
        try SegmentCatalog.touch(db)
    }

    /// Defines a segment and evaluates it over every customer at once, in a
    /// transaction of its own (a scan must not hold up other writers' batches).
    func defineSegment(_ request: Cx_Profiles_V1_DefineSegmentRequest, _ context: ServerContext) async throws
        -> Cx_Profiles_V1_DefineSegmentResponse
    {
        var segment = request.segment
        try Self.validateSegmentText(segment, paths: ["name", "description"])
        let rule = try Self.compileRule(segment.rule, field: "segment.rule")
        let key = try idempotencyKey(request.idempotencyKey, context)
        let now = clock()
        segment.id = Self.generateID(prefix: "s-")
        segment.version = 1
        segment.createdAt = Google_Protobuf_Timestamp(date: now)
        segment.updatedAt = segment.createdAt
        let defined = segment
        return try await write("profiles.DefineSegment", key: key, request: request, alone: true) { db in
            try Self.saveSegment(db, defined, isNew: true)
            var response = Cx_Profiles_V1_DefineSegmentResponse()
            response.segment = defined
            response.segment.memberCount = try SegmentMembership.populate(db, segment: CompiledSegment(segment: defined, rule: rule), now: now)
            response.segment.countedAt = Google_Protobuf_Timestamp(date: now)
            return response
        }
    }

    func getSegment(_ request: Cx_Profiles_V1_GetSegmentRequest, _ context: ServerContext) async throws -> Cx_Profiles_V1_GetSegmentResponse {
        let id = request.segmentID
        guard !id.isEmpty else { throw RPCError.invalidArgument(field: "segment_id", "must not be empty") }
        let now = clock()
        return try await store.read { db in
            var response = Cx_Profiles_V1_GetSegmentResponse()
            response.segment = try Self.loadSegment(db, id: id)
            response.segment.memberCount = try Self.memberCount(db, segmentID: id)
            response.segment.countedAt = Google_Protobuf_Timestamp(date: now)
            return response
        }
    }

    func listSegments(_ request: Cx_Profiles_V1_ListSegmentsRequest, _ context: ServerContext) async throws -> Cx_Profiles_V1_ListSegmentsResponse {
        let size = try Self.pageSize(request.pageSize)
        let scope = "profiles.ListSegments"
        let after = try position(request.pageToken, scope: scope)?.first ?? ""
        let now = clock()
        let segments = try await store.read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT id, body FROM segment WHERE id > ? ORDER BY id LIMIT ?", arguments: [after, size])
            return try rows.map { row -> Cx_Profiles_V1_Segment in
                let id: String = try row.decode(String.self, forColumn: "id")
                var segment = try row.decode(RecordBody.self, forColumn: "body").decode(Cx_Profiles_V1_Segment.self, table: "segment", key: id)
                segment.memberCount = try Self.memberCount(db, segmentID: id)
                segment.countedAt = Google_Protobuf_Timestamp(date: now)
                return segment
            }
        }
        var response = Cx_Profiles_V1_ListSegmentsResponse()
        response.segments = segments
        response.nextPageToken = nextToken(scope: scope, last: segments.last?.id, full: segments.count == size)
        return response
    }

    func updateSegment(_ request: Cx_Profiles_V1_UpdateSegmentRequest, _ context: ServerContext) async throws
        -> Cx_Profiles_V1_UpdateSegmentResponse
    {
        let id = request.segmentID
        guard !id.isEmpty else { throw RPCError.invalidArgument(field: "segment_id", "must not be empty") }
        guard !request.updateMask.isEmpty else { throw RPCError.invalidArgument(field: "update_mask", "must name name, description or rule") }
        let paths = Set(request.updateMask)
        for (index, path) in request.updateMask.enumerated() where !["name", "description", "rule"].contains(path) {
            throw RPCError.invalidArgument(field: "update_mask[\(index)]", "\"\(path)\" is not one of name, description, rule")
        }
        try Self.validateSegmentText(request.segment, paths: paths)
        let rule = paths.contains("rule") ? try Self.compileRule(request.segment.rule, field: "segment.rule") : nil
        let key = try idempotencyKey(request.idempotencyKey, context)
        let now = clock()
        return try await write("profiles.UpdateSegment", key: key, request: request, alone: true) { db in
            var segment = try Self.loadSegment(db, id: id)
            if request.expectedVersion != 0, request.expectedVersion != segment.version {
                throw RPCError(code: .aborted, message: "segment \"\(id)\" is at version \(segment.version), not \(request.expectedVersion)", reason: "VERSION_MISMATCH")
            }
            if paths.contains("name") { segment.name = request.segment.name }
            if paths.contains("description") { segment.description_p = request.segment.description_p }
            if paths.contains("rule") { segment.rule = request.segment.rule }
            segment.version += 1
            segment.updatedAt = Google_Protobuf_Timestamp(date: now)
            try Self.saveSegment(db, segment, isNew: false)
            var response = Cx_Profiles_V1_UpdateSegmentResponse()
            response.segment = segment
            if let rule {
                response.segment.memberCount = try SegmentMembership.populate(db, segment: CompiledSegment(segment: segment, rule: rule), now: now)
            } else {
                response.segment.memberCount = try Self.memberCount(db, segmentID: id)
            }
            response.segment.countedAt = Google_Protobuf_Timestamp(date: now)
            return response
        }
    }

    func deleteSegment(_ request: Cx_Profiles_V1_DeleteSegmentRequest, _ context: ServerContext) async throws
        -> Cx_Profiles_V1_DeleteSegmentResponse
    {
        let id = request.segmentID
        guard !id.isEmpty else { throw RPCError.invalidArgument(field: "segment_id", "must not be empty") }
        let key = try idempotencyKey(request.idempotencyKey, context)
        let now = clock()
        return try await write("profiles.DeleteSegment", key: key, request: request) { db in
            _ = try Self.loadSegment(db, id: id)
            // Members and flip times go with it (ON DELETE CASCADE).
            try db.execute(sql: "DELETE FROM segment WHERE id = ?", arguments: [id])
            try SegmentCatalog.touch(db)
            var response = Cx_Profiles_V1_DeleteSegmentResponse()
            response.segmentID = id
            response.deletedAt = Google_Protobuf_Timestamp(date: now)
            return response
        }
    }

    /// Membership is kept current on every change, so counting is an index count.
    func countSegment(_ request: Cx_Profiles_V1_CountSegmentRequest, _ context: ServerContext) async throws -> Cx_Profiles_V1_CountSegmentResponse {
        let id = request.segmentID
        guard !id.isEmpty else { throw RPCError.invalidArgument(field: "segment_id", "must not be empty") }
        let now = clock()
        return try await store.read { db in
            _ = try Self.loadSegment(db, id: id)
            var response = Cx_Profiles_V1_CountSegmentResponse()
            response.count = try Self.memberCount(db, segmentID: id)
            response.evaluatedAt = Google_Protobuf_Timestamp(date: now)
            return response
        }
    }

    func segmentMembers(_ request: Cx_Profiles_V1_SegmentMembersRequest, _ context: ServerContext) async throws
        -> Cx_Profiles_V1_SegmentMembersResponse
    {
        let id = request.segmentID
        guard !id.isEmpty else { throw RPCError.invalidArgument(field: "segment_id", "must not be empty") }
        let size = try Self.pageSize(request.pageSize)
        let scope = "profiles.SegmentMembers:\(id)"
        let after = try position(request.pageToken, scope: scope)?.first ?? ""
        let view = request.view
        let (ids, customers) = try await store.read { db -> ([String], [Cx_Profiles_V1_Customer]) in
            _ = try Self.loadSegment(db, id: id)
            let ids = try String.fetchAll(
                db, sql: "SELECT customer_id FROM segment_member WHERE segment_id = ? AND customer_id > ? ORDER BY customer_id LIMIT ?",
                arguments: [id, after, size])
            guard view == .customers else { return (ids, []) }
            var customers: [Cx_Profiles_V1_Customer] = []
            for customerID in ids {
                if case .live(let customer) = try ProfilesDatabase.customer(db, id: customerID) { customers.append(customer) }
            }
            return (ids, customers)
        }
        var response = Cx_Profiles_V1_SegmentMembersResponse()
        if view == .customers { response.customers = customers } else { response.customerIds = ids }
        response.nextPageToken = nextToken(scope: scope, last: ids.last, full: ids.count == size)
        return response
    }

    func customerSegments(_ request: Cx_Profiles_V1_CustomerSegmentsRequest, _ context: ServerContext) async throws
        -> Cx_Profiles_V1_CustomerSegmentsResponse
    {
        let id = request.customerID
        try CustomerValidation.validateID(id, field: "customer_id")
        let now = clock()
        return try await store.read { db in
            _ = try Self.live(try ProfilesDatabase.customer(db, id: id), id: id)
            let rows = try Row.fetchAll(
                db,
                sql: "SELECT s.id, s.body FROM segment_member m JOIN segment s ON s.id = m.segment_id WHERE m.customer_id = ?",
                arguments: [id])
            var response = Cx_Profiles_V1_CustomerSegmentsResponse()
            for row in rows {
                let segmentID: String = try row.decode(String.self, forColumn: "id")
                let segment = try row.decode(RecordBody.self, forColumn: "body").decode(Cx_Profiles_V1_Segment.self, table: "segment", key: segmentID)
                var ref = Cx_Profiles_V1_SegmentRef()
                ref.segmentID = segmentID
                ref.name = segment.name
                response.segments.append(ref)
            }
            response.segments.sort { ($0.name, $0.segmentID) < ($1.name, $1.segmentID) }
            response.evaluatedAt = Google_Protobuf_Timestamp(date: now)
            return response
        }
    }

    func validateRule(_ request: Cx_Profiles_V1_ValidateRuleRequest, _ context: ServerContext) async throws -> Cx_Profiles_V1_ValidateRuleResponse {
        var response = Cx_Profiles_V1_ValidateRuleResponse()
        let rule: CompiledRule
        do {
            rule = try CompiledRule.compile(request.rule)
        } catch {
            var problem = Cx_Profiles_V1_RuleProblem()
            problem.line = Int32(clamping: error.line)
            problem.column = Int32(clamping: error.column)
            problem.message = error.message
            response.problems = [problem]
            return response
        }
        response.ok = true
        if request.countMembers {
            let now = clock()
            response.memberCount = try await store.read { db in
                var count: Int64 = 0
                try ProfilesDatabase.forEachLiveCustomer(db) { customer in
                    if rule.evaluate(CustomerSubject(customer), now: now).matches { count += 1 }
                }
                return count
            }
        }
        return response
    }

    /// Re-evaluates memberships whose flip time has come. Returns how many
    /// it handled. ``SegmentClock`` calls it every second.
    @discardableResult
    public func processDueSegmentFlips(limit: Int = 1_000) async throws -> Int {
        let now = clock()
        let segments = self.segments
        var total = 0
        while true {
            let handled = try await store.write { db in
                try SegmentMembership.processDue(db, segments: segments.segments(db), now: now, limit: limit)
            }
            total += handled
            if handled < limit { return total }
        }
    }
}
