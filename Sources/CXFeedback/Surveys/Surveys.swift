import CXModel
import CXService
import CXStore
import CXWire
import Foundation
import GRDB
import Synchronization

typealias QuestionKind = Cx_Feedback_V1_Question.Kind

/// Surveys: their questions and the checks every answer must pass.
enum Surveys {
    static let maxQuestions = 50
    static let maxOptions = 50
    static let maxTextAnswer = 4_000
    static let defaultFollowUpThreshold: Int32 = 6

    /// The score range of a scored question, nil for the others.
    static func range(_ kind: QuestionKind) -> ClosedRange<Int32>? {
        switch kind {
        case .nps: 0...10
        case .csat: 1...5
        case .ces: 1...7
        default: nil
        }
    }

    static func validate(_ survey: Cx_Feedback_V1_Survey, field: String) throws(RPCError) {
        if !survey.id.isEmpty { try RequestCheck.id(survey.id, field: "\(field).id") }
        try text(survey.name, field: "\(field).name", max: 200)
        guard !survey.questions.isEmpty else { throw .invalidArgument(field: "\(field).questions", "must hold at least one question") }
        guard survey.questions.count <= maxQuestions else {
            throw .invalidArgument(field: "\(field).questions", "has \(survey.questions.count) questions; at most \(maxQuestions)")
        }
        var ids: Set<String> = []
        var scored: Set<Int> = []
        for (index, question) in survey.questions.enumerated() {
            let path = "\(field).questions[\(index)]"
            try RequestCheck.id(question.id, field: "\(path).id")
            guard ids.insert(question.id).inserted else {
                throw .invalidArgument(field: "\(path).id", "\(RequestCheck.quoted(question.id)) is used by an earlier question")
            }
            if case .UNRECOGNIZED(let value) = question.kind { throw .invalidArgument(field: "\(path).kind", "\(value) is not a question kind") }
            guard question.kind != .unspecified else { throw .invalidArgument(field: "\(path).kind", "is required") }
            try text(question.text, field: "\(path).text", max: 500)
            if range(question.kind) != nil, !scored.insert(question.kind.rawValue).inserted {
                throw .invalidArgument(field: "\(path).kind", "a survey asks at most one \(question.kind) question (it feeds the scores)")
            }
            switch question.kind {
            case .singleChoice, .multipleChoice:
                guard (2...maxOptions).contains(question.options.count) else {
                    throw .invalidArgument(field: "\(path).options", "has \(question.options.count) options; a choice needs 2 to \(maxOptions)")
                }
                var seen: Set<String> = []
                for (optionIndex, option) in question.options.enumerated() {
                    try text(option, field: "\(path).options[\(optionIndex)]", max: 200)
                    guard seen.insert(option).inserted else {
                        throw .invalidArgument(field: "\(path).options[\(optionIndex)]", "\(RequestCheck.quoted(option)) is offered twice")
                    }
                }
            default:
                guard question.options.isEmpty else {
                    throw .invalidArgument(field: "\(path).options", "only choice questions have options")
                }
            }
        }
        if !survey.touchpointID.isEmpty { try RequestCheck.id(survey.touchpointID, field: "\(field).touchpoint_id") }
        if !survey.stage.isEmpty, !Cx_Journey_V1_Stage.journey.contains(where: { $0.name == survey.stage }) {
            throw .invalidArgument(
                field: "\(field).stage",
                "\(RequestCheck.quoted(survey.stage)) is not a journey stage (\(Cx_Journey_V1_Stage.journey.map(\.name).joined(separator: ", ")))")
        }
        guard (0...365).contains(survey.recontactDays) else {
            throw .invalidArgument(field: "\(field).recontact_days", "is \(survey.recontactDays); must be 0 to 365")
        }
        if survey.hasFollowUpThreshold, !(-1...10).contains(survey.followUpThreshold) {
            throw .invalidArgument(field: "\(field).follow_up_threshold", "is \(survey.followUpThreshold); must be -1 (never) or 0 to 10")
        }
    }

    static func text(_ value: String, field: String, max: Int) throws(RPCError) {
        guard !value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw .invalidArgument(field: field, "must not be empty")
        }
        let count = value.unicodeScalars.count
        guard count <= max else { throw .invalidArgument(field: field, "is \(count) characters; at most \(max)") }
    }

    /// Checks `answers` against the survey's questions; returns the NPS,
    /// CSAT and CES scores given.
    static func check(_ answers: [Cx_Feedback_V1_Answer], against survey: Cx_Feedback_V1_Survey) throws(RPCError)
        -> (nps: Int32?, csat: Int32?, ces: Int32?, texts: [String])
    {
        guard !answers.isEmpty else { throw .invalidArgument(field: "answers", "must hold at least one answer") }
        // A survey has a handful of questions: a linear search beats building a dictionary per response.
        var answered: Set<String> = []
        var result: (nps: Int32?, csat: Int32?, ces: Int32?, texts: [String]) = (nil, nil, nil, [])
        for (index, answer) in answers.enumerated() {
            let path = "answers[\(index)]"
            guard let question = survey.questions.first(where: { $0.id == answer.questionID }) else {
                throw .invalidArgument(
                    field: "\(path).question_id", "\(RequestCheck.quoted(answer.questionID)) is not a question of survey \(survey.id)")
            }
            guard answered.insert(answer.questionID).inserted else {
                throw .invalidArgument(field: "\(path).question_id", "question \(answer.questionID) is answered twice")
            }
            if let range = range(question.kind) {
                guard answer.hasScore else { throw .invalidArgument(field: "\(path).score", "is required for a \(question.kind) question") }
                guard range.contains(answer.score) else {
                    throw .invalidArgument(field: "\(path).score", "is \(answer.score); \(question.kind) scores are \(range.lowerBound) to \(range.upperBound)")
                }
                guard answer.choices.isEmpty, answer.text.isEmpty else {
                    throw .invalidArgument(field: path, "a \(question.kind) answer has a score only")
                }
                switch question.kind {
                case .nps: result.nps = answer.score
                case .csat: result.csat = answer.score
                default: result.ces = answer.score
                }
                continue
            }
            guard !answer.hasScore else { throw .invalidArgument(field: "\(path).score", "question \(question.id) takes no score") }
            switch question.kind {
            case .singleChoice, .multipleChoice:
                guard answer.text.isEmpty else { throw .invalidArgument(field: "\(path).text", "question \(question.id) takes choices, not text") }
                let single = question.kind == .singleChoice
                guard single ? answer.choices.count == 1 : !answer.choices.isEmpty else {
                    throw .invalidArgument(field: "\(path).choices", single ? "must hold exactly one choice" : "must hold at least one choice")
                }
                var seen: Set<String> = []
                for (choiceIndex, choice) in answer.choices.enumerated() {
                    guard question.options.contains(choice) else {
                        throw .invalidArgument(
                            field: "\(path).choices[\(choiceIndex)]", "\(RequestCheck.quoted(choice)) is not one of question \(question.id)'s options")
                    }
                    guard seen.insert(choice).inserted else {
                        throw .invalidArgument(field: "\(path).choices[\(choiceIndex)]", "\(RequestCheck.quoted(choice)) is chosen twice")
                    }
                }
            default:
                guard answer.choices.isEmpty else { throw .invalidArgument(field: "\(path).choices", "question \(question.id) takes text") }
                try text(answer.text, field: "\(path).text", max: maxTextAnswer)
                result.texts.append(answer.text)
            }
        }
        for question in survey.questions where question.required && !answered.contains(question.id) {
            throw .invalidArgument(field: "answers", "question \(question.id) (\(RequestCheck.quoted(question.text))) is required")
        }
        return result
    }

    static func fetch(_ db: Database, _ id: String) throws -> Cx_Feedback_V1_Survey? {
        guard let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT state, created_at, closed_at, responses, body FROM survey WHERE id = ?"), arguments: [id])
        else { return nil }
        var survey = try FeedbackDatabase.decodeBody(row, Cx_Feedback_V1_Survey.self, table: "survey", key: id)
        survey.state = Cx_Feedback_V1_Survey.State(rawValue: row["state"]) ?? .unspecified
        survey.createdAt = .at(row["created_at"])
        if let closed: Double = row["closed_at"] { survey.closedAt = .at(closed) }
        survey.responses = row["responses"]
        return survey
    }

    static func require(_ db: Database, _ id: String, field: String = "survey_id") throws -> Cx_Feedback_V1_Survey {
        guard let survey = try fetch(db, id) else { throw notFound(id, field: field) }
        return survey
    }

    static func notFound(_ id: String, field: String = "survey_id") -> RPCError {
        RPCError(
            code: .notFound, message: "\(field): no survey has id \(RequestCheck.quoted(id))",
            fieldViolations: [.init(field: field, description: "no such survey")], reason: "SURVEY_NOT_FOUND")
    }
}

extension FeedbackService {
    func createSurvey(_ request: Cx_Feedback_V1_CreateSurveyRequest, _ context: ServerContext) async throws
        -> Cx_Feedback_V1_CreateSurveyResponse
    {
        var survey = request.survey
        try Surveys.validate(survey, field: "survey")
        let now = clock().timeIntervalSince1970
        if survey.id.isEmpty { survey.id = FeedbackDatabase.timeOrderedID(prefix: "s-", at: now) }
        if !survey.hasFollowUpThreshold { survey.followUpThreshold = Surveys.defaultFollowUpThreshold }
        survey.state = .open
        survey.clearCreatedAt()
        survey.clearClosedAt()
        survey.responses = 0
        let stored = survey
        return try await store.write { db in
            guard try Surveys.fetch(db, stored.id) == nil else {
                throw RPCError(code: .alreadyExists, message: "a survey with id \(RequestCheck.quoted(stored.id)) already exists", reason: "SURVEY_EXISTS")
            }
            try db.execute(
                sql: "INSERT INTO survey (id, state, created_at, body) VALUES (?, ?, ?, ?)",
                arguments: [stored.id, Cx_Feedback_V1_Survey.State.open.rawValue, now, try RecordBody(stored)])
            var response = Cx_Feedback_V1_CreateSurveyResponse()
            response.survey = try Surveys.require(db, stored.id)
            return response
        }
    }

    func getSurvey(_ request: Cx_Feedback_V1_GetSurveyRequest, _ context: ServerContext) async throws -> Cx_Feedback_V1_GetSurveyResponse {
        try RequestCheck.id(request.surveyID, field: "survey_id")
        return try await store.read { db in
            var response = Cx_Feedback_V1_GetSurveyResponse()
            response.survey = try Surveys.require(db, request.surveyID)
            return response
        }
    }

    func listSurveys(_ request: Cx_Feedback_V1_ListSurveysRequest, _ context: ServerContext) async throws
        -> Cx_Feedback_V1_ListSurveysResponse
    {
        try await store.read { db in
            let ids = try String.fetchAll(
                db,
                sql: "SELECT id FROM survey \(request.includeClosed ? "" : "WHERE state = \(Cx_Feedback_V1_Survey.State.open.rawValue)") ORDER BY created_at DESC, id")
            var response = Cx_Feedback_V1_ListSurveysResponse()
            response.surveys = try ids.map { try Surveys.require(db, $0) }
            return response
        }
    }

    func closeSurvey(_ request: Cx_Feedback_V1_CloseSurveyRequest, _ context: ServerContext) async throws
        -> Cx_Feedback_V1_CloseSurveyResponse
    {
        try RequestCheck.id(request.surveyID, field: "survey_id")
        let now = clock().timeIntervalSince1970
        return try await store.write { db in
            let survey = try Surveys.require(db, request.surveyID)
            if survey.state == .open {
                try db.execute(
                    sql: "UPDATE survey SET state = ?, closed_at = ? WHERE id = ?",
                    arguments: [Cx_Feedback_V1_Survey.State.closed.rawValue, now, survey.id])
            }
            var response = Cx_Feedback_V1_CloseSurveyResponse()
            response.survey = try Surveys.require(db, survey.id)
            return response
        }
    }

    func shouldAsk(_ request: Cx_Feedback_V1_ShouldAskRequest, _ context: ServerContext) async throws -> Cx_Feedback_V1_ShouldAskResponse {
        try RequestCheck.id(request.customerID, field: "customer_id")
        try RequestCheck.id(request.surveyID, field: "survey_id")
        let now = clock().timeIntervalSince1970
        return try await store.read { db in
            let survey = try Surveys.require(db, request.surveyID)
            var response = Cx_Feedback_V1_ShouldAskResponse()
            let last = try Double.fetchOne(
                db.cachedStatement(sql: "SELECT last_answered_at FROM contact WHERE customer_id = ?"), arguments: [request.customerID])
            if let last { response.lastAnsweredAt = .at(last) }
            if survey.state != .open {
                response.reason = "survey \(survey.id) is closed"
                return response
            }
            if let last, survey.recontactDays > 0, last + Double(survey.recontactDays) * 86_400 > now {
                let next = last + Double(survey.recontactDays) * 86_400
                response.reason = "answered a survey \(Int((now - last) / 86_400)) days ago; this survey waits \(survey.recontactDays) days"
                response.nextAllowedAt = .at(next)
                return response
            }
            response.ask = true
            return response
        }
    }
}

/// Surveys' questions and settings, decoded once: a survey's body never
/// changes after it is created (only its state and count do, which live in
/// their own columns), and decoding it for every response cost a tenth of
/// the writer's time in cx-bench feedback. A body is known by its id and
/// creation time, so one read in a batch that then failed to commit is
/// never mistaken for a survey created later under the same id.
final class SurveyBodies: Sendable {
    static let limit = 4_096
    private let cache = Mutex<[String: (createdAt: Double, survey: Cx_Feedback_V1_Survey)]>([:])

    func survey(_ db: Database, _ id: String, createdAt: Double) throws -> Cx_Feedback_V1_Survey {
        if let cached = cache.withLock({ $0[id] }), cached.createdAt == createdAt { return cached.survey }
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT body FROM survey WHERE id = ?"), arguments: [id]) else {
            throw Surveys.notFound(id)
        }
        let survey = try FeedbackDatabase.decodeBody(row, Cx_Feedback_V1_Survey.self, table: "survey", key: id)
        cache.withLock { cache in
            if cache.count >= Self.limit { cache.removeAll() }
            cache[id] = (createdAt, survey)
        }
        return survey
    }
}
