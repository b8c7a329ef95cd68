import ArgumentParser
import CXModel
import CXWire
import Foundation

/// `cxctl profiles value ...`
struct ProfilesValueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "value",
        abstract: "Which customers bring the most value, and whose spending rises or falls.",
        discussion: """
            Computed from what loyalty reports about purchases (lifetime spend, purchase \
            count, last purchase). RFM scores recency, frequency and monetary value 1 to 5 \
            (5 best) by quintile among customers with a purchase. A trend compares spend in \
            the last window (90 days unless --window-days says otherwise) with the window \
            before: rising is 20% more or better, falling 20% less or worse. Amounts are in one \
            currency: --currency, else the service's reporting currency.

            Examples:
              cxctl profiles value customer c-1042
              cxctl profiles value pareto --top-percent 20
              cxctl profiles value top --limit 25 --by rfm
              cxctl profiles value movers --falling --window-days 60
            """,
        subcommands: [Customer.self, Pareto.self, Top.self, Movers.self]
    )
}

enum ProfilesValueRankingArgument: String, CaseIterable, ExpressibleByArgument {
    case spend, rfm

    var proto: Cx_Profiles_V1_ValueRanking {
        switch self {
        case .spend: .lifetimeSpend
        case .rfm: .rfm
        }
    }
}

enum ProfilesMoverDirection: String, EnumerableFlag {
    case rising, falling

    static func help(for value: ProfilesMoverDirection) -> ArgumentHelp? {
        switch value {
        case .rising: return ArgumentHelp("Customers spending more: the ones with potential.")
        case .falling: return ArgumentHelp("Customers spending less: the ones at risk.")
        }
    }
}

/// Checks `--window-days`: 1 to 365 days.
func profilesCheckWindow(_ days: Int?) throws {
    if let days, !(1...365).contains(days) {
        throw ValidationError("--window-days: \(days) must be 1 to 365")
    }
}

extension ProfilesValueCommand {
    struct Customer: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "customer",
            abstract: "Show one customer's value: lifetime spend, RFM scores, trend.",
            discussion: """
                Examples:
                  cxctl profiles value customer c-1042
                  cxctl profiles value customer c-1042 --window-days 30 --json
                """)

        @Argument(help: "The customer's id.")
        var id: String

        @Option(help: ArgumentHelp("Days in each trend window, 1 to 365 (default 90).", valueName: "days"))
        var windowDays: Int?

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            try profilesCheckWindow(windowDays)
        }

        func run() async throws {
            let session = try ServiceSession(.profiles, connection, format: output.format)
            var request = Cx_Profiles_V1_CustomerValueRequest()
            request.customerID = id
            request.windowDays = Int32(windowDays ?? 0)
            let response = try await session.call(Cx_Profiles_V1_Value.customerValue, request)
            await session.close()
            if output.format == .json { return try printMessageJSON(response) }
            let valued = response.customer
            let days = windowDays ?? 90
            var table = Table("FIELD", "VALUE")
            table.append(["customer", valued.customerID])
            table.append(["name", ProfilesFormat.text(valued.name)])
            table.append(["lifetime spend", ProfilesFormat.money(valued.hasLifetimeSpend ? valued.lifetimeSpend : nil)])
            table.append(["purchases", "\(response.purchaseCount)"])
            table.append(["last purchase", ProfilesFormat.time(response.hasLastPurchaseAt ? response.lastPurchaseAt : nil)])
            table.append(["RFM", ProfilesView.rfm(valued.hasRfm ? valued.rfm : nil)])
            table.append(["trend", ProfilesNames.trend(valued.trend)])
            table.append(["spend, last \(days) days", ProfilesFormat.money(valued.hasRecentSpend ? valued.recentSpend : nil)])
            table.append(["spend, \(days) days before", ProfilesFormat.money(valued.hasPreviousSpend ? valued.previousSpend : nil)])
            table.append(["evaluated", ProfilesFormat.time(response.hasEvaluatedAt ? response.evaluatedAt : nil)])
            print(table.render())
        }
    }

    struct Pareto: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "pareto",
            abstract: "The 80/20 view: what share of all spend the top customers bring.",
            discussion: """
                Ranks the customers who spent anything (in the currency) by lifetime spend and \
                tells what the top --top-percent of them spent, of all spend.

                Examples:
                  cxctl profiles value pareto
                  cxctl profiles value pareto --top-percent 10 --currency IRR
                """)

        @Option(help: ArgumentHelp("The top share of customers, 1 to 100 percent.", valueName: "percent"))
        var topPercent = 20

        @Option(help: ArgumentHelp("ISO 4217 code (default: the service's reporting currency).", valueName: "code"))
        var currency: String?

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            guard (1...100).contains(topPercent) else {
                throw ValidationError("--top-percent: \(topPercent) must be 1 to 100")
            }
        }

        func run() async throws {
            let session = try ServiceSession(.profiles, connection, format: output.format)
            var request = Cx_Profiles_V1_ParetoReportRequest()
            request.topPercent = Int32(topPercent)
            request.currency = currency?.uppercased() ?? ""
            let response = try await session.call(Cx_Profiles_V1_Value.paretoReport, request)
            await session.close()
            if output.format == .json { return try printMessageJSON(response) }
            let topSpend = ProfilesFormat.money(response.hasTopSpend ? response.topSpend : nil)
            let totalSpend = ProfilesFormat.money(response.hasTotalSpend ? response.totalSpend : nil)
            var table = Table("MEASURE", "VALUE")
            table.append(["customers who spent", "\(response.customers)"])
            table.append(["top \(response.topPercent)% of them", "\(response.topCustomers)"])
            table.append(["their spend", topSpend])
            table.append(["all spend", totalSpend])
            table.append(["their share", ProfilesFormat.share(response.topShare)])
            table.append(["evaluated", ProfilesFormat.time(response.hasEvaluatedAt ? response.evaluatedAt : nil)])
            print(table.render())
            print(
                "The top \(response.topPercent)% of customers (\(response.topCustomers) of \(response.customers)) "
                    + "brought \(ProfilesFormat.share(response.topShare)) of all spend.")
        }
    }

    struct Top: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "top",
            abstract: "The most valuable customers, best first.",
            discussion: """
                --by spend (the default) ranks by lifetime spend; --by rfm by recency + \
                frequency + monetary.

                Examples:
                  cxctl profiles value top
                  cxctl profiles value top --limit 100 --by rfm --json
                """)

        @Option(help: "How many customers, 1 to 1000.")
        var limit = 10

        @Option(help: "spend (lifetime spend) or rfm (RFM scores).")
        var by: ProfilesValueRankingArgument = .spend

        @Option(help: ArgumentHelp("ISO 4217 code (default: the service's reporting currency).", valueName: "code"))
        var currency: String?

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            guard (1...1000).contains(limit) else {
                throw ValidationError("--limit: \(limit) must be 1 to 1000")
            }
        }

        func run() async throws {
            let session = try ServiceSession(.profiles, connection, format: output.format)
            var request = Cx_Profiles_V1_TopCustomersRequest()
            request.limit = Int32(limit)
            request.ranking = by.proto
            request.currency = currency?.uppercased() ?? ""
            let response = try await session.call(Cx_Profiles_V1_Value.topCustomers, request)
            await session.close()
            if output.format == .json { return try printMessageJSON(response) }
            print(response.customers.isEmpty ? "(no customer has a purchase yet)" : ProfilesView.valued(response.customers).render())
        }
    }

    struct Movers: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "movers",
            abstract: "Customers whose spending rises (potential) or falls (at risk).",
            discussion: """
                Largest change first. CHANGE is the last window's spend minus the window's \
                before.

                Examples:
                  cxctl profiles value movers --rising
                  cxctl profiles value movers --falling --window-days 60 --all --json
                """)

        @Flag(help: "Which way the spending goes.")
        var direction: ProfilesMoverDirection

        @Option(help: ArgumentHelp("Days in each trend window, 1 to 365 (default 90).", valueName: "days"))
        var windowDays: Int?

        @Option(help: ArgumentHelp("ISO 4217 code (default: the service's reporting currency).", valueName: "code"))
        var currency: String?

        @OptionGroup var page: PageOptions
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            try profilesCheckWindow(windowDays)
        }

        func run() async throws {
            let session = try ServiceSession(.profiles, connection, format: output.format)
            var request = Cx_Profiles_V1_ValueMoversRequest()
            request.direction = direction == .rising ? .rising : .falling
            request.windowDays = Int32(windowDays ?? 0)
            request.currency = currency?.uppercased() ?? ""
            let result = try await session.pages(Cx_Profiles_V1_Value.valueMovers, request, page)
            await session.close()
            if output.format == .json { return try printMessageJSON(result) }
            if result.customers.isEmpty {
                print(direction == .rising ? "(no customer's spending rises)" : "(no customer's spending falls)")
            } else {
                var table = Table("CUSTOMER", "NAME", "PREVIOUS", "RECENT", "CHANGE", "TREND")
                for customer in result.customers {
                    table.append([
                        customer.customerID,
                        ProfilesFormat.short(customer.name, 40),
                        ProfilesFormat.money(customer.hasPreviousSpend ? customer.previousSpend : nil),
                        ProfilesFormat.money(customer.hasRecentSpend ? customer.recentSpend : nil),
                        Self.change(customer),
                        ProfilesNames.trend(customer.trend),
                    ])
                }
                print(table.render())
            }
            page.hint(next: result.nextPageToken, format: output.format)
        }

        /// recent − previous, signed, when both are in one currency (an unset amount is none spent).
        static func change(_ customer: Cx_Profiles_V1_ValuedCustomer) -> String {
            let recent = customer.hasRecentSpend ? customer.recentSpend : nil
            let previous = customer.hasPreviousSpend ? customer.previousSpend : nil
            guard let currency = recent?.currency ?? previous?.currency,
                recent == nil || previous == nil || recent?.currency == previous?.currency
            else { return "-" }
            let (difference, overflow) = (recent?.minorUnits ?? 0).subtractingReportingOverflow(previous?.minorUnits ?? 0)
            guard !overflow else { return "-" }
            return (difference > 0 ? "+" : "") + ProfilesFormat.amount(difference, currency: currency)
        }
    }
}
