import CXModel
import CXService
import CXStore
import CXWire
import Foundation
import GRDB

typealias ComplaintState = Cx_Feedback_V1_ComplaintState
typealias Severity = Cx_Feedback_V1_Severity

/// Complaints: their states, deadlines and threads.
enum Complaints {
    /// First response and resolution due, in hours, by severity.
    static func sla(_ severity: Severity) -> (firstResponse: Double, resolution: Double) {
        switch severity {
        case .critical: (1, 24)
        case .high: (4, 48)
        case .medium: (24, 168)
        default: (48, 336)
        }
    }

    /// The moves allowed from each state.
    static func moves(from state: ComplaintState) -> [ComplaintState] {
        switch state {
        case .open: [.acknowledged, .inProgress, .resolved]
        case .acknowledged: [.inProgress, .resolved]
        case .inProgress: [.resolved]
        case .resolved: [.closed, .reopened]
        case .closed: [.reopened]
        case .reopened: [.inProgress, .resolved]
        default: []
        }
    }

    static func stateName(_ state: ComplaintState) -> String {
        switch state {
        case .open: "OPEN"
        case .acknowledged: "ACKNOWLEDGED"
        case .inProgress: "IN_PROGRESS"
        case .resolved: "RESOLVED"
        case .closed: "CLOSED"
        case .reopened: "REOPENED"
        default: "UNSPECIFIED"
        }
    }

    static func validate(_ complaint: Cx_Feedback_V1_Complaint, field: String) throws(RPCError) {
        try RequestCheck.id(complaint.customerID, field: "\(field).customer_id")
        if !complaint.touchpointID.isEmpty { try RequestCheck.id(complaint.touchpointID, field: "\(field).touchpoint_id") }
        try Surveys.text(complaint.category, field: "\(field).category", max: 64)
        if case .UNRECOGNIZED(let value) = complaint.severity { throw .invalidArgument(field: "\(field).severity", "\(value) is not a severity") }
        guard complaint.severity != .unspecified else { throw .invalidArgument(field: "\(field).severity", "is required") }
        try Surveys.text(complaint.description_p, field: "\(field).description", max: Surveys.maxTextAnswer)
        if case .UNRECOGNIZED(let value) = complaint.channel { throw .invalidArgument(field: "\(field).channel", "\(value) is not a channel") }
    }

    /// Opens a checked complaint; its thread starts with the opening.
    static func open(_ db: Database, _ proposed: Cx_Feedback_V1_Complaint, now: Double, author: String) throws -> Cx_Feedback_V1_Complaint {
        try require(db, try insert(db, proposed, now: now, author: author), now: now)
    }

    /// Opens a checked complaint and returns its id (what a detractor's
    /// response needs, without reading the complaint back).
    static func insert(_ db: Database, _ proposed: Cx_Feedback_V1_Complaint, now: Double, author: String) throws -> String {
        var complaint = Cx_Feedback_V1_Complaint()
        complaint.id = FeedbackDatabase.timeOrderedID(prefix: "cmp-", at: now)
        complaint.customerID = proposed.customerID
        complaint.touchpointID = proposed.touchpointID
        complaint.category = proposed.category
        complaint.severity = proposed.severity
        complaint.description_p = proposed.description_p
        complaint.channel = proposed.channel
        complaint.responseID = proposed.responseID
        let sla = sla(proposed.severity)
        try db.cachedStatement(sql: """
            INSERT INTO complaint (id, customer_id, state, severity, opened_at, first_response_due, resolution_due, note_count, body)
            VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?)
            """
        ).execute(arguments: [
            complaint.id, complaint.customerID, ComplaintState.open.rawValue, complaint.severity.rawValue, now,
            now + sla.firstResponse * 3_600, now + sla.resolution * 3_600, try FeedbackDatabase.body(complaint),
        ])
        // The thread's first note, numbered 1 by the insert above.
        try db.cachedStatement(sql: "INSERT INTO complaint_note (complaint_id, sequence, kind, author, text, at) VALUES (?, 1, ?, ?, 'opened', ?)")
            .execute(arguments: [complaint.id, Cx_Feedback_V1_ComplaintNote.Kind.event.rawValue, author, now])
        return complaint.id
    }

    /// Appends to the thread; returns the note with its number.
    static func note(
        _ db: Database, _ id: String, kind: Cx_Feedback_V1_ComplaintNote.Kind, author: String, text: String, now: Double
    ) throws -> Cx_Feedback_V1_ComplaintNote {
        guard let sequence = try Int64.fetchOne(
            db.cachedStatement(sql: "UPDATE complaint SET note_count = note_count + 1 WHERE id = ? RETURNING note_count"), arguments: [id])
        else { throw notFound(id) }
        try db.cachedStatement(sql: "INSERT INTO complaint_note (complaint_id, sequence, kind, author, text, at) VALUES (?, ?, ?, ?, ?, ?)")
            .execute(arguments: [id, sequence, kind.rawValue, author, text, now])
        return .with {
            $0.sequence = sequence
            $0.kind = kind
            $0.author = author
            $0.text = text
            $0.at = .at(now)
        }
    }

    static func notFound(_ id: String) -> RPCError {
        RPCError(code: .notFound, message: "no complaint has id \(RequestCheck.quoted(id))", reason: "COMPLAINT_NOT_FOUND")
    }

    static let columns = "id, state, owner, opened_at, first_response_due, resolution_due, first_response_at, resolved_at, body"

    /// A complaint from its row, with `overdue` as of `now`.
    static func complaint(_ row: Row, now: Double) throws -> Cx_Feedback_V1_Complaint {
        let id: String = row["id"]
        var complaint = try FeedbackDatabase.decodeBody(row, Cx_Feedback_V1_Complaint.self, table: "complaint", key: id)
        complaint.state = ComplaintState(rawValue: row["state"]) ?? .unspecified
        complaint.owner = row["owner"]
        complaint.openedAt = .at(row["opened_at"])
        let firstDue: Double = row["first_response_due"]
        let resolutionDue: Double = row["resolution_due"]
        complaint.firstResponseDue = .at(firstDue)
        complaint.resolutionDue = .at(resolutionDue)
        let firstAt: Double? = row["first_response_at"]
        let resolvedAt: Double? = row["resolved_at"]
        if let firstAt { complaint.firstResponseAt = .at(firstAt) }
        let done = complaint.state == .resolved || complaint.state == .closed
        if let resolvedAt, done { complaint.resolvedAt = .at(resolvedAt) }
        // A resolved or closed complaint is overdue for nothing: its breaches show in ComplaintStats.
        complaint.overdue = !done && ((firstAt == nil && firstDue < now) || resolutionDue < now)
        return complaint
    }

    static func require(_ db: Database, _ id: String, now: Double, thread: Bool = true) throws -> Cx_Feedback_V1_Complaint {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT \(columns) FROM complaint WHERE id = ?"), arguments: [id]) else {
            throw notFound(id)
        }
        var complaint = try complaint(row, now: now)
        if thread {
            complaint.thread = try Row.fetchAll(
                db.cachedStatement(sql: "SELECT sequence, kind, author, text, at FROM complaint_note WHERE complaint_id = ? ORDER BY sequence"),
                arguments: [id]
            ).map { row in
                .with {
                    $0.sequence = row[0]
                    $0.kind = Cx_Feedback_V1_ComplaintNote.Kind(rawValue: row[1]) ?? .unspecified
                    $0.author = row[2]
                    $0.text = row[3]
                    $0.at = .at(row[4])
                }
            }
        }
        return complaint
    }
}
