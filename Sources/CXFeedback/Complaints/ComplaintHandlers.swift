import CXModel
import CXService
import CXStore
import CXWire
import Foundation
import GRDB

extension FeedbackService {
    static func checkAuthor(_ author: String, field: String = "author") throws(RPCError) {
        try Surveys.text(author, field: field, max: 64)
    }

    func openComplaint(_ request: Cx_Feedback_V1_OpenComplaintRequest, _ context: ServerContext) async throws
        -> Cx_Feedback_V1_OpenComplaintResponse
    {
        guard request.hasComplaint else { throw RPCError.invalidArgument(field: "complaint", "is required") }
        try Complaints.validate(request.complaint, field: "complaint")
        let key = try RequestCheck.idempotencyKey(request.idempotencyKey, context)
        let now = clock().timeIntervalSince1970
        return try await store.idempotentWrite("open-complaint", key: key, request: request, subjects: { _, response in [response.complaint.customerID] }) { db in
            var response = Cx_Feedback_V1_OpenComplaintResponse()
            response.complaint = try Complaints.open(db, request.complaint, now: now, author: "customer")
            return response
        }
    }

    func getComplaint(_ request: Cx_Feedback_V1_GetComplaintRequest, _ context: ServerContext) async throws
        -> Cx_Feedback_V1_GetComplaintResponse
    {
        try Surveys.text(request.complaintID, field: "complaint_id", max: 64)
        let now = clock().timeIntervalSince1970
        return try await store.read { db in
            var response = Cx_Feedback_V1_GetComplaintResponse()
            response.complaint = try Complaints.require(db, request.complaintID, now: now)
            return response
        }
    }

    func listComplaints(_ request: Cx_Feedback_V1_ListComplaintsRequest, _ context: ServerContext) async throws
        -> Cx_Feedback_V1_ListComplaintsResponse
    {
        if case .UNRECOGNIZED(let value) = request.state { throw RPCError.invalidArgument(field: "state", "\(value) is not a complaint state") }
        if !request.owner.isEmpty { try Self.checkAuthor(request.owner, field: "owner") }
        if !request.customerID.isEmpty { try RequestCheck.id(request.customerID, field: "customer_id") }
        let size = try RequestCheck.pageSize(request.pageSize)
        var filter = request
        filter.pageToken = ""
        filter.pageSize = 0
        let scope = "complaints|\(try Idempotency.fingerprint(of: filter))"
        let position = try pager.position(request.pageToken, scope: scope)
        let now = clock().timeIntervalSince1970
        var conditions: [String] = []
        var arguments: StatementArguments = []
        if request.state != .unspecified {
            conditions.append("state = ?")
            _ = arguments.append(contentsOf: [request.state.rawValue])
        }
        if !request.owner.isEmpty {
            conditions.append("owner = ?")
            _ = arguments.append(contentsOf: [request.owner])
        }
        if !request.customerID.isEmpty {
            conditions.append("customer_id = ?")
            _ = arguments.append(contentsOf: [request.customerID])
        }
        if request.overdueOnly {
            conditions.append("state NOT IN (?, ?) AND ((first_response_at IS NULL AND first_response_due < ?) OR resolution_due < ?)")
            _ = arguments.append(contentsOf: [ComplaintState.resolved.rawValue, ComplaintState.closed.rawValue, now, now])
        }
        if let position {
            guard position.count == 2, let opened = Double(position[0]) else {
                throw RPCError.invalidArgument(field: "page_token", "is not a token of this listing")
            }
            conditions.append("(opened_at, id) > (?, ?)")
            _ = arguments.append(contentsOf: [opened, position[1]])
        }
        _ = arguments.append(contentsOf: [size + 1])
        let sql = "SELECT \(Complaints.columns) FROM complaint \(conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")) "
            + "ORDER BY opened_at, id LIMIT ?"
        let finalArguments = arguments
        return try await store.read { db in
            let rows = try Row.fetchAll(db, sql: sql, arguments: finalArguments)
            var response = Cx_Feedback_V1_ListComplaintsResponse()
            response.complaints = try rows.prefix(size).map { try Complaints.complaint($0, now: now) }
            if rows.count > size, let last = response.complaints.last {
                response.nextPageToken = self.pager.nextToken(
                    scope: scope, last: ["\(last.openedAt.date.timeIntervalSince1970)", last.id], full: true)
            }
            return response
        }
    }

    func moveComplaint(_ request: Cx_Feedback_V1_MoveComplaintRequest, _ context: ServerContext) async throws
        -> Cx_Feedback_V1_MoveComplaintResponse
    {
        try Surveys.text(request.complaintID, field: "complaint_id", max: 64)
        if case .UNRECOGNIZED(let value) = request.to { throw RPCError.invalidArgument(field: "to", "\(value) is not a complaint state") }
        guard request.to != .unspecified, request.to != .open else {
            throw RPCError.invalidArgument(field: "to", "must be ACKNOWLEDGED, IN_PROGRESS, RESOLVED, CLOSED or REOPENED")
        }
        try Self.checkAuthor(request.author)
        guard request.note.unicodeScalars.count <= Surveys.maxTextAnswer else {
            throw RPCError.invalidArgument(field: "note", "is \(request.note.unicodeScalars.count) characters; at most \(Surveys.maxTextAnswer)")
        }
        if request.goodwill, request.to != .resolved {
            throw RPCError.invalidArgument(field: "goodwill", "is given only when a complaint is RESOLVED")
        }
        let key = try RequestCheck.idempotencyKey(request.idempotencyKey, context)
        let now = clock().timeIntervalSince1970
        let events = FeedbackEvents(destinations: destinations, now: now)
        return try await store.idempotentWrite("move-complaint", key: key, request: request, subjects: { _, response in [response.complaint.customerID] }) { db in
            let current = try Complaints.require(db, request.complaintID, now: now, thread: false)
            let allowed = Complaints.moves(from: current.state)
            guard allowed.contains(request.to) else {
                let names = allowed.map(Complaints.stateName).joined(separator: ", ")
                throw RPCError(
                    code: .failedPrecondition,
                    message: "complaint \(current.id) is \(Complaints.stateName(current.state)); it cannot move to "
                        + "\(Complaints.stateName(request.to)) (allowed: \(names.isEmpty ? "none" : names))",
                    reason: "ILLEGAL_TRANSITION")
            }
            var sets = ["state = ?"]
            var arguments: StatementArguments = [request.to.rawValue]
            // Any move out of OPEN answers the customer: it is the first response if none came before.
            if !current.hasFirstResponseAt {
                sets.append("first_response_at = ?")
                _ = arguments.append(contentsOf: [now])
            }
            if request.to == .resolved {
                sets.append("resolved_at = ?")
                _ = arguments.append(contentsOf: [now])
            }
            if request.to == .reopened {
                sets.append("resolved_at = NULL")
            }
            _ = arguments.append(contentsOf: [current.id])
            try db.execute(sql: "UPDATE complaint SET \(sets.joined(separator: ", ")) WHERE id = ?", arguments: arguments)
            let text = "\(Complaints.stateName(current.state)) -> \(Complaints.stateName(request.to))"
                + (request.note.isEmpty ? "" : ": \(request.note)")
            _ = try Complaints.note(db, current.id, kind: .event, author: request.author, text: text, now: now)
            if request.goodwill, current.customerID == CustomerErasure.marker {
                // No one to give it to: the customer was erased.
                _ = try Complaints.note(db, current.id, kind: .event, author: request.author, text: "no goodwill: the customer was erased", now: now)
            } else if request.goodwill {
                let given = try Bool.fetchOne(db, sql: "SELECT goodwill_given FROM complaint WHERE id = ?", arguments: [current.id]) ?? false
                if !given {
                    try db.execute(sql: "UPDATE complaint SET goodwill_given = 1 WHERE id = ?", arguments: [current.id])
                    try events.goodwill(db, complaint: current)
                    _ = try Complaints.note(db, current.id, kind: .event, author: request.author, text: "goodwill bonus awarded", now: now)
                }
            }
            var response = Cx_Feedback_V1_MoveComplaintResponse()
            response.complaint = try Complaints.require(db, current.id, now: now)
            return response
        }
    }

    func assignComplaint(_ request: Cx_Feedback_V1_AssignComplaintRequest, _ context: ServerContext) async throws
        -> Cx_Feedback_V1_AssignComplaintResponse
    {
        try Surveys.text(request.complaintID, field: "complaint_id", max: 64)
        try Self.checkAuthor(request.owner, field: "owner")
        try Self.checkAuthor(request.author)
        let now = clock().timeIntervalSince1970
        return try await store.write { db in
            let current = try Complaints.require(db, request.complaintID, now: now, thread: false)
            if current.owner != request.owner {
                try db.execute(sql: "UPDATE complaint SET owner = ? WHERE id = ?", arguments: [request.owner, current.id])
                _ = try Complaints.note(db, current.id, kind: .event, author: request.author, text: "assigned to \(request.owner)", now: now)
            }
            var response = Cx_Feedback_V1_AssignComplaintResponse()
            response.complaint = try Complaints.require(db, current.id, now: now)
            return response
        }
    }

    func addComplaintNote(_ request: Cx_Feedback_V1_AddComplaintNoteRequest, _ context: ServerContext) async throws
        -> Cx_Feedback_V1_AddComplaintNoteResponse
    {
        try Surveys.text(request.complaintID, field: "complaint_id", max: 64)
        guard request.kind == .note || request.kind == .reply else { throw RPCError.invalidArgument(field: "kind", "must be NOTE or REPLY") }
        try Self.checkAuthor(request.author)
        try Surveys.text(request.text, field: "text", max: Surveys.maxTextAnswer)
        let key = try RequestCheck.idempotencyKey(request.idempotencyKey, context)
        let now = clock().timeIntervalSince1970
        return try await store.idempotentWrite(
            "complaint-note", key: key, request: request,
            subjects: { db, _ in try String.fetchAll(db, sql: "SELECT customer_id FROM complaint WHERE id = ?", arguments: [request.complaintID]) }
        ) { db in
            let current = try Complaints.require(db, request.complaintID, now: now, thread: false)
            if request.kind == .reply, !current.hasFirstResponseAt {
                try db.execute(sql: "UPDATE complaint SET first_response_at = ? WHERE id = ?", arguments: [now, current.id])
            }
            var response = Cx_Feedback_V1_AddComplaintNoteResponse()
            response.note = try Complaints.note(db, current.id, kind: request.kind, author: request.author, text: request.text, now: now)
            return response
        }
    }

    func complaintStats(_ request: Cx_Feedback_V1_ComplaintStatsRequest, _ context: ServerContext) async throws
        -> Cx_Feedback_V1_ComplaintStatsResponse
    {
        let period = try self.period(from: request.hasFrom ? request.from : nil, to: request.hasTo ? request.to : nil)
        let now = clock().timeIntervalSince1970
        return try await store.read { db in
            var response = Cx_Feedback_V1_ComplaintStatsResponse()
            let done = [ComplaintState.resolved.rawValue, ComplaintState.closed.rawValue]
            response.openNow = try Int64.fetchOne(
                db, sql: "SELECT COUNT(*) FROM complaint WHERE state NOT IN (?, ?)", arguments: [done[0], done[1]]) ?? 0
            response.overdueNow = try Int64.fetchOne(
                db,
                sql: """
                    SELECT COUNT(*) FROM complaint WHERE state NOT IN (?, ?)
                    AND ((first_response_at IS NULL AND first_response_due < ?) OR resolution_due < ?)
                    """, arguments: [done[0], done[1], now, now]) ?? 0
            for severity in [Severity.low, .medium, .high, .critical] {
                var stats = Cx_Feedback_V1_SeverityStats()
                stats.severity = severity
                stats.opened = try Int64.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM complaint WHERE severity = ? AND opened_at >= ? AND opened_at < ?",
                    arguments: [severity.rawValue, period.from, period.to]) ?? 0
                let rows = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT resolved_at - opened_at, first_response_at, first_response_due, resolved_at, resolution_due FROM complaint
                        WHERE severity = ? AND resolved_at >= ? AND resolved_at < ? ORDER BY resolved_at - opened_at
                        """, arguments: [severity.rawValue, period.from, period.to])
                stats.resolved = Int64(rows.count)
                let hours = rows.map { ($0[0] as Double) / 3_600 }
                if !hours.isEmpty {
                    stats.medianHours = hours[(hours.count - 1) / 2]
                    stats.p90Hours = hours[min(hours.count - 1, Int((Double(hours.count) * 0.9).rounded(.up)) - 1)]
                }
                for row in rows {
                    let firstAt: Double? = row[1]
                    if (firstAt ?? .infinity) > row[2] { stats.firstResponseBreaches += 1 }
                    if (row[3] as Double) > row[4] { stats.resolutionBreaches += 1 }
                }
                response.bySeverity.append(stats)
            }
            return response
        }
    }
}
