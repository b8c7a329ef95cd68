import CXModel
import CXService
import CXStore
import CXWire
import Foundation
import GRDB

extension JourneyService {
    func getRules(_ request: Cx_Journey_V1_GetRulesRequest, _ context: ServerContext) async throws -> Cx_Journey_V1_GetRulesResponse {
        let cache = rulesCache
        return try await store.read { db in
            var response = Cx_Journey_V1_GetRulesResponse()
            response.rules = try cache.value(db).rules
            return response
        }
    }

    /// A new version of the rules, for events from now on. New quiet days
    /// apply to every customer at the next DetectLost (nothing is stored per
    /// customer that depends on them).
    func updateRules(_ request: Cx_Journey_V1_UpdateRulesRequest, _ context: ServerContext) async throws
        -> Cx_Journey_V1_UpdateRulesResponse
    {
        guard request.hasRules else { throw RPCError.invalidArgument(field: "rules", "is required") }
        try StageRules.validate(request.rules)
        guard request.expectedVersion >= 0 else {
            throw RPCError.invalidArgument(field: "expected_version", "is \(request.expectedVersion); must be 0 (no check) or a version")
        }
        let now = clock()
        let cache = rulesCache
        return try await store.write { db in
            let current = try cache.value(db)
            if request.expectedVersion != 0, request.expectedVersion != current.rules.version {
                throw RPCError(
                    code: .failedPrecondition,
                    message: "the rules in force are version \(current.rules.version), not \(request.expectedVersion): "
                        + "someone changed them meanwhile; read them again and redo the change",
                    reason: "VERSION_CONFLICT")
            }
            var rules = request.rules
            rules.version = current.rules.version + 1
            rules.effectiveAt = .init(date: now)
            try db.execute(
                sql: "INSERT INTO rules (version, effective_at, body) VALUES (?, ?, ?)",
                arguments: [rules.version, now.timeIntervalSince1970, try RecordBody(rules)])
            return .with { $0.rules = rules }
        }
    }
}
