import CXModel
import CXWire
import Foundation

typealias Feedback = Cx_Feedback_V1_Feedback

/// cx-feedback: responses checked against their questions and added to the
/// per-day scores (a detractor's opens a complaint), score reports, and
/// complaints walked through their states.
enum FeedbackLoad {
    static let scenarios: [Scenario] = [
        Scenario(
            "feedback", "respond",
            "SubmitResponse to one of 3 seeded surveys: NPS (half promoters), CSAT, CES, a reason, sometimes Persian or English words",
            services: [.feedback], seed: [seedSurveys], operations: [Operation(weight: 1, run: respond)]),
        Scenario(
            "feedback", "nps-report", "GetScores of a survey by day (50%) or a touchpoint (25%), RankTouchpoints (25%), 30 days",
            services: [.feedback], seed: [seedSurveys, seedResponses], operations: [
                Operation(weight: 2, run: surveyScores), Operation(weight: 1, run: touchpointScores), Operation(weight: 1, run: rank),
            ]),
        Scenario(
            "feedback", "complaint-flow",
            "A detractor's response opens a complaint; each worker's next calls move it ACKNOWLEDGED, IN_PROGRESS, RESOLVED, CLOSED",
            services: [.feedback], seed: [seedSurveys], operations: [Operation(weight: 1, run: complaintFlow)]),
    ]

    // MARK: Seeding

    static let seedSurveys: Scenario.SeedStep = { seeder, fixture in
        fixture.surveys = try await makeSurveys(seeder, SeedData.surveys(seeder.run), bonus: false)
    }

    /// Creates the surveys that are not there yet; an existing one must still be open.
    static func makeSurveys(_ seeder: Seeder, _ plans: [SeedData.SurveyPlan], bonus: Bool) async throws -> [SeedData.SurveyPlan] {
        var made = 0
        for plan in plans {
            do {
                _ = try await seeder.call(.feedback, Feedback.createSurvey, .with { $0.survey = SeedData.survey(plan, bonus: bonus) }, seeding: "survey \(plan.id)")
                made += 1
            } catch where alreadyThere(error) {
                let survey = try await seeder.call(.feedback, Feedback.getSurvey, .with { $0.surveyID = plan.id }, seeding: "survey \(plan.id)").survey
                if survey.state != .open {
                    throw SeedError(
                        service: .feedback, what: "survey \(plan.id)", method: "GetSurvey",
                        error: RPCError(code: .failedPrecondition, message: "survey \(plan.id) is closed; run with another --seed"))
                }
            }
        }
        seeder.note("feedback: surveys \(plans.map(\.id).joined(separator: ", ")) (\(made) new)")
        return plans
    }

    /// Some answers for the reports to read: one per customer, at most 300, kept once per seed.
    static let seedResponses: Scenario.SeedStep = { seeder, fixture in
        let run = seeder.run
        let count = min(run.customers, 300)
        let surveys = fixture.surveys
        try await seeder.parallel(count) { index in
            var random = SplitMix64(loadSeed: UInt64(run.seed) &+ UInt64(index) &* 31)
            let (request, _) = SeedData.response(
                surveys[index % surveys.count], customer: run.customerID(index), key: "load-\(run.seed)-seed-response-\(index)",
                random: &random)
            _ = try await seeder.call(.feedback, Feedback.submitResponse, request, seeding: "responses")
        }
        seeder.note("feedback: \(count) responses to report on (kept once per seed)")
    }

    // MARK: Calls

    static let respond: @Sendable (Caller, Fixture, inout SessionState) async throws -> Void = { caller, fixture, _ in
        let (request, _) = SeedData.response(
            caller.pick(fixture.surveys), customer: fixture.customer(caller), key: caller.uniqueID("r"), random: &caller.random)
        let response = try await caller.call(.feedback, Feedback.submitResponse, request)
        caller.count("responses")
        if !response.complaintID.isEmpty { caller.count("complaints_opened") }
    }

    /// The last 30 days, and today.
    static var periodStart: Date { Date().addingTimeInterval(-30 * 86_400) }
    static var periodEnd: Date { Date().addingTimeInterval(86_400) }

    static let surveyScores: @Sendable (Caller, Fixture, inout SessionState) async throws -> Void = { caller, fixture, _ in
        _ = try await caller.call(.feedback, Feedback.getScores, .with {
            $0.surveyID = caller.pick(fixture.surveys).id
            $0.from = .init(date: periodStart)
            $0.to = .init(date: periodEnd)
            $0.granularity = .day
        })
    }

    static let touchpointScores: @Sendable (Caller, Fixture, inout SessionState) async throws -> Void = { caller, fixture, _ in
        _ = try await caller.call(.feedback, Feedback.getScores, .with {
            $0.touchpointID = caller.pick(fixture.surveys).touchpoint
            $0.from = .init(date: periodStart)
            $0.to = .init(date: periodEnd)
        })
    }

    static let rank: @Sendable (Caller, Fixture, inout SessionState) async throws -> Void = { caller, _, _ in
        _ = try await caller.call(.feedback, Feedback.rankTouchpoints, .with {
            $0.minSample = 1
            $0.from = .init(date: periodStart)
            $0.to = .init(date: periodEnd)
        })
    }

    /// The next call of this worker's complaint: a detractor's response to
    /// start one, then one move per call until it is closed.
    static let complaintFlow: @Sendable (Caller, Fixture, inout SessionState) async throws -> Void = { caller, fixture, state in
        guard let complaint = state.complaint else {
            let (request, _) = SeedData.response(
                caller.pick(fixture.surveys), customer: fixture.customer(caller), key: caller.uniqueID("r"), detractor: true,
                random: &caller.random)
            let response = try await caller.call(.feedback, Feedback.submitResponse, request)
            caller.count("responses")
            if !response.complaintID.isEmpty {
                caller.count("complaints_opened")
                state.complaint = (response.complaintID, .acknowledged)
            }
            return
        }
        let notes: [Cx_Feedback_V1_ComplaintState: String] = [
            .acknowledged: "با مشتری تماس گرفتیم / called the customer",
            .inProgress: "courier asked about the delay",
            .resolved: "بسته دوباره ارسال شد / sent again",
            .closed: "customer confirmed",
        ]
        do {
            _ = try await caller.call(.feedback, Feedback.moveComplaint, .with {
                $0.complaintID = complaint.id
                $0.to = complaint.next
                $0.author = "load"
                $0.note = notes[complaint.next] ?? ""
                $0.idempotencyKey = caller.uniqueID("m")
            })
        } catch {
            state.complaint = nil
            throw error
        }
        caller.count("complaint_moves")
        switch complaint.next {
        case .acknowledged: state.complaint = (complaint.id, .inProgress)
        case .inProgress: state.complaint = (complaint.id, .resolved)
        case .resolved: state.complaint = (complaint.id, .closed)
        default:
            caller.count("complaints_closed")
            state.complaint = nil
        }
    }
}
