import CXModel
import CXWire
import Foundation

/// All four services at once, in the proportions a business's day brings:
/// journey events and customer reads most, then purchases and balances,
/// responses, and now and then a sign-up, a redemption, a report.
enum PlatformLoad {
    static let scenario = Scenario(
        "platform", "default",
        "All four at once: events 20%, GetCustomer 15%, purchases 15%, balances 12%, GetJourney 8%, responses 8%, and search, "
            + "sign-ups, redemptions, scores, funnel, segment counts",
        services: CXServiceName.allCases,
        seed: [
            ProfilesLoad.seedCustomers, ProfilesLoad.seedSegments,
            LoyaltyLoad.seedAccounts, LoyaltyLoad.seedReward, LoyaltyLoad.seedPoints,
            JourneyLoad.seedTouchpoints, JourneyLoad.seedJourneys,
            seedSurveys,
        ],
        operations: [
            Operation(weight: 20, run: JourneyLoad.event),
            Operation(weight: 15, run: ProfilesLoad.get),
            Operation(weight: 15, run: LoyaltyLoad.purchase),
            Operation(weight: 12, run: LoyaltyLoad.balance),
            Operation(weight: 8, run: JourneyLoad.getJourney),
            Operation(weight: 8, run: FeedbackLoad.respond),
            Operation(weight: 5, run: ProfilesLoad.search),
            Operation(weight: 3, run: ProfilesLoad.create),
            Operation(weight: 3, run: LoyaltyLoad.redeem),
            Operation(weight: 3, run: FeedbackLoad.surveyScores),
            Operation(weight: 2, run: JourneyLoad.funnel),
            Operation(weight: 2, run: ProfilesLoad.countSegment),
        ])

    /// The platform's surveys earn loyalty's survey bonus (the customers are
    /// enrolled), so they are kept apart from feedback's own ("p-").
    static let seedSurveys: Scenario.SeedStep = { seeder, fixture in
        fixture.surveys = try await FeedbackLoad.makeSurveys(seeder, SeedData.surveys(seeder.run, prefix: "p-"), bonus: true)
    }
}
