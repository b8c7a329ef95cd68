import CXModel
import CXService
import CXTestSupport
import CXWire
import Foundation
import GRDB
import XCTest

@testable import CXFeedback

/// A real feedback server on 127.0.0.1 (port 0) over a real SQLite file in
/// a temporary directory, and a client connected to it.
struct FeedbackHarness {
    typealias F = Cx_Feedback_V1_Feedback
    let directory: URL
    let clock: ManualClock
    let service: FeedbackService
    let server: RPCServer
    let client: RPCClient

    static func start(destinations: Set<CXServiceName> = [], clock: ManualClock = ManualClock()) async throws -> FeedbackHarness {
        let directory = temporaryDirectory("cx-feedback-test")
        let service = try await FeedbackService.open(directory: directory, destinations: destinations, clock: { clock.now })
        let (server, client) = try await startLoopbackServer(name: "feedback") { service.register(into: &$0) }
        return FeedbackHarness(directory: directory, clock: clock, service: service, server: server, client: client)
    }

    func stop() async {
        await client.close()
        server.close()
        try? service.store.close()
        try? FileManager.default.removeItem(at: directory)
    }

    /// An NPS + CSAT + CES + choice + text survey.
    @discardableResult
    func createSurvey(
        id: String = "after-delivery", touchpoint: String = "logistics", stage: String = "activation", recontactDays: Int32 = 0,
        threshold: Int32? = nil, bonus: Bool = false
    ) async throws -> Cx_Feedback_V1_Survey {
        try await client.call(F.createSurvey, .with {
            $0.survey.id = id
            $0.survey.name = "پس از تحویل"
            $0.survey.touchpointID = touchpoint
            $0.survey.stage = stage
            $0.survey.recontactDays = recontactDays
            if let threshold { $0.survey.followUpThreshold = threshold }
            $0.survey.surveyBonus = bonus
            $0.survey.questions = [
                .with {
                    $0.id = "nps"
                    $0.kind = .nps
                    $0.text = "How likely are you to recommend us?"
                    $0.required = true
                },
                .with {
                    $0.id = "csat"
                    $0.kind = .csat
                    $0.text = "How satisfied were you?"
                },
                .with {
                    $0.id = "ces"
                    $0.kind = .ces
                    $0.text = "How easy was it?"
                },
                .with {
                    $0.id = "why"
                    $0.kind = .multipleChoice
                    $0.text = "What mattered?"
                    $0.options = ["price", "speed", "quality"]
                },
                .with {
                    $0.id = "say"
                    $0.kind = .text
                    $0.text = "Anything else?"
                },
            ]
        }).survey
    }

    @discardableResult
    func respond(
        _ customer: String, survey: String = "after-delivery", nps: Int32? = nil, csat: Int32? = nil, ces: Int32? = nil,
        text: String? = nil, key: String = ""
    ) async throws -> Cx_Feedback_V1_SubmitResponseResponse {
        try await client.call(F.submitResponse, .with {
            $0.surveyID = survey
            $0.customerID = customer
            $0.channel = .app
            $0.idempotencyKey = key
            if let nps { $0.answers.append(.with { $0.questionID = "nps"; $0.score = nps }) }
            if let csat { $0.answers.append(.with { $0.questionID = "csat"; $0.score = csat }) }
            if let ces { $0.answers.append(.with { $0.questionID = "ces"; $0.score = ces }) }
            if let text { $0.answers.append(.with { $0.questionID = "say"; $0.text = text }) }
        })
    }
}
