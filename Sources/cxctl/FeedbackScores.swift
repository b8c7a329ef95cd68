import ArgumentParser
import CXModel
import CXWire
import Foundation

/// `cxctl feedback scores`
struct FeedbackScoresCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scores",
        abstract: "NPS, CSAT and CES over a period, each with its sample size: in total, or per day, week or month.",
        discussion: """
            Of every response, or of one survey, touchpoint or journey stage (give at most \
            one). NPS is -100 to 100 (% promoters - % detractors), CSAT the % of answers 4 or \
            5, CES the mean effort, 1 to 7 (lower is better); N is how many answered each, \
            and "-" means no one did. --by adds a row per day, week (from Monday) or month, \
            oldest first, empty ones included so a trend reads straight; the last row is \
            the whole period.

            Examples:
              cxctl feedback scores
              cxctl feedback scores --touchpoint logistics --by week
              cxctl feedback scores --survey after-delivery --from 2026-01-01 \\
                  --to 2026-04-01 --by month --json
              cxctl feedback scores --stage activation
            """)

    @Option(help: ArgumentHelp("Only this survey's responses.", valueName: "id"))
    var survey: String?

    @Option(help: ArgumentHelp("Only responses to surveys at this touchpoint.", valueName: "id"))
    var touchpoint: String?

    @Option(help: "Only responses to surveys of this journey stage.")
    var stage: JourneyStageArgument?

    @Option(name: .customLong("by"), help: "A row per day, week or month (default: the total only).")
    var granularity: FeedbackGranularityArgument?

    @OptionGroup var period: PeriodOptions
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        let filters = [survey.map { _ in "--survey" }, touchpoint.map { _ in "--touchpoint" }, stage.map { _ in "--stage" }].compactMap { $0 }
        if filters.count > 1 {
            throw ValidationError("\(filters.joined(separator: " and ")): give at most one of --survey, --touchpoint and --stage")
        }
        if let stage { _ = try JourneyStageArgument.journeyStages([stage], flag: "--stage") }
    }

    func run() async throws {
        var request = Cx_Feedback_V1_GetScoresRequest()
        request.surveyID = survey ?? ""
        request.touchpointID = touchpoint ?? ""
        request.stage = stage?.rawValue ?? ""
        request.granularity = granularity?.proto ?? .unspecified
        let (from, to) = try period.period()
        if let from { request.from = from }
        if let to { request.to = to }
        try await ServiceSession.show(.feedback, Cx_Feedback_V1_Feedback.getScores, request, connection, output) { text($0) }
    }

    func text(_ response: Cx_Feedback_V1_GetScoresResponse) -> String {
        let of = survey.map { "survey \($0)" } ?? touchpoint.map { "touchpoint \($0)" } ?? stage.map { "stage \($0.rawValue)" } ?? "all responses"
        var table = Table()
        table.header = ["PERIOD", "RESPONSES"] + FeedbackFormat.scoreHeaders
        func row(_ label: String, _ scores: Cx_Feedback_V1_Scores) {
            table.append([label, JourneyFormat.count(scores.responses)] + FeedbackFormat.cells(scores))
        }
        for bucket in response.buckets {
            let day = FeedbackFormat.day(bucket.start, if: bucket.hasStart)
            row(granularity == .week ? "week of \(day)" : granularity == .month ? String(day.prefix(7)) : day, bucket.scores)
        }
        let total = response.total
        row("total", total)
        let mix = "NPS: \(FeedbackFormat.count(total.promoters, "promoter")), \(FeedbackFormat.count(total.passives, "passive")), "
            + "\(FeedbackFormat.count(total.detractors, "detractor")); CSAT: \(JourneyFormat.count(total.csatSatisfied)) of "
            + "\(JourneyFormat.count(total.csatAnswers)) satisfied"
        return "scores of \(of), \(FeedbackFormat.period(period))\n\n" + table.render() + "\n\n" + mix
    }
}

/// `cxctl feedback rank`
struct FeedbackRankCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rank",
        abstract: "Touchpoints ranked by NPS, CSAT or CES: strengths on top, weaknesses at the bottom.",
        discussion: """
            Over a period (default: the 30 days up to today), every touchpoint some survey \
            was asked at, best first: highest NPS or CSAT, lowest CES (least effort). A \
            touchpoint with fewer than --min-sample answers to the metric's question is left \
            out, since a score from a handful of answers would rank it by chance; they are \
            listed below the table.

            Examples:
              cxctl feedback rank
              cxctl feedback rank --metric ces --min-sample 100 --from 2026-01-01
            """)

    @Option(help: "What to rank by.")
    var metric: FeedbackMetricArgument = .nps

    @Option(help: ArgumentHelp("Answers a touchpoint needs to be ranked, 1 or more (default 30).", valueName: "n"))
    var minSample: Int32?

    @OptionGroup var period: PeriodOptions
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if let minSample, minSample < 1 { throw ValidationError("--min-sample: \(minSample) must be 1 or more") }
    }

    func run() async throws {
        var request = Cx_Feedback_V1_RankTouchpointsRequest()
        request.metric = metric.proto
        request.minSample = minSample ?? 0
        let (from, to) = try period.period()
        if let from { request.from = from }
        if let to { request.to = to }
        try await ServiceSession.show(.feedback, Cx_Feedback_V1_Feedback.rankTouchpoints, request, connection, output) { text($0) }
    }

    func text(_ response: Cx_Feedback_V1_RankTouchpointsResponse) -> String {
        let sample = "at least \(FeedbackFormat.count(Int64(minSample ?? 30), "answer")) to \(metric.rawValue.uppercased())"
        var lines = [
            "touchpoints by \(metric.rawValue.uppercased())\(metric == .ces ? " (least effort first)" : ""), "
                + "\(FeedbackFormat.period(period)), with \(sample): strengths on top, weaknesses at the bottom"
        ]
        if response.touchpoints.isEmpty {
            lines.append("(no touchpoint has \(sample))")
        } else {
            var table = Table()
            table.header = ["#", "TOUCHPOINT", "RESPONSES"] + FeedbackFormat.scoreHeaders
            for (index, entry) in response.touchpoints.enumerated() {
                table.append(["\(index + 1)", entry.touchpointID, JourneyFormat.count(entry.scores.responses)] + FeedbackFormat.cells(entry.scores))
            }
            lines.append(table.render())
        }
        if !response.tooFew.isEmpty {
            lines.append("left out, with fewer answers: \(response.tooFew.joined(separator: ", "))")
        }
        return lines.joined(separator: "\n\n")
    }
}

/// `cxctl feedback words`
struct FeedbackWordsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "words",
        abstract: "The words that set detractors apart from promoters in what they wrote.",
        discussion: """
            From the free-text answers of detractors (NPS 0-6) and promoters (9-10) over a \
            period (default: the 30 days up to today), every word used by at least \
            --min-count detractors, most telling first. A response counts a word once. Words \
            are normalised before they are counted (ي and ی, ك and ک, Persian and ASCII \
            digits, upper and lower case all meet; the half-space stays inside a word) and \
            the common words of Persian and English (و, از, the, and, ...) are left out. \
            SCORE is the smoothed log-odds of the word in detractors' text against \
            promoters': above 0 it is more a detractor's word, and the higher the more.

            Examples:
              cxctl feedback words
              cxctl feedback words --survey after-delivery --min-count 5 --limit 50
            """)

    @Option(help: ArgumentHelp("Only this survey's responses.", valueName: "id"))
    var survey: String?

    @Option(help: ArgumentHelp("Words to show, 1 to 200 (default 20).", valueName: "n"))
    var limit: Int32?

    @Option(help: ArgumentHelp("Detractors a word needs, 1 or more (default 3).", valueName: "n"))
    var minCount: Int32?

    @OptionGroup var period: PeriodOptions
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if let limit, !(1...200).contains(limit) { throw ValidationError("--limit: \(limit) must be 1 to 200") }
        if let minCount, minCount < 1 { throw ValidationError("--min-count: \(minCount) must be 1 or more") }
    }

    func run() async throws {
        var request = Cx_Feedback_V1_DetractorWordsRequest()
        request.surveyID = survey ?? ""
        request.limit = limit ?? 0
        request.minCount = minCount ?? 0
        let (from, to) = try period.period()
        if let from { request.from = from }
        if let to { request.to = to }
        try await ServiceSession.show(.feedback, Cx_Feedback_V1_Feedback.detractorWords, request, connection, output) { response in
            let texts = "detractors (\(FeedbackFormat.count(response.detractorTexts, "text"))) against promoters "
                + "(\(FeedbackFormat.count(response.promoterTexts, "text")))"
            let heading = "words of \(texts)\(survey.map { " of survey \($0)" } ?? ""), \(FeedbackFormat.period(period))"
            guard !response.words.isEmpty else {
                return heading + "\n\n(no word was used by \(minCount ?? 3) or more detractors)"
            }
            var table = Table("WORD", "DETRACTORS", "PROMOTERS", "SCORE")
            for word in response.words {
                table.append([
                    word.word, JourneyFormat.count(word.detractorCount), JourneyFormat.count(word.promoterCount), String(format: "%.2f", word.score),
                ])
            }
            return heading + "\n\n" + table.render()
        }
    }
}
