import CXModel
import CXService
import CXStore
import CXWire
import Foundation
import GRDB

typealias TaskState = Cx_Journey_V1_Task.State

extension JourneyService {
    static let taskColumns =
        "customer_id, number, template_id, day_offset, stage, touchpoint_id, action, owner_role, due_at, state, closed_at, note"

    static func task(_ row: Row, now: Double) throws -> Cx_Journey_V1_Task {
        var task = Cx_Journey_V1_Task()
        let customerID: String = row["customer_id"]
        let number: Int64 = row["number"]
        task.id = "\(customerID)/\(number)"
        task.customerID = customerID
        task.planTemplateID = row["template_id"]
        task.dayOffset = row["day_offset"]
        task.stage = Stage(stored: row["stage"])
        task.touchpointID = row["touchpoint_id"]
        task.action = row["action"]
        task.ownerRole = row["owner_role"]
        let due: Double = row["due_at"]
        task.dueAt = .at(due)
        task.state = TaskState(rawValue: row["state"]) ?? .unspecified
        task.overdue = task.state == .open && due < now
        if let closed: Double = row["closed_at"] { task.closedAt = .at(closed) }
        task.note = row["note"]
        return task
    }

    /// "<customer id>/<n>" split at its last "/".
    static func parseTaskID(_ id: String, field: String = "task_id") throws(RPCError) -> (customer: String, number: Int64) {
        guard let slash = id.lastIndex(of: "/"), let number = Int64(id[id.index(after: slash)...]), number > 0 else {
            throw .invalidArgument(field: field, "\(RequestCheck.quoted(id)) is not a task id (\"<customer id>/<n>\", as ListTasks gives)")
        }
        let customer = String(id[..<slash])
        try RequestCheck.id(customer, field: field)
        return (customer, number)
    }

    func listTasks(_ request: Cx_Journey_V1_ListTasksRequest, _ context: ServerContext) async throws -> Cx_Journey_V1_ListTasksResponse {
        if !request.customerID.isEmpty { try RequestCheck.id(request.customerID, field: "customer_id") }
        if !request.ownerRole.isEmpty { try PlanTemplates.text(request.ownerRole, field: "owner_role", max: 64) }
        if case .UNRECOGNIZED(let value) = request.state { throw RPCError.invalidArgument(field: "state", "\(value) is not a task state") }
        let state: TaskState = request.state == .unspecified ? .open : request.state
        if request.overdueOnly, state != .open {
            throw RPCError.invalidArgument(field: "overdue_only", "only OPEN tasks are overdue; leave state unset or OPEN")
        }
        let size = try RequestCheck.pageSize(request.pageSize)
        let now = clock().timeIntervalSince1970
        var filter = request
        filter.pageToken = ""
        filter.pageSize = 0
        let tokenScope = "tasks|\(try Idempotency.fingerprint(of: filter))"
        let position = try pager.position(request.pageToken, scope: tokenScope)
        // A customer's few tasks are read by the primary key: "+state" keeps
        // SQLite from choosing the state index, which holds every OPEN task.
        var conditions = [request.customerID.isEmpty ? "state = ?" : "+state = ?"]
        var arguments: StatementArguments = [state.rawValue]
        if !request.customerID.isEmpty {
            conditions.append("customer_id = ?")
            _ = arguments.append(contentsOf: [request.customerID])
        }
        if !request.ownerRole.isEmpty {
            conditions.append("owner_role = ?")
            _ = arguments.append(contentsOf: [request.ownerRole])
        }
        if request.hasDueBefore {
            conditions.append("due_at < ?")
            _ = arguments.append(contentsOf: [request.dueBefore.date.timeIntervalSince1970])
        }
        if request.overdueOnly {
            conditions.append("due_at < ?")
            _ = arguments.append(contentsOf: [now])
        }
        if let position {
            guard position.count == 3, let due = Double(position[0]), let number = Int64(position[2]) else {
                throw RPCError.invalidArgument(field: "page_token", "is not a token of this listing")
            }
            conditions.append("(due_at, customer_id, number) > (?, ?, ?)")
            _ = arguments.append(contentsOf: [due, position[1], number])
        }
        let sql = "SELECT \(Self.taskColumns) FROM task WHERE \(conditions.joined(separator: " AND ")) ORDER BY due_at, customer_id, number LIMIT ?"
        _ = arguments.append(contentsOf: [size + 1])
        let finalArguments = arguments
        return try await store.read { db in
            let rows = try Row.fetchAll(db, sql: sql, arguments: finalArguments)
            var response = Cx_Journey_V1_ListTasksResponse()
            response.tasks = try rows.prefix(size).map { try Self.task($0, now: now) }
            if rows.count > size, let last = rows.prefix(size).last {
                let due: Double = last["due_at"]
                let customer: String = last["customer_id"]
                let number: Int64 = last["number"]
                response.nextPageToken = self.pager.nextToken(scope: tokenScope, last: ["\(due)", customer, "\(number)"], full: true)
            }
            return response
        }
    }

    func completeTask(_ request: Cx_Journey_V1_CompleteTaskRequest, _ context: ServerContext) async throws
        -> Cx_Journey_V1_CompleteTaskResponse
    {
        let id = try Self.parseTaskID(request.taskID)
        guard request.note.unicodeScalars.count <= 1_000 else {
            throw RPCError.invalidArgument(field: "note", "is \(request.note.unicodeScalars.count) characters; at most 1000")
        }
        let key = try RequestCheck.idempotencyKey(request.idempotencyKey, context)
        let now = clock().timeIntervalSince1970
        return try await store.idempotentWrite("complete-task", key: key, request: request, subjects: { _, response in [response.task.customerID] }) { db in
            var response = Cx_Journey_V1_CompleteTaskResponse()
            response.task = try Self.closeTask(db, id, state: .done, note: request.note, now: now)
            return response
        }
    }

    func skipTask(_ request: Cx_Journey_V1_SkipTaskRequest, _ context: ServerContext) async throws -> Cx_Journey_V1_SkipTaskResponse {
        let id = try Self.parseTaskID(request.taskID)
        try PlanTemplates.text(request.reason, field: "reason", max: 1_000)
        let key = try RequestCheck.idempotencyKey(request.idempotencyKey, context)
        let now = clock().timeIntervalSince1970
        return try await store.idempotentWrite("skip-task", key: key, request: request, subjects: { _, response in [response.task.customerID] }) { db in
            var response = Cx_Journey_V1_SkipTaskResponse()
            response.task = try Self.closeTask(db, id, state: .skipped, note: request.reason, now: now)
            return response
        }
    }

    static func closeTask(_ db: Database, _ id: (customer: String, number: Int64), state: TaskState, note: String, now: Double) throws
        -> Cx_Journey_V1_Task
    {
        let select = "SELECT \(taskColumns) FROM task WHERE customer_id = ? AND number = ?"
        guard let row = try Row.fetchOne(db, sql: select, arguments: [id.customer, id.number]) else {
            throw RPCError(code: .notFound, message: "no task has id \(RequestCheck.quoted("\(id.customer)/\(id.number)"))", reason: "TASK_NOT_FOUND")
        }
        let task = try Self.task(row, now: now)
        guard task.state == .open else {
            let what = task.state == .done ? "done" : "skipped"
            throw RPCError(
                code: .failedPrecondition,
                message: "task \(task.id) is already \(what) (at \(task.closedAt.date.ISO8601Format())); only an OPEN task can be completed or skipped",
                reason: "TASK_CLOSED")
        }
        try db.execute(
            sql: "UPDATE task SET state = ?, closed_at = ?, note = ? WHERE customer_id = ? AND number = ?",
            arguments: [state.rawValue, now, note, id.customer, id.number])
        return try Self.task(try Row.fetchOne(db, sql: select, arguments: [id.customer, id.number])!, now: now)
    }
}
