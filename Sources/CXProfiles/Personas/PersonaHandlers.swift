import CXModel
import CXStore
import CXWire
import Foundation
import GRDB
import SwiftProtobuf

extension ProfilesService {
    func registerPersonas(into router: inout RPCRouter) {
        router.register(Cx_Profiles_V1_Personas.definePersona) { try await self.definePersona($0, $1) }
        router.register(Cx_Profiles_V1_Personas.listPersonas) { try await self.listPersonas($0, $1) }
        router.register(Cx_Profiles_V1_Personas.updatePersona) { try await self.updatePersona($0, $1) }
        router.register(Cx_Profiles_V1_Personas.deletePersona) { try await self.deletePersona($0, $1) }
        router.register(Cx_Profiles_V1_Personas.matchPersona) { try await self.matchPersona($0, $1) }
        router.register(Cx_Profiles_V1_Personas.personaDistribution) { try await self.personaDistribution($0, $1) }
    }

    static func compilePersona(_ persona: Cx_Profiles_V1_Persona) throws(RPCError) -> CompiledPersona {
        do {
            return try CompiledPersona.compile(persona)
        } catch {
            throw RPCError.invalidArgument(field: error.field, error.message)
        }
    }

    static func personaNotFound(_ id: String) -> RPCError {
        RPCError(code: .notFound, message: "no persona has id \"\(id)\"", reason: "PERSONA_NOT_FOUND")
    }

    static func loadPersona(_ db: Database, id: String) throws -> Cx_Profiles_V1_Persona {
        guard let body = try RecordBody.fetchOne(db, sql: "SELECT body FROM persona WHERE id = ?", arguments: [id]) else {
            throw personaNotFound(id)
        }
        return try body.decode(Cx_Profiles_V1_Persona.self, table: "persona", key: id)
    }

    static func allPersonas(_ db: Database) throws -> [CompiledPersona] {
        let rows = try Row.fetchAll(db, sql: "SELECT id, body FROM persona ORDER BY id")
        return try rows.compactMap { row in
            let id: String = try row.decode(String.self, forColumn: "id")
            let persona = try row.decode(RecordBody.self, forColumn: "body").decode(Cx_Profiles_V1_Persona.self, table: "persona", key: id)
            return try? CompiledPersona.compile(persona)
        }
    }

    static func savePersona(_ db: Database, _ persona: Cx_Profiles_V1_Persona, isNew: Bool) throws {
        let nameKey = CXText.normalize(persona.name)
        if let other = try String.fetchOne(db, sql: "SELECT id FROM persona WHERE name_key = ? AND id <> ?", arguments: [nameKey, persona.id]) {
            throw RPCError(code: .alreadyExists, message: "persona \"\(other)\" is already named \"\(persona.name)\"", reason: "PERSONA_NAME_TAKEN")
        }
        let body = try RecordBody(persona)
        if isNew {
            try db.execute(sql: "INSERT INTO persona (id, name_key, body) VALUES (?, ?, ?)", arguments: [persona.id, nameKey, body])
        } else {
            try db.execute(sql: "UPDATE persona SET name_key = ?, body = ? WHERE id = ?", arguments: [nameKey, body, persona.id])
        }
    }

    static func minScore(_ request: Double?) throws(RPCError) -> Double {
        guard let request else { return PersonaMatcher.defaultMinScore }
        guard request.isFinite, (0...1).contains(request) else { throw .invalidArgument(field: "min_score", "\(request) is not 0 to 1") }
        return request
    }

    func definePersona(_ request: Cx_Profiles_V1_DefinePersonaRequest, _ context: ServerContext) async throws
        -> Cx_Profiles_V1_DefinePersonaResponse
    {
        var persona = request.persona
        let now = clock()
        persona.id = Self.generateID(prefix: "p-")
        persona.version = 1
        persona.createdAt = Google_Protobuf_Timestamp(date: now)
        persona.updatedAt = persona.createdAt
        _ = try Self.compilePersona(persona)
        let key = try idempotencyKey(request.idempotencyKey, context)
        let defined = persona
        return try await write("profiles.DefinePersona", key: key, request: request) { db in
            try Self.savePersona(db, defined, isNew: true)
            var response = Cx_Profiles_V1_DefinePersonaResponse()
            response.persona = defined
            return response
        }
    }

    func listPersonas(_ request: Cx_Profiles_V1_ListPersonasRequest, _ context: ServerContext) async throws -> Cx_Profiles_V1_ListPersonasResponse {
        let size = try Self.pageSize(request.pageSize)
        let scope = "profiles.ListPersonas"
        let after = try position(request.pageToken, scope: scope)?.first ?? ""
        let personas = try await store.read { db in
            try Row.fetchAll(db, sql: "SELECT id, body FROM persona WHERE id > ? ORDER BY id LIMIT ?", arguments: [after, size]).map { row in
                let id: String = try row.decode(String.self, forColumn: "id")
                return try row.decode(RecordBody.self, forColumn: "body").decode(Cx_Profiles_V1_Persona.self, table: "persona", key: id)
            }
        }
        var response = Cx_Profiles_V1_ListPersonasResponse()
        response.personas = personas
        response.nextPageToken = nextToken(scope: scope, last: personas.last?.id, full: personas.count == size)
        return response
    }

    func updatePersona(_ request: Cx_Profiles_V1_UpdatePersonaRequest, _ context: ServerContext) async throws
        -> Cx_Profiles_V1_UpdatePersonaResponse
    {
        let id = request.personaID
        guard !id.isEmpty else { throw RPCError.invalidArgument(field: "persona_id", "must not be empty") }
        guard !request.updateMask.isEmpty else { throw RPCError.invalidArgument(field: "update_mask", "must name name, description or criteria") }
        for (index, path) in request.updateMask.enumerated() where !["name", "description", "criteria"].contains(path) {
            throw RPCError.invalidArgument(field: "update_mask[\(index)]", "\"\(path)\" is not one of name, description, criteria")
        }
        let key = try idempotencyKey(request.idempotencyKey, context)
        let now = clock()
        return try await write("profiles.UpdatePersona", key: key, request: request) { db in
            var persona = try Self.loadPersona(db, id: id)
            if request.expectedVersion != 0, request.expectedVersion != persona.version {
                throw RPCError(code: .aborted, message: "persona \"\(id)\" is at version \(persona.version), not \(request.expectedVersion)", reason: "VERSION_MISMATCH")
            }
            let paths = Set(request.updateMask)
            if paths.contains("name") { persona.name = request.persona.name }
            if paths.contains("description") { persona.description_p = request.persona.description_p }
            if paths.contains("criteria") { persona.criteria = request.persona.criteria }
            _ = try Self.compilePersona(persona)
            persona.version += 1
            persona.updatedAt = Google_Protobuf_Timestamp(date: now)
            try Self.savePersona(db, persona, isNew: false)
            var response = Cx_Profiles_V1_UpdatePersonaResponse()
            response.persona = persona
            return response
        }
    }

    func deletePersona(_ request: Cx_Profiles_V1_DeletePersonaRequest, _ context: ServerContext) async throws
        -> Cx_Profiles_V1_DeletePersonaResponse
    {
        let id = request.personaID
        guard !id.isEmpty else { throw RPCError.invalidArgument(field: "persona_id", "must not be empty") }
        let key = try idempotencyKey(request.idempotencyKey, context)
        let now = clock()
        return try await write("profiles.DeletePersona", key: key, request: request) { db in
            _ = try Self.loadPersona(db, id: id)
            try db.execute(sql: "DELETE FROM persona WHERE id = ?", arguments: [id])
            var response = Cx_Profiles_V1_DeletePersonaResponse()
            response.personaID = id
            response.deletedAt = Google_Protobuf_Timestamp(date: now)
            return response
        }
    }

    static func personaScore(_ entry: (persona: CompiledPersona, score: Double)) -> Cx_Profiles_V1_PersonaScore {
        var score = Cx_Profiles_V1_PersonaScore()
        score.personaID = entry.persona.id
        score.personaName = entry.persona.name
        score.score = entry.score
        return score
    }

    func matchPersona(_ request: Cx_Profiles_V1_MatchPersonaRequest, _ context: ServerContext) async throws
        -> Cx_Profiles_V1_MatchPersonaResponse
    {
        let id = request.customerID
        try CustomerValidation.validateID(id, field: "customer_id")
        let minScore = try Self.minScore(request.hasMinScore ? request.minScore : nil)
        let now = clock()
        return try await store.read { db in
            let customer = try Self.live(try ProfilesDatabase.customer(db, id: id), id: id)
            let personas = try Self.allPersonas(db)
            let subject = CustomerSubject(customer)
            let ranked = PersonaMatcher.rank(subject, personas: personas, now: now)
            var response = Cx_Profiles_V1_MatchPersonaResponse()
            response.matched = PersonaMatcher.match(subject, personas: personas, minScore: minScore, now: now).best != nil
            if let best = ranked.best { response.best = Self.personaScore(best) }
            if let runnerUp = ranked.runnerUp { response.runnerUp = Self.personaScore(runnerUp) }
            return response
        }
    }

    func personaDistribution(_ request: Cx_Profiles_V1_PersonaDistributionRequest, _ context: ServerContext) async throws
        -> Cx_Profiles_V1_PersonaDistributionResponse
    {
        let minScore = try Self.minScore(request.hasMinScore ? request.minScore : nil)
        let now = clock()
        return try await store.read { db in
            var tally = PersonaTally(personas: try Self.allPersonas(db), minScore: minScore)
            try ProfilesDatabase.forEachLiveCustomer(db) { tally.add(CustomerSubject($0), now: now) }
            var response = Cx_Profiles_V1_PersonaDistributionResponse()
            let total = max(tally.total, 1)
            for entry in tally.ranked {
                var share = Cx_Profiles_V1_PersonaShare()
                share.personaID = entry.persona.id
                share.personaName = entry.persona.name
                share.count = entry.count
                share.share = Double(entry.count) / Double(total)
                response.personas.append(share)
            }
            response.unmatched = tally.unmatched
            response.unmatchedShare = Double(tally.unmatched) / Double(total)
            response.totalCustomers = tally.total
            response.evaluatedAt = Google_Protobuf_Timestamp(date: now)
            return response
        }
    }
}
