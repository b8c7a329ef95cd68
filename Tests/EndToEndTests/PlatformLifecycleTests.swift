import CXModel
import CXTestSupport
import CXWire
import Foundation
import XCTest

/// The four real executables as one platform on loopback, with access
/// control on (each service calls its peers with the peer token): a
/// customer's life from a first visit to a silver advocate, then a service
/// stopped while the others produce events for it, and restarted.
final class PlatformLifecycleTests: XCTestCase {
    typealias Customers = Cx_Profiles_V1_Customers
    typealias Loyalty = Cx_Loyalty_V1_Loyalty
    typealias Journey = Cx_Journey_V1_Journey
    typealias Feedback = Cx_Feedback_V1_Feedback

    private let adminToken = "lifecycle-admin-0123456789"
    private var tokensFile: URL!
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("cx-lifecycle-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        tokensFile = directory.appendingPathComponent("tokens")
        try """
        admin \(adminToken)
        peer lifecycle-peer-0123456789
        service lifecycle-service-0123456789
        read-only lifecycle-reader-0123456789
        """.write(to: tokensFile, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: tokensFile.path)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: directory)
    }

    private func client(_ service: RunningService) throws -> RPCClient {
        try RPCClient(
            address: service.address,
            configuration: RPCClientConfiguration(connections: 1, metadata: ["authorization": "Bearer \(adminToken)"]))
    }

    /// Polls `read` until `done` holds (20 s at most) and returns the last value.
    private func eventually<T>(
        _ what: String, file: StaticString = #filePath, line: UInt = #line,
        _ read: () async throws -> T, until done: (T) -> Bool
    ) async throws -> T {
        let deadline = Date().addingTimeInterval(20)
        var value = try await read()
        while !done(value), Date() < deadline {
            try await Task.sleep(for: .milliseconds(100))
            value = try await read()
        }
        XCTAssertTrue(done(value), "\(what): still \(value)", file: file, line: line)
        return value
    }

    private func money(_ dollars: Int64) -> Cx_Common_V1_Money {
        .with {
            $0.minorUnits = dollars * 100
            $0.currency = "USD"
        }
    }

    private func npsAnswer(_ score: Int32) -> [Cx_Feedback_V1_Answer] {
        [.with {
            $0.questionID = "nps"
            $0.score = score
        }]
    }

    func testACustomersLifeAcrossTheFourServicesAndAServiceStoppedAndRestarted() async throws {
        // Started in dependency order, each told where its peers are.
        // Profiles starts first, so it cannot know the others' ports yet; it is
        // restarted with them at the end, for the erasure.
        let profilesData = directory.appendingPathComponent("profiles-data")
        var profiles = try RunningService(
            .profiles, extraArguments: ["--loyalty-addr", "none", "--journey-addr", "none", "--feedback-addr", "none"],
            reusing: profilesData, tokensFile: tokensFile)
        let journey = try RunningService(
            .journey, extraArguments: ["--profiles-addr", profiles.address, "--lost-interval", "0"], tokensFile: tokensFile)
        defer { _ = journey.stop() }
        let loyaltyData = directory.appendingPathComponent("loyalty-data")
        var loyalty = try RunningService(
            .loyalty, extraArguments: ["--profiles-addr", profiles.address, "--journey-addr", journey.address, "--batch-interval", "0"],
            reusing: loyaltyData, tokensFile: tokensFile)
        let feedback = try RunningService(
            .feedback,
            extraArguments: [
                "--loyalty-addr", loyalty.address, "--journey-addr", journey.address, "--profiles-addr", profiles.address,
            ],
            tokensFile: tokensFile)
        defer {
            let stopped = feedback.stop()
            if testRun?.failureCount ?? 0 > 0 { print("feedback log:\n\(stopped.log)") }
        }

        let people = try client(profiles)
        let points = try client(loyalty)
        let stages = try client(journey)
        let voice = try client(feedback)
        addTeardownBlock { for client in [people, stages, voice] { await client.close() } }

        // A segment for the customers the business loves most.
        let segment = try await people.call(Cx_Profiles_V1_Segments.defineSegment, .with {
            $0.segment.name = "silver advocates"
            $0.segment.rule = #"traits.tier == "silver" and traits.journey_stage == "advocacy""#
        }).segment

        // 1. The customer is created, and browses: Assessment.
        for (id, name) in [("c-maryam", "مریم احمدی"), ("c-sara", "Sara Johnson")] {
            _ = try await people.call(Customers.createCustomer, .with {
                $0.customer.id = id
                $0.customer.name = name
            })
        }
        let browsed = try await stages.call(Journey.recordEvent, .with {
            $0.event.customerID = "c-maryam"
            $0.event.type = "visit"
            $0.event.touchpointID = "website"
        })
        XCTAssertEqual(browsed.stage, .assessment)

        // 2. She buys: points, Admission and a 100-day plan in journey (through loyalty's outbox).
        _ = try await points.call(Loyalty.enroll, .with {
            $0.customerID = "c-maryam"
            $0.currency = "USD"
        })
        let first = try await points.call(Loyalty.recordPurchase, .with {
            $0.customerID = "c-maryam"
            $0.orderID = "A-1"
            $0.amount = money(300)
            $0.channel = .web
        })
        XCTAssertEqual(first.points, 300)
        XCTAssertEqual(first.bonusPoints, 100, "first-purchase bonus")
        let admitted = try await eventually("stage after the first purchase") {
            try await stages.call(Journey.getJourney, .with { $0.customerID = "c-maryam" })
        } until: { $0.stage == .admission }
        XCTAssertEqual(admitted.stage, .admission)
        let plan = try await stages.call(Journey.listTasks, .with { $0.customerID = "c-maryam" }).tasks
        XCTAssertEqual(plan.count, 9, "the default first-100-days plan: \(plan.map(\.id))")

        // 3. She answers a survey as a promoter: the survey bonus, and an Advocacy signal.
        _ = try await voice.call(Feedback.createSurvey, .with {
            $0.survey.id = "after-purchase"
            $0.survey.name = "پس از خرید"
            $0.survey.touchpointID = "website"
            $0.survey.surveyBonus = true
            $0.survey.questions = [.with {
                $0.id = "nps"
                $0.kind = .nps
                $0.text = "How likely are you to recommend us?"
                $0.required = true
            }]
        })
        let promoted = try await voice.call(Feedback.submitResponse, .with {
            $0.surveyID = "after-purchase"
            $0.customerID = "c-maryam"
            $0.answers = npsAnswer(10)
            $0.idempotencyKey = "resp-maryam-1"
        })
        XCTAssertEqual(promoted.npsCategory, .promoter)
        _ = try await eventually("stage after the promoter's answer") {
            try await stages.call(Journey.getJourney, .with { $0.customerID = "c-maryam" }).stage
        } until: { $0 == .advocacy }

        // 4. She refers Sara, who buys: the referral bonus for both.
        _ = try await points.call(Loyalty.enroll, .with {
            $0.customerID = "c-sara"
            $0.currency = "USD"
        })
        let referral = try await points.call(Loyalty.refer, .with {
            $0.referrerID = "c-maryam"
            $0.refereeID = "c-sara"
            $0.idempotencyKey = "ref-1"
        })
        XCTAssertEqual(referral.bonusPoints, 500)
        _ = try await points.call(Loyalty.recordPurchase, .with {
            $0.customerID = "c-sara"
            $0.orderID = "B-1"
            $0.amount = money(50)
        })

        // 5. She buys again and rises to silver.
        let second = try await points.call(Loyalty.recordPurchase, .with {
            $0.customerID = "c-maryam"
            $0.orderID = "A-2"
            $0.amount = money(700)
            $0.channel = .store
        })
        XCTAssertEqual(second.account.tier, "silver", "qualifying points \(second.account.qualifyingPoints)")

        let bonuses = try await eventually("Maryam's bonuses") {
            try await points.call(Loyalty.listLedger, .with { $0.customerID = "c-maryam" }).entries
                .filter { $0.kind == .bonus }.map(\.points).sorted()
        } until: { $0.count == 3 }
        XCTAssertEqual(bonuses, [25, 100, 500], "survey, first purchase, referral: each once")
        let saraBonuses = try await points.call(Loyalty.listLedger, .with { $0.customerID = "c-sara" }).entries
            .filter { $0.kind == .bonus }.map(\.points).sorted()
        XCTAssertEqual(saraBonuses, [100, 500], "Sara's first-purchase and referral bonuses")

        // Her profile shows what the other three services know, and the segment holds her.
        let traits = try await eventually("Maryam's traits") {
            try await people.call(Customers.getCustomer, .with { $0.customerID = "c-maryam" }).customer.traits
        } until: { (traits: Cx_Profiles_V1_Traits) -> Bool in
            let loyaltyKnows = traits.tier == "silver" && traits.purchaseCount == 2
            return loyaltyKnows && traits.journeyStage == "advocacy" && traits.surveysAnswered == 1
        }
        XCTAssertEqual(traits.lifetimeSpend.minorUnits, 100_000)
        XCTAssertEqual(traits.lifetimeSpend.currency, "USD")
        XCTAssertEqual(traits.lastNps, 10)
        let members = try await eventually("the silver advocates") {
            try await people.call(Cx_Profiles_V1_Segments.segmentMembers, .with { $0.segmentID = segment.id }).customerIds
        } until: { $0 == ["c-maryam"] }
        XCTAssertEqual(members, ["c-maryam"])

        // 6. Loyalty stops. Feedback goes on answering, and its bonuses wait in its outbox.
        let stopped = loyalty.stop(keepData: true)
        XCTAssertEqual(stopped.status, 0, stopped.log)
        _ = try await voice.call(Feedback.createSurvey, .with {
            $0.survey.id = "delivery"
            $0.survey.name = "Delivery"
            $0.survey.touchpointID = "store"
            $0.survey.surveyBonus = true
            $0.survey.questions = [.with {
                $0.id = "nps"
                $0.kind = .nps
                $0.text = "تحویل سفارش چطور بود؟"
                $0.required = true
            }]
        })
        for (customer, score) in [("c-maryam", Int32(9)), ("c-sara", 3)] {
            let request = Cx_Feedback_V1_SubmitResponseRequest.with {
                $0.surveyID = "delivery"
                $0.customerID = customer
                $0.answers = npsAnswer(score)
                $0.idempotencyKey = "delivery-\(customer)"
            }
            let answered = try await voice.call(Feedback.submitResponse, request)
            // A client's retry of the same answer is the same answer.
            let retried = try await voice.call(Feedback.submitResponse, request)
            XCTAssertEqual(retried.responseID, answered.responseID)
        }
        let waiting = try await eventually("feedback's outbox while loyalty is down") {
            try await voice.call(Cx_Wire_V1_Outbox.status, .init()).destinations.first { $0.destination == "loyalty" }
        } until: { ($0?.pending ?? 0) == 2 && !($0?.lastError.isEmpty ?? true) }
        XCTAssertEqual(waiting?.pending, 2, "two survey bonuses wait for loyalty")
        XCTAssertEqual(waiting?.refused, 0, "a peer that is down delays events, never refuses them")

        // Loyalty comes back on the same address and data: everything arrives, once.
        let port = loyalty.address.split(separator: ":").last.map(String.init) ?? ""
        await points.close()
        loyalty = try RunningService(
            .loyalty,
            extraArguments: [
                "--listen", "127.0.0.1:\(port)", "--profiles-addr", profiles.address, "--journey-addr", journey.address,
                "--batch-interval", "0",
            ],
            reusing: loyaltyData, tokensFile: tokensFile)
        defer { _ = loyalty.stop() }
        let pointsAgain = try client(loyalty)
        addTeardownBlock { await pointsAgain.close() }
        let maryam = try await eventually("Maryam's bonuses after the restart") {
            try await pointsAgain.call(Loyalty.listLedger, .with { $0.customerID = "c-maryam" }).entries.filter { $0.kind == .bonus }.count
        } until: { $0 == 4 }
        XCTAssertEqual(maryam, 4)
        _ = try await eventually("feedback's outbox after the restart") {
            try await voice.call(Cx_Wire_V1_Outbox.status, .init()).destinations
        } until: { $0.allSatisfy { $0.pending == 0 && $0.refused == 0 } }
        // Give a duplicate delivery time to show, then count again.
        try await Task.sleep(for: .milliseconds(500))
        let maryamLedger = try await pointsAgain.call(Loyalty.listLedger, .with { $0.customerID = "c-maryam" }).entries
        XCTAssertEqual(maryamLedger.filter { $0.kind == .bonus }.map(\.points).sorted(), [25, 25, 100, 500], "the delivery survey's bonus, once")
        let sara = try await pointsAgain.call(Loyalty.listLedger, .with { $0.customerID = "c-sara" }).entries
        XCTAssertEqual(sara.filter { $0.kind == .bonus }.map(\.points).sorted(), [25, 100, 500])
        let account = try await pointsAgain.call(Loyalty.getAccount, .with { $0.customerID = "c-maryam" }).account
        XCTAssertEqual(account.spendablePoints + account.pendingPoints, 1_000 + 25 + 25 + 100 + 500)

        // Journey heard each answer once (a detractor's too), and profiles the last score.
        let saraJourney = try await eventually("Sara's journey events") {
            try await stages.call(Journey.listEvents, .with { $0.customerID = "c-sara" }).events.map(\.event.type).sorted()
        } until: { $0.contains("survey_answered") }
        XCTAssertEqual(saraJourney.filter { $0 == "survey_answered" }.count, 1)
        let saraTraits = try await eventually("Sara's traits") {
            try await people.call(Customers.getCustomer, .with { $0.customerID = "c-sara" }).customer.traits
        } until: { $0.surveysAnswered == 1 }
        XCTAssertEqual(saraTraits.lastNps, 3)
        // Her detractor answer opened a follow-up complaint by itself.
        let complaints = try await voice.call(Feedback.listComplaints, .with { $0.customerID = "c-sara" }).complaints
        XCTAssertEqual(complaints.count, 1)

        // 7. Sara asks to be forgotten. Profiles, now told where the others are,
        // erases her and passes it on: each service erases what it keeps of her.
        let profilesPort = profiles.address.split(separator: ":").last.map(String.init) ?? ""
        await people.close()
        XCTAssertEqual(profiles.stop(keepData: true).status, 0)
        profiles = try RunningService(
            .profiles,
            extraArguments: [
                "--listen", "127.0.0.1:\(profilesPort)", "--loyalty-addr", loyalty.address, "--journey-addr", journey.address,
                "--feedback-addr", feedback.address,
            ],
            reusing: profilesData, tokensFile: tokensFile)
        defer { _ = profiles.stop() }
        let peopleAgain = try client(profiles)
        addTeardownBlock { await peopleAgain.close() }
        let erased = try await peopleAgain.call(Customers.deleteCustomer, .with { $0.customerID = "c-sara" })
        XCTAssertTrue(erased.erased)
        _ = try await eventually("profiles' outbox after the erasure") {
            try await peopleAgain.call(Cx_Wire_V1_Outbox.status, .init()).destinations
        } until: { $0.allSatisfy { $0.pending == 0 && $0.refused == 0 } }
        await CXTestSupport.assertRPCError(.notFound) {
            try await pointsAgain.call(Loyalty.getAccount, .with { $0.customerID = "c-sara" })
        }
        let saraEvents = try? await stages.call(Journey.listEvents, .with { $0.customerID = "c-sara" }).events
        XCTAssertEqual(saraEvents ?? [], [], "journey keeps no event of hers")
        let saraComplaints = try await voice.call(Feedback.listComplaints, .with { $0.customerID = "c-sara" }).complaints
        XCTAssertEqual(saraComplaints, [], "her complaint keeps no trace of her")
        // Maryam is untouched.
        let maryamAfter = try await pointsAgain.call(Loyalty.getAccount, .with { $0.customerID = "c-maryam" }).account
        XCTAssertEqual(maryamAfter.spendablePoints + maryamAfter.pendingPoints, account.spendablePoints + account.pendingPoints)
    }
}
