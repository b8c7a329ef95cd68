import CXModel
import CXService
import CXStore
import CXWire
import Foundation
import GRDB

/// The 100-day plan templates: what must happen on which day after a
/// customer is admitted.
enum PlanTemplates {
    static let defaultID = "default"
    static let maxSteps = 100
    static let maxDayOffset: Int32 = 366

    /// The first 100 days as the journey issue describes them: affirm the
    /// decision at once, guide, check in, deliver an early win, keep
    /// regular touchpoints, celebrate and ask for a referral.
    static func defaultTemplate() -> Cx_Journey_V1_PlanTemplate {
        let steps: [(Int32, Stage, String, String, String)] = [
            (0, .affirmation, "email", "Thank the customer and affirm their decision", "success"),
            (1, .activation, "email", "Send the welcome guide", "success"),
            (3, .activation, "phone", "Check in: has it arrived, is it working?", "support"),
            (7, .activation, "app", "Help them to a first early win", "success"),
            (14, .acclimation, "email", "Send tips for getting more out of it", "marketing"),
            (30, .acclimation, "phone", "Review call", "success"),
            (60, .accomplishment, "email", "Check in", "success"),
            (90, .accomplishment, "phone", "Success review", "success"),
            (100, .advocacy, "email", "Celebrate 100 days and invite a referral", "marketing"),
        ]
        return .with {
            $0.id = defaultID
            $0.name = "The first 100 days"
            $0.steps = steps.map { day, stage, touchpoint, action, owner in
                .with {
                    $0.dayOffset = day
                    $0.stage = stage
                    $0.touchpointID = touchpoint
                    $0.action = action
                    $0.ownerRole = owner
                }
            }
        }
    }

    /// Checks a template field by field; its touchpoints must exist.
    static func validate(_ db: Database, _ template: Cx_Journey_V1_PlanTemplate, field: String) throws {
        try RequestCheck.id(template.id, field: "\(field).id")
        try text(template.name, field: "\(field).name", max: 200)
        if !template.product.isEmpty { try text(template.product, field: "\(field).product", max: 128) }
        if !template.segment.isEmpty { try text(template.segment, field: "\(field).segment", max: 128) }
        guard !template.steps.isEmpty else { throw RPCError.invalidArgument(field: "\(field).steps", "must hold at least one step") }
        guard template.steps.count <= maxSteps else {
            throw RPCError.invalidArgument(field: "\(field).steps", "has \(template.steps.count) steps; at most \(maxSteps)")
        }
        for (index, step) in template.steps.enumerated() {
            let path = "\(field).steps[\(index)]"
            guard (0...maxDayOffset).contains(step.dayOffset) else {
                throw RPCError.invalidArgument(field: "\(path).day_offset", "is \(step.dayOffset); must be 0 to \(maxDayOffset)")
            }
            try Stage.check(step.stage, field: "\(path).stage")
            if !step.touchpointID.isEmpty, try Touchpoints.fetch(db, step.touchpointID) == nil {
                throw JourneyErrors.touchpointNotFound(step.touchpointID, field: "\(path).touchpoint_id")
            }
            try text(step.action, field: "\(path).action", max: 500)
            try text(step.ownerRole, field: "\(path).owner_role", max: 64)
        }
    }

    static func text(_ value: String, field: String, max: Int) throws(RPCError) {
        guard !value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw .invalidArgument(field: field, "must not be empty")
        }
        let count = value.unicodeScalars.count
        guard count <= max else { throw .invalidArgument(field: field, "is \(count) characters; at most \(max)") }
    }

    /// Steps in day order (stable for equal days).
    static func save(_ db: Database, _ template: Cx_Journey_V1_PlanTemplate) throws {
        var template = template
        template.steps = template.steps.enumerated().sorted { ($0.element.dayOffset, $0.offset) < ($1.element.dayOffset, $1.offset) }
            .map(\.element)
        try db.execute(
            sql: "INSERT INTO plan_template (id, body) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET body = excluded.body",
            arguments: [template.id, try RecordBody(template)])
    }

    static func fetch(_ db: Database, _ id: String) throws -> Cx_Journey_V1_PlanTemplate? {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT body FROM plan_template WHERE id = ?"), arguments: [id])
        else { return nil }
        return try JourneyDatabase.decodeBody(row, Cx_Journey_V1_PlanTemplate.self, table: "plan_template", key: id)
    }

    static func all(_ db: Database) throws -> [Cx_Journey_V1_PlanTemplate] {
        // Cached: an admission naming a product or segment reads them all.
        try Row.fetchAll(db.cachedStatement(sql: "SELECT id, body FROM plan_template ORDER BY id")).map { row in
            try JourneyDatabase.decodeBody(row, Cx_Journey_V1_PlanTemplate.self, table: "plan_template", key: row["id"])
        }
    }

    /// The template for an admission: named by "plan", else matching
    /// "product", else "segment", else "default" (nil only if even that is gone).
    static func choose(_ db: Database, attributes: [String: String], cache: Cache) throws -> Cx_Journey_V1_PlanTemplate? {
        if let plan = attributes["plan"], let template = try cache.fetch(db, plan) { return template }
        let product = attributes["product"] ?? ""
        let segment = attributes["segment"] ?? ""
        if !product.isEmpty || !segment.isEmpty {
            let templates = try cache.all(db)
            if !product.isEmpty, let match = templates.first(where: { $0.product == product }) { return match }
            if !segment.isEmpty, let match = templates.first(where: { $0.segment == segment }) { return match }
        }
        return try cache.fetch(db, defaultID)
    }

    /// The templates one write operation has read, decoded once: a batch of
    /// events admits dozens of customers, and decoding every template for
    /// each of them cost about 3% of the writer in cx-bench journey. Lives
    /// for one operation only, in which no template can change (a template
    /// is written by an operation of its own), so it is never stale.
    final class Cache {
        private var everything: [Cx_Journey_V1_PlanTemplate]?
        private var byID: [String: Cx_Journey_V1_PlanTemplate?] = [:]

        func all(_ db: Database) throws -> [Cx_Journey_V1_PlanTemplate] {
            if let everything { return everything }
            let read = try PlanTemplates.all(db)
            everything = read
            return read
        }

        func fetch(_ db: Database, _ id: String) throws -> Cx_Journey_V1_PlanTemplate? {
            if let known = byID[id] { return known }
            let read = try PlanTemplates.fetch(db, id)
            byID[id] = .some(read)
            return read
        }
    }
}

extension JourneyService {
    func putPlanTemplate(_ request: Cx_Journey_V1_PutPlanTemplateRequest, _ context: ServerContext) async throws
        -> Cx_Journey_V1_PutPlanTemplateResponse
    {
        let template = request.template
        return try await store.write { db in
            try PlanTemplates.validate(db, template, field: "template")
            let created = try PlanTemplates.fetch(db, template.id) == nil
            try PlanTemplates.save(db, template)
            var response = Cx_Journey_V1_PutPlanTemplateResponse()
            response.template = try PlanTemplates.fetch(db, template.id) ?? template
            response.created = created
            return response
        }
    }

    func listPlanTemplates(_ request: Cx_Journey_V1_ListPlanTemplatesRequest, _ context: ServerContext) async throws
        -> Cx_Journey_V1_ListPlanTemplatesResponse
    {
        try await store.read { db in
            var response = Cx_Journey_V1_ListPlanTemplatesResponse()
            response.templates = try PlanTemplates.all(db)
            return response
        }
    }

    func deletePlanTemplate(_ request: Cx_Journey_V1_DeletePlanTemplateRequest, _ context: ServerContext) async throws
        -> Cx_Journey_V1_DeletePlanTemplateResponse
    {
        try RequestCheck.id(request.id, field: "id")
        guard request.id != PlanTemplates.defaultID else {
            throw RPCError(
                code: .failedPrecondition, message: "the default template cannot be deleted, only replaced (PutPlanTemplate)",
                reason: "DEFAULT_TEMPLATE")
        }
        return try await store.write { db in
            try db.execute(sql: "DELETE FROM plan_template WHERE id = ?", arguments: [request.id])
            guard db.changesCount > 0 else {
                throw RPCError(code: .notFound, message: "no plan template has id \(RequestCheck.quoted(request.id))", reason: "TEMPLATE_NOT_FOUND")
            }
            return .init()
        }
    }
}
