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

    static func scores(_ row: Row) -> Cx_Feedback_V1_Scores {
        var scores = Cx_Feedback_V1_Scores()
        scores.responses = row["responses"] ?? 0
        scores.promoters = row["promoters"] ?? 0
        scores.passives = row["passives"] ?? 0
        scores.detractors = row["detractors"] ?? 0
        scores.csatAnswers = row["csat_answers"] ?? 0
        scores.csatSatisfied = row["csat_satisfied"] ?? 0
        scores.cesAnswers = row["ces_answers"] ?? 0
        let cesSum: Int64 = row["ces_sum"] ?? 0
        return Self.finish(scores, cesSum: cesSum)
    }

    /// Fills in the ratios from the counts.
    static func finish(_ counts: Cx_Feedback_V1_Scores, cesSum: Int64) -> Cx_Feedback_V1_Scores {
        var scores = counts
        scores.npsAnswers = scores.promoters + scores.passives + scores.detractors
        scores.nps = scores.npsAnswers > 0 ? Double(scores.promoters - scores.detractors) * 100 / Double(scores.npsAnswers) : 0
        scores.csat = scores.csatAnswers > 0 ? Double(scores.csatSatisfied) * 100 / Double(scores.csatAnswers) : 0
        scores.ces = scores.cesAnswers > 0 ? Double(cesSum) / Double(scores.cesAnswers) : 0
        return scores
    }

    static let sums = """
        SUM(responses) AS responses, SUM(promoters) AS promoters, SUM(passives) AS passives, SUM(detractors) AS detractors,
        SUM(csat_answers) AS csat_answers, SUM(csat_satisfied) AS csat_satisfied, SUM(ces_answers) AS ces_answers, SUM(ces_sum) AS ces_sum
        """

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
        let filters = [("survey_id", request.surveyID, ScoreAggregates.Kind.survey), ("touchpoint_id", request.touchpointID, .touchpoint),
            ("stage", request.stage, .stage)].filter { !$0.1.isEmpty }
        guard filters.count <= 1 else {
            throw RPCError.invalidArgument(field: filters[1].0, "give at most one of survey_id, touchpoint_id and stage")
        }
        if case .UNRECOGNIZED(let value) = request.granularity {
            throw RPCError.invalidArgument(field: "granularity", "\(value) is not a granularity")
        }
        let kind = filters.first?.2 ?? .all
        let dimension = filters.first?.1 ?? ""
        let days = try periodDays(from: request.hasFrom ? request.from : nil, to: request.hasTo ? request.to : nil)
        let granularity = request.granularity
        return try await store.read { db in
            var response = Cx_Feedback_V1_GetScoresResponse()
            let total = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT \(Self.sums) FROM score_day WHERE kind = ? AND dimension = ? AND day >= ? AND day < ?"),
                arguments: [kind.rawValue, dimension, days.from, days.to])
            response.total = total.map(Self.scores) ?? Self.finish(.init(), cesSum: 0)
            guard granularity != .unspecified else { return response }
            var perDay: [Int64: Row] = [:]
            for row in try Row.fetchAll(
                db.cachedStatement(sql: "SELECT day, \(Self.sums) FROM score_day WHERE kind = ? AND dimension = ? AND day >= ? AND day < ? GROUP BY day"),
                arguments: [kind.rawValue, dimension, days.from, days.to])
            {
                perDay[row["day"]] = row
            }
            var start = Self.bucketStart(days.from, granularity)
            while start < days.to {
                let end = Self.nextBucket(start, granularity)
                var counts = Cx_Feedback_V1_Scores()
                var cesSum: Int64 = 0
                for (day, row) in perDay where day >= max(start, days.from) && day < min(end, days.to) {
                    let scores = Self.scores(row)
                    counts.responses += scores.responses
                    counts.promoters += scores.promoters
                    counts.passives += scores.passives
                    counts.detractors += scores.detractors
                    counts.csatAnswers += scores.csatAnswers
                    counts.csatSatisfied += scores.csatSatisfied
                    counts.cesAnswers += scores.cesAnswers
                    cesSum += row["ces_sum"] ?? 0
                }
                var bucket = Cx_Feedback_V1_ScoreBucket()
                bucket.start = .at(Double(start) * 86_400)
                bucket.scores = Self.finish(counts, cesSum: cesSum)
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
            for row in try Row.fetchAll(
                db.cachedStatement(sql: """
                    SELECT dimension, \(Self.sums) FROM score_day WHERE kind = ? AND day >= ? AND day < ? GROUP BY dimension ORDER BY dimension
                    """), arguments: [ScoreAggregates.Kind.touchpoint.rawValue, days.from, days.to])
            {
                let scores = Self.scores(row)
                let (value, sample): (Double, Int64) =
                    switch metric {
                    case .csat: (scores.csat, scores.csatAnswers)
                    case .ces: (scores.ces, scores.cesAnswers)
                    default: (scores.nps, scores.npsAnswers)
                    }
                let id: String = row["dimension"]
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
