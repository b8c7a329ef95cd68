import CXModel
import CXWire
import Foundation
import XCTest

/// Real cx-feedback, cx-loyalty and cx-journey processes: a promoter's
/// response earns loyalty's survey bonus and becomes an Advocacy signal in
/// journey, each through feedback's outbox, once.
final class FeedbackToLoyaltyAndJourneyTests: XCTestCase {
    typealias F = Cx_Feedback_V1_Feedback

    func testAPromotersResponseEarnsTheSurveyBonusAndAnAdvocacySignal() async throws {
        let journey = try RunningService(.journey, extraArguments: ["--profiles-addr", "none", "--lost-interval", "0"])
        defer { _ = journey.stop() }
        let loyalty = try RunningService(
            .loyalty, extraArguments: ["--profiles-addr", "none", "--journey-addr", "none", "--batch-interval", "0"])
        defer { _ = loyalty.stop() }
        let feedback = try RunningService(
            .feedback,
            extraArguments: ["--loyalty-addr", loyalty.address, "--journey-addr", journey.address, "--profiles-addr", "none"])
        defer {
            let stopped = feedback.stop()
            if testRun?.failureCount ?? 0 > 0 { print(stopped.log) }
        }

        let loyaltyClient = try RPCClient(address: loyalty.address)
        addTeardownBlock { await loyaltyClient.close() }
        _ = try await loyaltyClient.call(Cx_Loyalty_V1_Loyalty.enroll, .with { $0.customerID = "fan-1" })

        let feedbackClient = try RPCClient(address: feedback.address)
        addTeardownBlock { await feedbackClient.close() }
        _ = try await feedbackClient.call(F.createSurvey, .with {
            $0.survey.id = "store-visit"
            $0.survey.name = "بازدید از فروشگاه"
            $0.survey.touchpointID = "store"
            $0.survey.surveyBonus = true
            $0.survey.questions = [.with {
                $0.id = "nps"
                $0.kind = .nps
                $0.text = "چقدر ما را به دوستانتان پیشنهاد می‌کنید؟"
                $0.required = true
            }]
        })
        let answer = try await feedbackClient.call(F.submitResponse, .with {
            $0.surveyID = "store-visit"
            $0.customerID = "fan-1"
            $0.answers = [.with {
                $0.questionID = "nps"
                $0.score = 10
            }]
        })
        XCTAssertEqual(answer.npsCategory, .promoter)

        let deadline = Date().addingTimeInterval(20)
        var balance: Int64 = 0
        while Date() < deadline {
            balance = try await loyaltyClient.call(Cx_Loyalty_V1_Loyalty.getAccount, .with { $0.customerID = "fan-1" }).account.spendablePoints
            if balance > 0 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        XCTAssertEqual(balance, 25, "the default program's survey bonus, once")

        let journeyClient = try RPCClient(address: journey.address)
        addTeardownBlock { await journeyClient.close() }
        var seen = Cx_Journey_V1_GetJourneyResponse()
        while Date() < deadline {
            if let found = try? await journeyClient.call(Cx_Journey_V1_Journey.getJourney, .with { $0.customerID = "fan-1" }),
                found.stage == .advocacy
            {
                seen = found
                break
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        XCTAssertEqual(seen.stage, .advocacy, "a promoter is an Advocacy signal")
        XCTAssertEqual(seen.recentEvents.map(\.event.type).sorted(), ["promoter_score", "survey_answered"])
        XCTAssertEqual(seen.recentEvents.first?.event.touchpointID, "store")
    }
}
