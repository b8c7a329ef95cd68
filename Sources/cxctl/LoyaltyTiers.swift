import ArgumentParser
import CXModel
import CXWire
import Foundation

/// `cxctl loyalty tiers ...`
struct LoyaltyTiersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tiers",
        abstract: "Evaluate tiers now, and see why an account's tier moved.",
        discussion: """
            Tiers move up at once, at the purchase (or evaluation) whose qualifying points \
            reach a higher threshold. They move down only at the account's yearly review (the \
            enrolment anniversary), one tier at a time, and only after the program's grace \
            periods: an account that falls short at a review first keeps its tier on a grace \
            period (outcome grace). The service evaluates every account on its own schedule; \
            `tiers evaluate` does it now.

            Examples:
              cxctl loyalty tiers evaluate
              cxctl loyalty tiers evaluate c-1042
              cxctl loyalty tiers history c-1042
            """,
        subcommands: [Evaluate.self, History.self]
    )
}

extension LoyaltyTiersCommand {
    struct Evaluate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "evaluate",
            abstract: "Evaluate one account's tier, or every account's, page by page.",
            discussion: """
                With CUSTOMER, shows that account's decision, whatever it is. Without, goes \
                through every account (1000 per call unless --page-size says otherwise, each \
                call one transaction), showing progress on standard error ("evaluated 12,000 of \
                100,000 accounts"), then prints how many moved up, down or used a grace period, \
                and the decisions that did, each with its reason. If the run stops, the message \
                names the --page-token to go on from there.

                Examples:
                  cxctl loyalty tiers evaluate c-1042
                  cxctl loyalty tiers evaluate
                  cxctl loyalty tiers evaluate --page-size 5000 --json > decisions.json
                """)

        @OptionGroup var batch: LoyaltyBatchOptions
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await batch.show(Cx_Loyalty_V1_Loyalty.evaluateTiers, connection, output, done: "evaluated", of: "accounts") { result in
                let decisions = LoyaltyView.decisions(result.decisions, customers: true).render()
                if batch.customer != nil { return decisions }
                return Self.totals(result) + (result.decisions.isEmpty ? "" : "\n\n" + decisions)
            }
        }

        static func totals(_ result: Cx_Loyalty_V1_EvaluateTiersResponse) -> String {
            LoyaltyView.counts(
                "OUTCOME", "ACCOUNTS", ["evaluated": result.evaluated, "up": result.up, "down": result.down, "grace": result.grace])
        }
    }

    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "history",
            abstract: "An account's tier decisions, newest first, each with its reason.",
            discussion: """
                Lists the decisions that moved the tier, used a grace period, or were a yearly \
                review.

                Examples:
                  cxctl loyalty tiers history c-1042
                  cxctl loyalty tiers history c-1042 --all --json
                """)

        @Argument(help: "The customer's id.")
        var customer: String

        @OptionGroup var page: PageOptions
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            var request = Cx_Loyalty_V1_ListTierDecisionsRequest()
            request.customerID = customer
            try await ServiceSession.showPages(.loyalty, Cx_Loyalty_V1_Loyalty.listTierDecisions, request, page, connection, output) {
                $0.decisions.isEmpty ? "(no tier decisions yet)" : LoyaltyView.decisions($0.decisions, customers: false).render()
            }
        }
    }
}

/// `cxctl loyalty expire [CUSTOMER]`
struct LoyaltyExpireCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "expire",
        abstract: "Expire points past their expiry now, for one account or every account.",
        discussion: """
            Points expire the program's expiry months after they were earned unless spent \
            first; an expired point stops counting at once, and this writes its EXPIRY ledger \
            entry (the service also does so on its own schedule, and at the account's next \
            write). Without CUSTOMER, goes through the accounts holding expired points, page by \
            page, with progress on standard error, as `tiers evaluate` does.

            Examples:
              cxctl loyalty expire
              cxctl loyalty expire c-1042
            """)

    @OptionGroup var batch: LoyaltyBatchOptions
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let accounts = "accounts holding expired points"
        try await batch.show(Cx_Loyalty_V1_Loyalty.expirePoints, connection, output, done: "checked", of: accounts) {
            LoyaltyView.counts(
                "MEASURE", "VALUE",
                ["accounts checked": $0.evaluated, "accounts with points expired": $0.accounts, "points expired": $0.pointsExpired])
        }
    }
}

/// `cxctl loyalty report`
struct LoyaltyReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "The program's figures: members per tier, points liability, points issued, redeemed and expired, top earners.",
        discussion: """
            Members per tier and the outstanding points (spendable and pending, with their \
            value per currency: the liability) are as of now. Points issued (purchases and \
            bonuses, net of refunds), redeemed (net of cancellations) and expired, the \
            redemption rate, the top earners and the tier movements are for the period \
            [--from, --to): --to is not included, so --from 2026-01-01 --to 2026-02-01 is \
            January. Days are UTC; a time like 2026-01-01T09:30:00Z works too. Default: the \
            30 days up to now.

            Examples:
              cxctl loyalty report
              cxctl loyalty report --from 2026-01-01 --to 2026-04-01 --top 25
            """)

    @OptionGroup var period: PeriodOptions

    @Option(help: ArgumentHelp("Top earners to list, 1 to 100 (default 10).", valueName: "n"))
    var top: Int?

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        _ = try makeRequest()
    }

    func makeRequest() throws -> Cx_Loyalty_V1_GetReportRequest {
        var request = Cx_Loyalty_V1_GetReportRequest()
        let (from, to) = try period.period()
        if let from { request.from = from }
        if let to { request.to = to }
        if let top {
            guard (1...100).contains(top) else { throw ValidationError("--top: \(top) must be 1 to 100") }
            request.top = Int32(top)
        }
        return request
    }

    func run() async throws {
        let request = try makeRequest()
        try await ServiceSession.show(.loyalty, Cx_Loyalty_V1_Loyalty.getReport, request, connection, output) { Self.text($0) }
    }

    /// Members per tier, the figures, the top earners and the tier movements.
    static func text(_ report: Cx_Loyalty_V1_GetReportResponse) -> String {
        var sections: [String] = []
        let period = "\(ProfilesFormat.time(report.hasFrom ? report.from : nil)) to \(ProfilesFormat.time(report.hasTo ? report.to : nil))"
        sections.append("period: \(period) (to not included)")
        var members = Table("TIER", "MEMBERS", "SHARE")
        for tier in report.members {
            members.append([tier.tier, LoyaltyFormat.points(tier.members), LoyaltyFormat.share(tier.members, of: report.totalMembers)])
        }
        members.append(["total", LoyaltyFormat.points(report.totalMembers), ""])
        sections.append(members.render())
        var figures = Table("MEASURE", "VALUE")
        figures.append(["outstanding points", LoyaltyFormat.points(report.outstandingPoints)])
        figures.append(["liability", LoyaltyFormat.amounts(report.liability)])
        figures.append(["points issued", LoyaltyFormat.points(report.pointsIssued)])
        figures.append(["points redeemed", LoyaltyFormat.points(report.pointsRedeemed)])
        figures.append(["points expired", LoyaltyFormat.points(report.pointsExpired)])
        figures.append(["redemption rate", LoyaltyFormat.basisPoints(report.redemptionRateBp)])
        figures.append(["redeeming members", LoyaltyFormat.points(report.redeemingMembers)])
        sections.append(figures.render())
        if !report.topEarners.isEmpty {
            var earners = Table("RANK", "CUSTOMER", "POINTS EARNED", "TIER")
            for (index, earner) in report.topEarners.enumerated() {
                earners.append(["\(index + 1)", earner.customerID, LoyaltyFormat.points(earner.points), ProfilesFormat.text(earner.tier)])
            }
            sections.append(earners.render())
        }
        if !report.tierMovements.isEmpty {
            var movements = Table("FROM", "TO", "ACCOUNTS")
            for movement in report.tierMovements {
                movements.append([movement.fromTier, movement.toTier, LoyaltyFormat.points(movement.accounts)])
            }
            sections.append(movements.render())
        }
        return sections.joined(separator: "\n\n")
    }
}
