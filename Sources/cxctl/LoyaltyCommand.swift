import ArgumentParser
import CXModel
import CXWire
import Foundation

/// `cxctl loyalty ...`: the admin's side of the loyalty service.
struct LoyaltyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loyalty",
        abstract: "Work with the loyalty service: the program, accounts and points, rewards, tiers, reports.",
        discussion: """
            Every command talks to the loyalty service at $CX_LOYALTY_ADDR, else at \
            127.0.0.1:7102; --addr overrides that for one command.

            A customer enrolls once (in the lowest tier) and then earns points with every \
            purchase: pending for the program's returns period, then spendable, until they \
            expire. Bonuses (review, survey, birthday, goodwill, a referral, the first \
            purchase) are spendable at once. Points are spent on rewards. Tiers move up as \
            soon as the qualifying points of the window reach a threshold, and down only at \
            the account's yearly review, one tier at a time, after the grace periods. \
            `cxctl loyalty program show` prints the rules in force.

            Output is a table for people. --json (or -o json) prints the method's response \
            in protobuf's JSON mapping with the field names of \
            proto-spec/cx/loyalty/v1/loyalty.proto, exactly as `cxctl call loyalty METHOD \
            -o json` would; as in that mapping, fields at their default value (0, false, "") \
            are left out and 64-bit numbers are strings. Money is shown in major units with \
            its currency: 1234 minor units of USD is "12.34 USD". --amount is read the same \
            way, exactly, with the decimals of ISO 4217 (IRR and USD have two, JPY none): \
            --amount 12.34 --currency USD is 1234 minor units; --minor-units 1234 says the \
            same in the service's own terms.

            Every write is safe to run again after a timeout: a purchase is recorded once per \
            --order, a refund once per --refund-id, and the other writes once per --key \
            (redeem makes a key up when none is given and prints it, for the retry).

            Examples:
              cxctl loyalty enroll c-1042 --currency IRR
              cxctl loyalty purchase c-1042 --order A-1001 --amount 2,500,000 --currency IRR
              cxctl loyalty account c-1042
              cxctl loyalty rewards create --name "Free coffee" --cost 200 --stock 500 --id coffee
              cxctl loyalty redeem c-1042 coffee
              cxctl loyalty tiers evaluate
              cxctl loyalty report --from 2026-01-01 --to 2026-02-01

            Exit status: 0 success; 1 a call failed (its status code and message are printed \
            on standard error); 64 the command line is wrong.
            """,
        subcommands: [
            LoyaltyProgramCommand.self,
            LoyaltyEnrollCommand.self,
            LoyaltyAccountCommand.self,
            LoyaltyLedgerCommand.self,
            LoyaltyPurchaseCommand.self,
            LoyaltyRefundCommand.self,
            LoyaltyBonusCommand.self,
            LoyaltyReferCommand.self,
            LoyaltyRewardsCommand.self,
            LoyaltyRedeemCommand.self,
            LoyaltyCancelRedemptionCommand.self,
            LoyaltyTiersCommand.self,
            LoyaltyExpireCommand.self,
            LoyaltyReportCommand.self,
        ]
    )
}

/// `--amount`, `--minor-units` and `--currency`: a sum of money, read exactly.
struct LoyaltyAmountOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "The amount in major units, read exactly: 12.34, 1250000 or 1,250,000.50.", valueName: "amount"))
    var amount: String?

    @Option(help: ArgumentHelp("The amount in minor units instead of --amount: 1234 is 12.34 USD.", valueName: "n"))
    var minorUnits: Int64?

    @Option(help: ArgumentHelp(
        "The amount's ISO 4217 code: IRR, USD, EUR, ... (the account's currency).", valueName: "code"))
    var currency: String?

    func validate() throws {
        _ = try money()
    }

    /// The amount the flags give; nil when neither --amount nor --minor-units is given.
    func money() throws -> Cx_Common_V1_Money? {
        if amount != nil, minorUnits != nil {
            throw ValidationError("--amount and --minor-units say the same thing: give one of them")
        }
        let flag = amount != nil ? "--amount" : "--minor-units"
        guard amount != nil || minorUnits != nil else {
            if currency != nil { throw ValidationError("--currency goes with --amount or --minor-units") }
            return nil
        }
        guard let currency else {
            throw ValidationError("--currency: needed with \(flag), the ISO 4217 code of the account's currency (IRR, USD, ...)")
        }
        let code = try LoyaltyMoney.currency(currency, flag: "--currency")
        var money = Cx_Common_V1_Money()
        money.currency = code
        if let amount {
            money.minorUnits = try LoyaltyMoney.minorUnits(amount, currency: code, flag: "--amount")
        } else if let minorUnits {
            guard minorUnits > 0 else { throw ValidationError("--minor-units: \(minorUnits) must be more than 0") }
            money.minorUnits = minorUnits
        }
        return money
    }
}

enum LoyaltyChannelArgument: String, CaseIterable, ExpressibleByArgument {
    case store, web, app, phone, social

    var proto: Cx_Loyalty_V1_SalesChannel {
        switch self {
        case .store: .store
        case .web: .web
        case .app: .app
        case .phone: .phone
        case .social: .social
        }
    }
}

enum LoyaltyBonusArgument: String, CaseIterable, ExpressibleByArgument {
    case review, survey, birthday, goodwill

    var proto: Cx_Loyalty_V1_BonusReason {
        switch self {
        case .review: .review
        case .survey: .survey
        case .birthday: .birthday
        case .goodwill: .goodwill
        }
    }
}

/// A tier name from a flag: lowercased, then 1 to 32 of a-z, 0-9, "-" and "_".
func loyaltyTierName(_ text: String, flag: String) throws -> String {
    let name = text.lowercased()
    let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789-_")
    guard (1...32).contains(name.count), name.allSatisfy({ allowed.contains($0) }) else {
        throw ValidationError("\(flag): \"\(text)\" is not a tier name (1 to 32 of a-z, 0-9, - and _, such as gold)")
    }
    return name
}

extension Cx_Loyalty_V1_ListLedgerRequest: PagedRequest {}
extension Cx_Loyalty_V1_ListRewardsRequest: PagedRequest {}
extension Cx_Loyalty_V1_ListTierDecisionsRequest: PagedRequest {}

extension Cx_Loyalty_V1_ListLedgerResponse: PagedList {
    static var items: WritableKeyPath<Self, [Cx_Loyalty_V1_LedgerEntry]> { \.entries }
}

extension Cx_Loyalty_V1_ListRewardsResponse: PagedList {
    static var items: WritableKeyPath<Self, [Cx_Loyalty_V1_Reward]> { \.rewards }
}

extension Cx_Loyalty_V1_ListTierDecisionsResponse: PagedList {
    static var items: WritableKeyPath<Self, [Cx_Loyalty_V1_TierDecision]> { \.decisions }
}

/// A request of a run over every account (EvaluateTiers, ExpirePoints):
/// one account when customer_id is set, else a page of accounts.
protocol LoyaltyBatchRequest: PagedRequest {
    init()
    var customerID: String { get set }
}

/// Its answer: one page, or the pages of a run added up. `evaluated` of
/// `totalAccounts` is the run's progress.
protocol LoyaltyBatchResponse: PagedResponse {
    init()
    var evaluated: Int64 { get }
    var totalAccounts: Int64 { get }
}

extension Cx_Loyalty_V1_EvaluateTiersRequest: LoyaltyBatchRequest {}
extension Cx_Loyalty_V1_ExpirePointsRequest: LoyaltyBatchRequest {}

extension Cx_Loyalty_V1_EvaluateTiersResponse: LoyaltyBatchResponse {
    mutating func append(page next: Self) {
        decisions += next.decisions
        evaluated += next.evaluated
        up += next.up
        down += next.down
        grace += next.grace
        totalAccounts = next.totalAccounts
        nextPageToken = next.nextPageToken
    }
}

extension Cx_Loyalty_V1_ExpirePointsResponse: LoyaltyBatchResponse {
    mutating func append(page next: Self) {
        accounts += next.accounts
        pointsExpired += next.pointsExpired
        // A page's total counts the accounts still holding expired points
        // from where it starts: the run's total is what came before plus that.
        totalAccounts = evaluated + next.totalAccounts
        evaluated += next.evaluated
        nextPageToken = next.nextPageToken
    }
}

/// `[CUSTOMER]`, `--page-size` and `--page-token`: one account, or a run
/// over every account (tiers evaluate, expire).
struct LoyaltyBatchOptions: ParsableArguments {
    @Argument(help: "One customer's id (default: every account).")
    var customer: String?

    @Option(help: ArgumentHelp(
        "Accounts per call, 1 to 10000 (default: the service's, 1000); each call is one transaction.", valueName: "n"))
    var pageSize: Int?

    @Option(help: ArgumentHelp(
        "Go on with a run that stopped: the token its last message named.", valueName: "token"))
    var pageToken: String?

    func validate() throws {
        if let pageSize, !(1...10_000).contains(pageSize) {
            throw ValidationError("--page-size: \(pageSize) must be 1 to 10000")
        }
        if customer != nil, pageSize != nil || pageToken != nil {
            throw ValidationError("--page-size and --page-token page through every account; leave them out with CUSTOMER")
        }
    }
}

extension LoyaltyBatchOptions {
    /// The whole of a batch command: `ServiceSession.batch`, then the answer
    /// printed as `ServiceSession.printAnswer` does.
    func show<Request: LoyaltyBatchRequest, Response: LoyaltyBatchResponse>(
        _ method: MethodDescriptor<Request, Response>, _ connection: ConnectionOptions, _ output: OutputOptions,
        done: String, of accounts: String, as text: (Response) -> String
    ) async throws {
        try await ServiceSession.printAnswer(
            of: .loyalty, connection, output, calling: { try await $0.batch(method, self, done: done, of: accounts) }, as: text)
    }
}

extension ServiceSession {
    /// Calls `method` for one account when `options` names a customer, else
    /// for every page of accounts from `options.pageToken` to the end, added
    /// up into one answer, with progress on standard error after each page:
    /// "evaluated 12,000 of 100,000 accounts" (`done`, `accounts`).
    func batch<Request: LoyaltyBatchRequest, Response: LoyaltyBatchResponse>(
        _ method: MethodDescriptor<Request, Response>, _ options: LoyaltyBatchOptions, done: String, of accounts: String
    ) async throws -> Response {
        let progress = { (run: Response) in
            "\(done) \(LoyaltyFormat.points(run.evaluated)) of \(LoyaltyFormat.points(run.totalAccounts)) \(accounts)"
        }
        var request = Request()
        if let customer = options.customer {
            request.customerID = customer
            return try await call(method, request)
        }
        request.pageSize = Int32(options.pageSize ?? 0)
        request.pageToken = options.pageToken ?? ""
        let terminal = stderrIsTerminal
        var result: Response?
        var shown = ""
        repeat {
            let token = request.pageToken
            let page = try await call(method, request) {
                // After a page of this run, say how far it got and how to go on.
                guard let result else { return }
                if terminal { writeStderr("\r\u{1B}[K") }
                writeStderr("cxctl: \(progress(result)), then stopped; to go on from there, add --page-token \(token)\n")
            }
            if result == nil { result = page } else { result?.append(page: page) }
            request.pageToken = page.nextPageToken
            if let result, progress(result) != shown {
                shown = progress(result)
                writeStderr(terminal ? "\r\u{1B}[K\(shown)" : "\(shown)\n")
            }
        } while !request.pageToken.isEmpty
        if terminal { writeStderr("\n") }
        return result ?? Response()
    }
}
