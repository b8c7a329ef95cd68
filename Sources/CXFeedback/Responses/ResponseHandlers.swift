import CXModel
import CXService
import CXStore
import CXWire
import Foundation
import GRDB

typealias NpsCategory = Cx_Feedback_V1_SubmitResponseResponse.NpsCategory

extension FeedbackService {
    static func category(nps: Int32?) -> NpsCategory {
        guard let nps else { return .unspecified }
        return nps >= 9 ? .promoter : nps >= 7 ? .passive : .detractor
    }

    func submitResponse(_ request: Cx_Feedback_V1_SubmitResponseRequest, _ context: ServerContext) async throws
        -> Cx_Feedback_V1_SubmitResponseResponse
    {
        try RequestCheck.id(request.surveyID, field: "survey_id")
        try RequestCheck.id(request.customerID, field: "customer_id")
        if case .UNRECOGNIZED(let value) = request.channel { throw RPCError.invalidArgument(field: "channel", "\(value) is not a channel") }
        let key = try RequestCheck.idempotencyKey(request.idempotencyKey, context)
        let now = clock().timeIntervalSince1970
        let events = FeedbackEvents(destinations: destinations, now: now)
        return try await store.idempotentWrite("submit-response", key: key, request: request) { db in
            // Counts the response and reads the survey's state in one statement;
            // a refusal below rolls the count back with the rest. The
            // statements of a response bind straight through SQLite's C API
            // (CXStore's DirectBinding): they run on the one writer thread.
            guard let counted = try db.cachedStatement(
                sql: "UPDATE survey SET responses = responses + 1 WHERE id = ? RETURNING state, created_at"
            ).first(.text(request.surveyID), read: { row in (state: row[0] as Int, createdAt: row[1] as Double) })
            else { throw Surveys.notFound(request.surveyID) }
            let survey = try self.surveys.survey(db, request.surveyID, createdAt: counted.createdAt)
            guard Cx_Feedback_V1_Survey.State(rawValue: counted.state) == .open else {
                throw RPCError(code: .failedPrecondition, message: "survey \(survey.id) is closed; it takes no more responses", reason: "SURVEY_CLOSED")
            }
            let scores = try Surveys.check(request.answers, against: survey)
            // The last answer is read only when the survey has a recontact window.
            if survey.recontactDays > 0,
                let lastAnswered = try db.cachedStatement(sql: "SELECT last_answered_at FROM contact WHERE customer_id = ?")
                    .first(.text(request.customerID), read: { row in row[0] as Double }),
                lastAnswered + Double(survey.recontactDays) * 86_400 > now
            {
                throw RPCError(
                    code: .failedPrecondition,
                    message: "customer \(request.customerID) answered a survey \(Int((now - lastAnswered) / 86_400)) days ago; "
                        + "survey \(survey.id) asks again only after \(survey.recontactDays) days (ShouldAsk says when)",
                    reason: "RECONTACT_WINDOW")
            }
            let id = FeedbackDatabase.timeOrderedID(prefix: "r-", at: now)
            var body = Cx_Feedback_V1_SubmitResponseRequest()
            body.answers = request.answers
            body.channel = request.channel
            try db.cachedStatement(sql: "INSERT INTO response (id, survey_id, customer_id, submitted_at, nps, body) VALUES (?, ?, ?, ?, ?, ?)")
                .run(
                    .text(id), .text(survey.id), .text(request.customerID), .real(now), .integer(orNull: scores.nps.map(Int.init)),
                    .body(try FeedbackDatabase.body(body)))
            let answered = try db.cachedStatement(sql: """
                INSERT INTO contact (customer_id, last_answered_at, answered) VALUES (?, ?, 1)
                ON CONFLICT (customer_id) DO UPDATE SET last_answered_at = excluded.last_answered_at, answered = answered + 1
                RETURNING answered
                """
            ).first(.text(request.customerID), .real(now), read: { row in row[0] as Int64 }) ?? 1
            let category = Self.category(nps: scores.nps)
            try ScoreAggregates.add(db, survey: survey, day: UTCDay.number(now), scores: (scores.nps, scores.csat, scores.ces))
            if category == .detractor || category == .promoter {
                try ScoreAggregates.addWords(db, survey: survey.id, day: UTCDay.number(now), category: category, texts: scores.texts)
            }
            var response = Cx_Feedback_V1_SubmitResponseResponse()
            response.responseID = id
            response.npsCategory = category
            response.submittedAt = .at(now)
            if let nps = scores.nps, nps <= survey.followUpThreshold {
                var complaint = Cx_Feedback_V1_Complaint()
                complaint.customerID = request.customerID
                complaint.touchpointID = survey.touchpointID
                complaint.category = "nps_follow_up"
                complaint.severity = nps <= 3 ? .high : .medium
                let said = scores.texts.isEmpty ? "" : ": \"" + scores.texts.joined(separator: " / ") + "\""
                complaint.description_p = String("NPS \(nps) on survey \(survey.name)\(said)".unicodeScalars.prefix(Surveys.maxTextAnswer))
                complaint.channel = request.channel
                complaint.responseID = id
                response.complaintID = try Complaints.insert(db, complaint, now: now, author: "feedback")
            }
            try events.responded(db, survey: survey, customer: request.customerID, responseID: id, nps: scores.nps, answered: answered)
            return response
        }
    }
}

/// The score and word aggregates, updated with each response.
enum ScoreAggregates {
    /// score_day's kinds: only per-survey rows are written (1); the others
    /// are kept free for aggregates that may need their own rows later.
    enum Kind: Int { case survey = 1 }

    static func add(_ db: Database, survey: Cx_Feedback_V1_Survey, day: Int64, scores: (nps: Int32?, csat: Int32?, ces: Int32?)) throws {
        let category = FeedbackService.category(nps: scores.nps)
        let statement = try db.cachedStatement(sql: """
            INSERT INTO score_day (kind, dimension, day, responses, promoters, passives, detractors, csat_answers, csat_satisfied, ces_answers, ces_sum)
            VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (kind, dimension, day) DO UPDATE SET
                responses = responses + 1, promoters = promoters + excluded.promoters, passives = passives + excluded.passives,
                detractors = detractors + excluded.detractors, csat_answers = csat_answers + excluded.csat_answers,
                csat_satisfied = csat_satisfied + excluded.csat_satisfied, ces_answers = ces_answers + excluded.ces_answers,
                ces_sum = ces_sum + excluded.ces_sum
            """)
        // One row per survey and day: a touchpoint's, a stage's and everyone's
        // scores are the sums of their surveys' rows (a survey's touchpoint
        // and stage never change), read in GetScores and RankTouchpoints.
        // Four rows per response cost 11% of the writer.
        do {
            try statement.run(
                .integer(Kind.survey.rawValue), .text(survey.id), .integer(day),
                .integer(category == .promoter ? 1 : 0), .integer(category == .passive ? 1 : 0), .integer(category == .detractor ? 1 : 0),
                .integer(scores.csat == nil ? 0 : 1), .integer((scores.csat ?? 0) >= 4 ? 1 : 0),
                .integer(scores.ces == nil ? 0 : 1), .integer(scores.ces ?? 0))
        }
    }

    /// Counts each word once per response, and the response itself under "".
    static func addWords(_ db: Database, survey: String, day: Int64, category: NpsCategory, texts: [String]) throws {
        let statement = try db.cachedStatement(sql: """
            INSERT INTO word_day (day, survey_id, category, word, count) VALUES (?, ?, ?, ?, 1)
            ON CONFLICT (day, survey_id, category, word) DO UPDATE SET count = count + 1
            """)
        var words: Set<String> = []
        for text in texts { words.formUnion(FeedbackWords.words(text)) }
        guard !texts.isEmpty else { return }
        try statement.run(.integer(day), .text(survey), .integer(category.rawValue), .text(""))
        for word in words { try statement.run(.integer(day), .text(survey), .integer(category.rawValue), .text(word)) }
    }
}
