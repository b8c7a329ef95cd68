import CXModel
import CXService
import CXStore
import CXWire
import Foundation
import GRDB
import SwiftProtobuf

extension FeedbackService {
    func periodDays(from: Google_Protobuf_Timestamp?, to: Google_Protobuf_Timestamp?) throws(RPCError) -> (from: Int64, to: Int64) {
        try UTCDay.period(from: from, to: to, now: clock())
    }

    /// The same period in seconds.
    func period(from: Google_Protobuf_Timestamp?, to: Google_Protobuf_Timestamp?) throws(RPCError) -> (from: Double, to: Double) {
        let days = try periodDays(from: from, to: to)
        return (Double(days.from) * 86_400, Double(days.to) * 86_400)
    }

    /// Sums of score_day rows, and the scores they make.
    struct Counts {
        var responses: Int64 = 0, promoters: Int64 = 0, passives: Int64 = 0, detractors: Int64 = 0
        var csatAnswers: Int64 = 0, csatSatisfied: Int64 = 0, cesAnswers: Int64 = 0, cesSum: Int64 = 0

        mutating func add(_ row: Row) {
            responses += row["responses"] ?? 0
            promoters += row["promoters"] ?? 0
            passives += row["passives"] ?? 0
            detractors += row["detractors"] ?? 0
            csatAnswers += row["csat_answers"] ?? 0
            csatSatisfied += row["csat_satisfied"] ?? 0
            cesAnswers += row["ces_answers"] ?? 0
            cesSum += row["ces_sum"] ?? 0
        }

        var scores: Cx_Feedback_V1_Scores {
            var scores = Cx_Feedback_V1_Scores()
            scores.responses = responses
            scores.promoters = promoters
            scores.passives = passives
            scores.detractors = detractors
            scores.csatAnswers = csatAnswers
            scores.csatSatisfied = csatSatisfied
            scores.cesAnswers = cesAnswers
            scores.npsAnswers = promoters + passives + detractors
            scores.nps = scores.npsAnswers > 0 ? Double(promoters - detractors) * 100 / Double(scores.npsAnswers) : 0
            scores.csat = csatAnswers > 0 ? Double(csatSatisfied) * 100 / Double(csatAnswers) : 0
            scores.ces = cesAnswers > 0 ? Double(cesSum) / Double(cesAnswers) : 0
            return scores
        }
    }

    static let sums = """
        SUM(responses) AS responses, SUM(promoters) AS promoters, SUM(passives) AS passives, SUM(detractors) AS detractors,
        SUM(csat_answers) AS csat_answers, SUM(csat_satisfied) AS csat_satisfied, SUM(ces_answers) AS ces_answers, SUM(ces_sum) AS ces_sum
        """

    /// Every survey, decoded once (see ``SurveyBodies``).
    func allSurveys(_ db: Database) throws -> [Cx_Feedback_V1_Survey] {
        try Row.fetchAll(db, sql: "SELECT id, created_at FROM survey ORDER BY id").map { row in
            try surveys.survey(db, row[0], createdAt: row[1])
        }
    }

    /// Per survey and day, the summed rows of the surveys `ids` (nil: all).
    static func surveyDays(_ db: Database, ids: [String]?, days: (from: Int64, to: Int64)) throws -> [Row] {
        var arguments: StatementArguments = [ScoreAggregates.Kind.survey.rawValue, days.from, days.to]
        var filter = ""
        if let ids {
            filter = "AND dimension IN (\(ids.map { _ in "?" }.joined(separator: ", ")))"
            _ = arguments.append(contentsOf: StatementArguments(ids))
        }
        return try Row.fetchAll(
            db,
            sql: "SELECT dimension, day, \(sums) FROM score_day WHERE kind = ? AND day >= ? AND day < ? \(filter) GROUP BY dimension, day",
            arguments: arguments)
    }

    /// The first day of the bucket `day` falls in.
    static func bucketStart(_ day: Int64, _ granularity: Cx_Feedback_V1_Granularity) -> Int64 {
        switch granularity {
        case .week:
            // 1970-01-01 was a Thursday: Monday-based weeks start 3 days earlier.
            return day - ((day + 3) % 7 + 7) % 7
        case .month:
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "UTC")!
            let date = Date(timeIntervalSince1970: Double(day) * 86_400)
            let start = calendar.date(from: calendar.dateComponents([.year, .month], from: date))!
            return UTCDay.number(start.timeIntervalSince1970)
        default:
            return day
        }
    }

    /// The bucket after the one starting at `start`.
    static func nextBucket(_ start: Int64, _ granularity: Cx_Feedback_V1_Granularity) -> Int64 {
        switch granularity {
        case .week: return start + 7
        case .month:
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "UTC")!
            let next = calendar.date(byAdding: .month, value: 1, to: Date(timeIntervalSince1970: Double(start) * 86_400))!
            return UTCDay.number(next.timeIntervalSince1970)
        default: return start + 1
        }
    }

    func getScores(_ request: Cx_Feedback_V1_GetScoresRequest, _ context: ServerContext) async throws -> Cx_Feedback_V1_GetScoresResponse {
        let filters = [("survey_id", request.surveyID), ("touchpoint_id", request.touchpointID), ("stage", request.stage)]
            .filter { !$0.1.isEmpty }
        guard filters.count <= 1 else {
            throw RPCError.invalidArgument(field: filters[1].0, "give at most one of survey_id, touchpoint_id and stage")
        }
        if case .UNRECOGNIZED(let value) = request.granularity {
            throw RPCError.invalidArgument(field: "granularity", "\(value) is not a granularity")
        }
        let days = try periodDays(from: request.hasFrom ? request.from : nil, to: request.hasTo ? request.to : nil)
        let granularity = request.granularity
        return try await store.read { db in
            var ids: [String]?
            if !request.surveyID.isEmpty {
                ids = [request.surveyID]
            } else if !request.touchpointID.isEmpty || !request.stage.isEmpty {
                ids = try self.allSurveys(db).filter {
                    request.touchpointID.isEmpty ? $0.stage == request.stage : $0.touchpointID == request.touchpointID
                }.map(\.id)
            }
            var total = Counts()
            var perDay: [Int64: Counts] = [:]
            if ids?.isEmpty != true {
                for row in try Self.surveyDays(db, ids: ids, days: days) {
                    total.add(row)
                    perDay[row["day"], default: Counts()].add(row)
                }
            }
            var response = Cx_Feedback_V1_GetScoresResponse()
            response.total = total.scores
            guard granularity != .unspecified else { return response }
            var start = Self.bucketStart(days.from, granularity)
            while start < days.to {
                let end = Self.nextBucket(start, granularity)
                var counts = Counts()
                for day in max(start, days.from)..<min(end, days.to) {
                    guard let dayCounts = perDay[day] else { continue }
                    counts.responses += dayCounts.responses
                    counts.promoters += dayCounts.promoters
                    counts.passives += dayCounts.passives
                    counts.detractors += dayCounts.detractors
                    counts.csatAnswers += dayCounts.csatAnswers
                    counts.csatSatisfied += dayCounts.csatSatisfied
                    counts.cesAnswers += dayCounts.cesAnswers
                    counts.cesSum += dayCounts.cesSum
                }
                var bucket = Cx_Feedback_V1_ScoreBucket()
                bucket.start = .at(UTCDay.start(start))
                bucket.scores = counts.scores
                response.buckets.append(bucket)
                start = end
            }
            return response
        }
    }

    func rankTouchpoints(_ request: Cx_Feedback_V1_RankTouchpointsRequest, _ context: ServerContext) async throws
        -> Cx_Feedback_V1_RankTouchpointsResponse
    {
        if case .UNRECOGNIZED(let value) = request.metric { throw RPCError.invalidArgument(field: "metric", "\(value) is not a metric") }
        guard request.minSample >= 0 else { throw RPCError.invalidArgument(field: "min_sample", "is \(request.minSample); must be 0 or more") }
        let minSample = Int64(request.minSample == 0 ? 30 : request.minSample)
        let days = try periodDays(from: request.hasFrom ? request.from : nil, to: request.hasTo ? request.to : nil)
        let metric = request.metric == .unspecified ? .nps : request.metric
        return try await store.read { db in
            var ranked: [Cx_Feedback_V1_RankedTouchpoint] = []
            var response = Cx_Feedback_V1_RankTouchpointsResponse()
            // A touchpoint's counts are the sums of its surveys'.
            var touchpointOf: [String: String] = [:]
            for survey in try self.allSurveys(db) where !survey.touchpointID.isEmpty { touchpointOf[survey.id] = survey.touchpointID }
            var counts: [String: Counts] = [:]
            for row in try Self.surveyDays(db, ids: nil, days: days) {
                guard let touchpoint = touchpointOf[row["dimension"]] else { continue }
                counts[touchpoint, default: Counts()].add(row)
            }
            for (id, count) in counts.sorted(by: { $0.key < $1.key }) {
                let scores = count.scores
                let (value, sample): (Double, Int64) =
                    switch metric {
                    case .csat: (scores.csat, scores.csatAnswers)
                    case .ces: (scores.ces, scores.cesAnswers)
                    default: (scores.nps, scores.npsAnswers)
                    }
                guard sample >= minSample else {
                    response.tooFew.append(id)
                    continue
                }
                ranked.append(.with {
                    $0.touchpointID = id
                    $0.value = value
                    $0.sample = sample
                    $0.scores = scores
                })
            }
            // Lower effort is better.
            response.touchpoints = ranked.sorted { metric == .ces ? $0.value < $1.value : $0.value > $1.value }
            return response
        }
    }

    func detractorWords(_ request: Cx_Feedback_V1_DetractorWordsRequest, _ context: ServerContext) async throws
        -> Cx_Feedback_V1_DetractorWordsResponse
    {
        if !request.surveyID.isEmpty { try RequestCheck.id(request.surveyID, field: "survey_id") }
        guard (0...200).contains(request.limit) else { throw RPCError.invalidArgument(field: "limit", "is \(request.limit); must be 0 to 200") }
        guard request.minCount >= 0 else { throw RPCError.invalidArgument(field: "min_count", "is \(request.minCount); must be 0 or more") }
        let limit = request.limit == 0 ? 20 : Int(request.limit)
        let minCount = Int64(request.minCount == 0 ? 3 : request.minCount)
        let days = try periodDays(from: request.hasFrom ? request.from : nil, to: request.hasTo ? request.to : nil)
        return try await store.read { db in
            let surveyFilter = request.surveyID.isEmpty ? "" : "AND survey_id = ?"
            var arguments: StatementArguments = [days.from, days.to]
            if !request.surveyID.isEmpty { _ = arguments.append(contentsOf: [request.surveyID]) }
            var counts: [String: (detractor: Int64, promoter: Int64)] = [:]
            for row in try Row.fetchAll(
                db, sql: "SELECT word, category, SUM(count) FROM word_day WHERE day >= ? AND day < ? \(surveyFilter) GROUP BY word, category",
                arguments: arguments)
            {
                let word: String = row[0]
                let category = NpsCategory(rawValue: row[1]) ?? .unspecified
                let count: Int64 = row[2]
                if category == .detractor { counts[word, default: (0, 0)].detractor += count }
                if category == .promoter { counts[word, default: (0, 0)].promoter += count }
            }
            var response = Cx_Feedback_V1_DetractorWordsResponse()
            let texts = counts.removeValue(forKey: "") ?? (0, 0)
            response.detractorTexts = texts.detractor
            response.promoterTexts = texts.promoter
            // Log-odds with add-one smoothing: how much likelier a detractor's
            // text holds the word than a promoter's.
            let d = Double(texts.detractor) + 2
            let p = Double(texts.promoter) + 2
            response.words = counts.filter { $0.value.detractor >= minCount }.map { word, count in
                let inDetractors = (Double(count.detractor) + 1) / d
                let inPromoters = (Double(count.promoter) + 1) / p
                return Cx_Feedback_V1_WordScore.with {
                    $0.word = word
                    $0.detractorCount = count.detractor
                    $0.promoterCount = count.promoter
                    $0.score = log(inDetractors / (1 - min(inDetractors, 0.999))) - log(inPromoters / (1 - min(inPromoters, 0.999)))
                }
            }.sorted { ($0.score, $1.word) > ($1.score, $0.word) }.prefix(limit).map { $0 }
            return response
        }
    }
}
