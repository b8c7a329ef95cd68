import ArgumentParser
import CXFeedback
import CXModel
import CXStore
import CXWire
import Foundation
import Logging
import SwiftProtobuf
import Synchronization

/// The feedback service with many responses, over loopback RPC: durable
/// SubmitResponse calls per second and their latency, and the score reads
/// made from aggregates, beside CXWire's Echo on the same server and client.
struct FeedbackBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "feedback",
        abstract: "The feedback service with --responses responses of --customers customers: durable SubmitResponse calls/s and the latency of NPS by touchpoint, beside CXWire echo.",
        discussion: """
            One process runs a real feedback server on 127.0.0.1 (its store in a temporary \
            directory, WAL, synchronous=FULL: a response is answered only once it is on disk; \
            loyalty, journey and profiles all told through the outbox, as in production, the \
            relay not running, so the events stay queued) and its clients. In order:
              1. CXWire's built-in Echo at --level: the reference.
              2. 12 surveys, one per touchpoint (website, social, store, product, packaging, \
            logistics, phone, email, sms, app, after-sales, event), each at a journey stage, \
            asking NPS (required), CSAT, CES, a single choice and free text; no recontact window; \
            every detractor opens a follow-up complaint (the default threshold); four of them \
            earn loyalty's survey bonus.
              3. SubmitResponse at --level until --responses responses over --customers customers \
            (customers in a scattered order, each answering about responses/customers times), \
            each with its idempotency key. Surveys are answered in proportion to their traffic \
            (website and app most); about 50% promoters, 30% passives, 20% detractors (logistics \
            and after-sales worse, app and store better); CSAT on 85%, CES on 70%, the choice on \
            60%, and free text on 30%, Persian or English, from a small vocabulary by category \
            with stop words and Arabic letter forms mixed in. The server's clock is real time, so \
            every response falls on today (or today and yesterday, across midnight UTC).
              4. GetScores of one touchpoint (cycling through them) for the last 30 days by day, \
            then RankTouchpoints and DetractorWords over 30 days, each called 50 times one after \
            another.
            Afterwards the store is checked: as many response rows as responses acknowledged, \
            score_day's per-survey rows summing to that too, a complaint per detractor, and \
            the outbox holding every event the responses owe their peers.
            """)

    @Option(help: "Responses to submit.")
    var responses = 1_000_000

    @Option(help: "Customers answering them.")
    var customers = 200_000

    @Option(help: "Connections x calls in flight per connection.")
    var level = "16x8"

    @Option(help: "Where the log is flushed: offWriter (a thread of its own) or inCommit (by the writer, in each commit); default: the feedback service's own.")
    var flush: StoreOptions.Flush?

    @Option(help: "Keep the store here instead of a temporary directory that is removed afterwards.")
    var directory: String?

    @Flag(help: "Print JSON lines instead of a table.")
    var json = false

    static let repeats = 50

    func validate() throws {
        guard (1...10_000_000).contains(customers) else { throw ValidationError("--customers: \(customers) must be 1 to 10000000") }
        guard responses >= 1, responses <= 100_000_000 else { throw ValidationError("--responses: \(responses) must be 1 to 100000000") }
        guard Concurrency(level) != nil else { throw ValidationError("--level: \"\(level)\" is not CONNECTIONSxINFLIGHT (at most 4096 calls in flight)") }
    }

    func run() async throws {
        let concurrency = Concurrency(level)!
        let temporary = directory == nil
        let root = directory.map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("cx-bench-feedback-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { if temporary { try? FileManager.default.removeItem(at: root) } }

        var logger = Logger(label: "cx-bench")
        logger.logLevel = .error
        var options = StoreOptions()
        if let flush { options.flush = flush }
        let service = try await FeedbackService.open(directory: root, options: options, destinations: [.loyalty, .journey, .profiles])
        var router = RPCRouter()
        service.register(into: &router)
        let server = RPCServer(
            configuration: RPCServerConfiguration(name: "feedback", host: "127.0.0.1", port: 0), router: router, logger: logger)
        try await server.start()
        let port = server.localAddress!.port!
        let report = Report(json: json)
        if !json {
            print("""
                feedback service, \(responses) responses of \(customers) customers, store in \(root.path) (WAL, synchronous=FULL), \
                \(ProcessInfo.processInfo.activeProcessorCount) cores
                """)
            report.header()
        }
        let client = RPCClient(
            host: "127.0.0.1", port: port,
            configuration: RPCClientConfiguration(connections: concurrency.connections, defaultTimeout: .seconds(120)))

        // 1. Echo: the reference on the same server and client.
        var echoRequest = Cx_Wire_V1_EchoRequest()
        echoRequest.payload = Data(repeating: 0x61, count: 32)
        let echo = echoRequest
        let echoResult = try await ClosedLoop.run(concurrency: concurrency, window: Window(warmup: 1, duration: 5)) { _ in
            _ = try await client.call(Cx_Wire_V1_Echo.echo, echo)
        }
        report.line(
            "Echo \(concurrency)", String(format: "%.0f calls/s", echoResult.callsPerSecond),
            String(
                format: "p50 %.0f µs, p99 %.0f µs, p99.9 %.0f µs", echoResult.microseconds(atPercentile: 50),
                echoResult.microseconds(atPercentile: 99), echoResult.microseconds(atPercentile: 99.9)),
            "reference", met: nil)

        // 2. The surveys.
        for survey in FeedbackWorkload.surveys {
            var request = Cx_Feedback_V1_CreateSurveyRequest()
            request.survey = survey
            _ = try await client.call(Cx_Feedback_V1_Feedback.createSurvey, request)
        }

        // 3. Responses.
        let workload = FeedbackWorkload(responses: responses, customers: customers)
        let tally = FeedbackTally()
        let cursor = Atomic<Int>(0)
        let progress = Task {
            let start = now()
            var last = (time: start, done: 0)
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(5))
                if Task.isCancelled { break }
                let done = tally.acknowledged.load(ordering: .relaxed)
                let time = now()
                FileHandle.standardError.write(Data(String(
                    format: "responding: %ld/%ld, %.0f calls/s over the last %.0f s, %.0f overall, %ld errors\n",
                    done, workload.responses, Double(done - last.done) / (Double(time - last.time) / 1e9),
                    Double(time - last.time) / 1e9, Double(done) / (Double(time - start) / 1e9),
                    tally.failed.load(ordering: .relaxed)).utf8))
                last = (time, done)
            }
        }
        let before = service.store.groupCommitStatistics
        let submitStart = now()
        let submitted = try await ClosedLoop.run(concurrency: concurrency, window: Window(warmup: 0, duration: 36_000)) { _ in
            let index = cursor.add(1, ordering: .relaxed).oldValue
            guard index < workload.responses else { throw CancellationError() }
            let (request, expected) = workload.response(index)
            do {
                let response = try await client.call(Cx_Feedback_V1_Feedback.submitResponse, request)
                tally.acknowledged.add(1, ordering: .relaxed)
                if !response.complaintID.isEmpty { tally.complaints.add(1, ordering: .relaxed) }
                switch response.npsCategory {
                case .promoter: tally.promoters.add(1, ordering: .relaxed)
                case .passive: tally.passives.add(1, ordering: .relaxed)
                case .detractor: tally.detractors.add(1, ordering: .relaxed)
                default: break
                }
                if expected.bonus { tally.bonuses.add(1, ordering: .relaxed) }
                if expected.text { tally.texts.add(1, ordering: .relaxed) }
            } catch {
                tally.failed.add(1, ordering: .relaxed)
                tally.remember(error)
                throw error
            }
        }
        progress.cancel()
        let submitSeconds = Double(now() - submitStart) / 1e9
        let after = service.store.groupCommitStatistics
        let acknowledged = tally.acknowledged.load(ordering: .relaxed)
        let failed = tally.failed.load(ordering: .relaxed)
        let complaints = tally.complaints.load(ordering: .relaxed)
        let (promoters, passives, detractors) = (
            tally.promoters.load(ordering: .relaxed), tally.passives.load(ordering: .relaxed), tally.detractors.load(ordering: .relaxed)
        )
        let rate = Double(acknowledged) / submitSeconds
        let share = { (part: Int) in String(format: "%.0f%%", Double(part) * 100 / Double(max(1, acknowledged))) }
        report.line(
            "SubmitResponse \(concurrency)", String(format: "%.0f calls/s", rate),
            String(
                format: "%ld responses of %ld customers in %.1f s; p50 %.0f µs, p99 %.0f µs, p99.9 %.0f µs; %.2f of Echo; %.1f responses per commit; ",
                acknowledged, customers, submitSeconds, submitted.microseconds(atPercentile: 50), submitted.microseconds(atPercentile: 99),
                submitted.microseconds(atPercentile: 99.9), rate / max(1, echoResult.callsPerSecond),
                Double(after.operations - before.operations) / Double(max(1, after.transactions - before.transactions)))
                + "promoters \(share(promoters)), passives \(share(passives)), detractors \(share(detractors)); "
                + "text on \(share(tally.texts.load(ordering: .relaxed))); \(complaints) complaints opened; errors: \(tally.errorSummary()); "
                + "store \(Self.storeSize(root)), RSS \(residentMegabytes()) MB",
            "≥ 10000/s", met: rate >= 10_000 && failed == 0)

        // 4. Reads from the aggregates, one call after another.
        let to = Google_Protobuf_Timestamp(date: Date())
        let from = Google_Protobuf_Timestamp(date: Date().addingTimeInterval(-30 * 86_400))
        let touchpoints = FeedbackWorkload.touchpoints.map(\.id)
        var scores = Cx_Feedback_V1_GetScoresResponse()
        var call = 0
        let scoresTimes = try await JourneyBenchmark.sequential(Self.repeats) {
            var request = Cx_Feedback_V1_GetScoresRequest()
            request.touchpointID = touchpoints[call % touchpoints.count]
            request.from = from
            request.to = to
            request.granularity = .day
            call += 1
            scores = try await client.call(Cx_Feedback_V1_Feedback.getScores, request)
        }
        report.line(
            "GetScores touchpoint 30 days", scoresTimes.figure,
            scoresTimes.detail + "; by day (\(scores.buckets.count) buckets); the last, \(touchpoints[(call - 1) % touchpoints.count]): "
                + String(
                    format: "NPS %.1f over %lld answers, CSAT %.1f%%, CES %.2f", scores.total.nps, scores.total.npsAnswers, scores.total.csat,
                    scores.total.ces),
            "< 20 ms", met: scoresTimes.p99 < 20)

        var ranked = Cx_Feedback_V1_RankTouchpointsResponse()
        let rankTimes = try await JourneyBenchmark.sequential(Self.repeats) {
            ranked = try await client.call(Cx_Feedback_V1_Feedback.rankTouchpoints, .with {
                $0.from = from
                $0.to = to
            })
        }
        report.line(
            "RankTouchpoints 30 days", rankTimes.figure,
            rankTimes.detail + "; NPS: "
                + ranked.touchpoints.map { "\($0.touchpointID) \(String(format: "%.1f", $0.value))" }.joined(separator: ", "),
            "-", met: nil)

        var words = Cx_Feedback_V1_DetractorWordsResponse()
        let wordsTimes = try await JourneyBenchmark.sequential(Self.repeats) {
            words = try await client.call(Cx_Feedback_V1_Feedback.detractorWords, .with {
                $0.from = from
                $0.to = to
            })
        }
        report.line(
            "DetractorWords 30 days", wordsTimes.figure,
            wordsTimes.detail + "; \(words.detractorTexts) detractor and \(words.promoterTexts) promoter texts; top: "
                + words.words.prefix(6).map { "\($0.word) \($0.detractorCount)/\($0.promoterCount)" }.joined(separator: ", "),
            "-", met: nil)

        // 5. The store agrees with what was acknowledged.
        let checkStart = now()
        let (responseRows, scoredResponses, complaintRows, outboxRows) = try await service.store.read { db in
            (
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM response") ?? -1,
                try Int.fetchOne(db, sql: "SELECT COALESCE(SUM(responses), 0) FROM score_day WHERE kind = 1") ?? -1,
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM complaint") ?? -1,
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM cx_outbox") ?? -1
            )
        }
        // Each response: journey survey_answered and profiles traits; a
        // promoter also journey promoter_score; a bonus survey loyalty's bonus.
        let outboxExpected = 2 * acknowledged + promoters + tally.bonuses.load(ordering: .relaxed)
        let agrees = { (rows: Int, expected: Int) in
            failed == 0 ? rows == expected : (expected...(expected + failed)).contains(rows)
        }
        let consistent = agrees(responseRows, acknowledged) && agrees(scoredResponses, acknowledged) && agrees(complaintRows, complaints)
            && (failed == 0 ? outboxRows == outboxExpected : outboxRows >= outboxExpected)
        report.line(
            "store check", consistent ? "consistent" : "INCONSISTENT",
            "\(responseRows) response rows and score_day sums to \(scoredResponses), for \(acknowledged) acknowledged "
                + "(\(failed) in failed calls); \(complaintRows) complaint rows for \(complaints) opened; \(outboxRows) outbox events "
                + "for \(outboxExpected) owed; " + String(format: "checked in %.1f s", Double(now() - checkStart) / 1e9),
            "equal", met: consistent)
        for message in tally.messages() { FileHandle.standardError.write(Data("first failure: \(message)\n".utf8)) }
        await client.close()
        server.close()
        try service.store.close()
    }

    /// feedback.sqlite with its WAL, in MB.
    static func storeSize(_ root: URL) -> String {
        let bytes = ["feedback.sqlite", "feedback.sqlite-wal"].compactMap { name in
            (try? FileManager.default.attributesOfItem(atPath: root.appendingPathComponent(name).path)[.size] as? NSNumber)?.int64Value
        }.reduce(0, +)
        return String(format: "%.0f MB", Double(bytes) / 1_048_576)
    }
}

/// What the responses came to, across every caller.
final class FeedbackTally: Sendable {
    let acknowledged = Atomic<Int>(0)
    let failed = Atomic<Int>(0)
    let complaints = Atomic<Int>(0)
    let promoters = Atomic<Int>(0)
    let passives = Atomic<Int>(0)
    let detractors = Atomic<Int>(0)
    /// Acknowledged responses to surveys with the survey bonus.
    let bonuses = Atomic<Int>(0)
    /// Acknowledged responses with free text.
    let texts = Atomic<Int>(0)
    private let errors = Mutex<(byCode: [String: Int], first: [String])>(([:], []))

    func remember(_ error: any Error) {
        let code = (error as? RPCError)?.code.name ?? "\(type(of: error))"
        errors.withLock {
            $0.byCode[code, default: 0] += 1
            if $0.first.count < 3 { $0.first.append("SubmitResponse: \(error)") }
        }
    }

    /// "none", or "UNAVAILABLE 3, DEADLINE_EXCEEDED 1".
    func errorSummary() -> String {
        errors.withLock { state in
            state.byCode.isEmpty ? "none" : state.byCode.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        }
    }

    func messages() -> [String] { errors.withLock { $0.first } }
}

/// The surveys and responses the benchmark submits, the same on every run:
/// response `i` is computed from `i` alone.
struct FeedbackWorkload: Sendable {
    let responses: Int
    let customers: Int
    /// Each survey's share of the traffic, as cumulative weights.
    let cumulative: [Int]

    struct Touchpoint: Sendable {
        let id: String
        let stage: String
        let channel: Cx_Feedback_V1_Channel
        /// Responses per 100.
        let weight: Int
        /// Added to the promoters' share and taken from the detractors'.
        let shift: Double
        let bonus: Bool
    }

    static let touchpoints: [Touchpoint] = [
        .init(id: "website", stage: "admission", channel: .web, weight: 18, shift: 0, bonus: true),
        .init(id: "app", stage: "activation", channel: .app, weight: 16, shift: 0.05, bonus: true),
        .init(id: "store", stage: "admission", channel: .inStore, weight: 14, shift: 0.04, bonus: true),
        .init(id: "logistics", stage: "affirmation", channel: .sms, weight: 10, shift: -0.08, bonus: false),
        .init(id: "email", stage: "affirmation", channel: .email, weight: 8, shift: 0, bonus: true),
        .init(id: "phone", stage: "acclimation", channel: .phone, weight: 7, shift: -0.04, bonus: false),
        .init(id: "product", stage: "accomplishment", channel: .email, weight: 6, shift: 0.03, bonus: false),
        .init(id: "sms", stage: "affirmation", channel: .sms, weight: 5, shift: 0, bonus: false),
        .init(id: "social", stage: "assessment", channel: .web, weight: 5, shift: 0.02, bonus: false),
        .init(id: "packaging", stage: "affirmation", channel: .app, weight: 4, shift: -0.02, bonus: false),
        .init(id: "after-sales", stage: "acceptance", channel: .phone, weight: 4, shift: -0.06, bonus: false),
        .init(id: "event", stage: "advocacy", channel: .app, weight: 3, shift: 0.02, bonus: false),
    ]

    static let reasons = ["قیمت", "کیفیت کالا", "ارسال", "برخورد پرسنل", "سایت و اپ", "سایر"]

    static let surveys: [Cx_Feedback_V1_Survey] = touchpoints.map { touchpoint in
        .with {
            $0.id = surveyID(touchpoint.id)
            $0.name = "نظرسنجی \(touchpoint.id)"
            $0.touchpointID = touchpoint.id
            $0.stage = touchpoint.stage
            $0.recontactDays = 0
            $0.surveyBonus = touchpoint.bonus
            $0.questions = [
                .with {
                    $0.id = "nps"
                    $0.kind = .nps
                    $0.text = "چقدر احتمال دارد ما را به دوستان خود پیشنهاد کنید؟"
                    $0.required = true
                },
                .with {
                    $0.id = "csat"
                    $0.kind = .csat
                    $0.text = "How satisfied were you with your \(touchpoint.id) experience?"
                },
                .with {
                    $0.id = "ces"
                    $0.kind = .ces
                    $0.text = "انجام کارتان چقدر آسان بود؟"
                },
                .with {
                    $0.id = "reason"
                    $0.kind = .singleChoice
                    $0.text = "مهم‌ترین دلیل امتیاز شما چه بود؟"
                    $0.options = reasons
                },
                .with {
                    $0.id = "comment"
                    $0.kind = .text
                    $0.text = "Anything else you would like to tell us? / چیز دیگری هست که بخواهید بگویید؟"
                },
            ]
        }
    }

    static func surveyID(_ touchpoint: String) -> String { "bench-\(touchpoint)" }
    static func customerID(_ index: Int) -> String { "bench-\(index)" }

    /// Words of free text by NPS category (detractor, passive, promoter),
    /// Persian then English; Arabic ي/ك forms and stop words mixed in.
    static let persianWords: [[String]] = [
        ["تاخیر", "خراب", "گران", "بد", "پشتیبانی", "جواب", "ندادند", "دیر", "مرجوعی", "شکسته", "بسته‌بندی", "كيفيت", "پایین", "معطل", "هزینه"],
        ["معمولی", "قیمت", "بد", "نبود", "متوسط", "ارسال", "کیفیت", "قابل", "قبول", "بهتر"],
        ["عالی", "سریع", "خوب", "ممنون", "راضی", "کیفیت", "مناسب", "برخورد", "محترمانه", "ارسال", "به‌موقع", "ممنونم"],
    ]
    static let englishWords: [[String]] = [
        ["late", "broken", "expensive", "rude", "refund", "waiting", "slow", "damaged", "support", "never", "answered", "Delivery", "wrong"],
        ["okay", "fine", "average", "price", "delivery", "could", "better", "decent", "quality"],
        ["great", "fast", "friendly", "excellent", "thanks", "quality", "love", "helpful", "easy", "Delivery", "recommend"],
    ]
    static let persianStopWords = ["و", "از", "خیلی", "که", "این", "بود", "من", "را"]
    static let englishStopWords = ["the", "was", "and", "very", "my", "it", "is", "to"]

    init(responses: Int, customers: Int) {
        self.responses = responses
        self.customers = customers
        var sum = 0
        cumulative = Self.touchpoints.map {
            sum += $0.weight
            return sum
        }
    }

    /// The `index`th response to submit, and what it should bring about.
    func response(_ index: Int) -> (Cx_Feedback_V1_SubmitResponseRequest, (bonus: Bool, text: Bool)) {
        var random = SplitMix64(seed: UInt64(index) &* 0x2545_F491_4F6C_DD1D &+ 11)
        let pick = Int(random.next() % UInt64(cumulative.last!))
        let touchpoint = Self.touchpoints[cumulative.firstIndex { pick < $0 }!]
        // Customers in a scattered order, round after round.
        let customer = LoyaltyBenchmark.scattered(index % customers, customers)
        let u = Double(random.next() % 1_000_000) / 1_000_000
        let category = u < 0.5 + touchpoint.shift ? 2 : u < 0.8 ? 1 : 0  // promoter, passive, detractor
        let nps: Int32 =
            switch category {
            case 2: 9 + Int32(random.next() % 2)
            case 1: 7 + Int32(random.next() % 2)
            default: [0, 1, 2, 3, 3, 4, 4, 5, 5, 5, 6, 6, 6, 6][Int(random.next() % 14)]
            }
        var request = Cx_Feedback_V1_SubmitResponseRequest()
        request.surveyID = Self.surveyID(touchpoint.id)
        request.customerID = Self.customerID(customer)
        request.channel = touchpoint.channel
        request.idempotencyKey = "bench-response-\(index)"
        request.answers.append(.with {
            $0.questionID = "nps"
            $0.score = nps
        })
        if random.next() % 100 < 85 {
            let csat: [Int32] = [[1, 2, 2, 3, 3], [3, 3, 4, 4, 4], [4, 4, 5, 5, 5]][category]
            request.answers.append(.with {
                $0.questionID = "csat"
                $0.score = csat[Int(random.next() % 5)]
            })
        }
        if random.next() % 100 < 70 {
            let ces: [Int32] = [[4, 5, 6, 7, 7], [2, 3, 4, 4, 5], [1, 1, 2, 2, 3]][category]
            request.answers.append(.with {
                $0.questionID = "ces"
                $0.score = ces[Int(random.next() % 5)]
            })
        }
        if random.next() % 100 < 60 {
            request.answers.append(.with {
                $0.questionID = "reason"
                $0.choices = [Self.reasons[Int(random.next() % UInt64(Self.reasons.count))]]
            })
        }
        let text = random.next() % 100 < 30
        if text {
            let persian = random.next() % 100 < 60
            let vocabulary = (persian ? Self.persianWords : Self.englishWords)[category]
            let stopWords = persian ? Self.persianStopWords : Self.englishStopWords
            let count = 4 + Int(random.next() % 9)
            var words: [String] = []
            for _ in 0..<count {
                words.append(
                    random.next() % 100 < 70
                        ? vocabulary[Int(random.next() % UInt64(vocabulary.count))]
                        : stopWords[Int(random.next() % UInt64(stopWords.count))])
            }
            request.answers.append(.with {
                $0.questionID = "comment"
                $0.text = words.joined(separator: " ") + (persian ? "." : "!")
            })
        }
        return (request, (touchpoint.bonus, text))
    }
}
