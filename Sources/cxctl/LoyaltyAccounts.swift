import ArgumentParser
import CXModel
import CXWire
import Foundation

/// `cxctl loyalty enroll CUSTOMER`
struct LoyaltyEnrollCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enroll",
        abstract: "Open a customer's loyalty account, in the lowest tier.",
        discussion: """
            CUSTOMER is the profiles service's customer id. The account keeps its spend in one \
            currency, which needs an earn rate in the program: --currency, else the program's \
            first earn rate's. Enrolling a customer twice is ALREADY_EXISTS, ACCOUNT_EXISTS \
            (with the same --key, a retry prints the first answer instead).

            Examples:
              cxctl loyalty enroll c-1042
              cxctl loyalty enroll c-1042 --currency USD --key enroll-c-1042
            """)

    @Argument(help: "The customer's id.")
    var customer: String

    @Option(help: ArgumentHelp("The account's currency, ISO 4217 (default: the program's first earn rate's).", valueName: "code"))
    var currency: String?

    @OptionGroup var key: KeyOption
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if let currency { _ = try LoyaltyMoney.currency(currency, flag: "--currency") }
    }

    func run() async throws {
        var request = Cx_Loyalty_V1_EnrollRequest()
        request.customerID = customer
        request.currency = try currency.map { try LoyaltyMoney.currency($0, flag: "--currency") } ?? ""
        request.idempotencyKey = key.value
        try await ServiceSession.show(.loyalty, Cx_Loyalty_V1_Loyalty.enroll, request, connection, output) {
            LoyaltyView.account($0.account).render()
        }
    }
}

/// `cxctl loyalty account CUSTOMER`
struct LoyaltyAccountCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "account",
        abstract: "Show an account: points, tier, progress to the next tier, benefits, points expiring soon.",
        discussion: """
            Spendable points can be redeemed now; pending points are a purchase's, still in \
            the returns period. Qualifying points are purchase points before the tier's \
            multiplier, within the qualification window: tiers are decided on them. The next \
            tier line says how many more are needed and what spend would earn them.

            Examples:
              cxctl loyalty account c-1042
              cxctl loyalty account c-1042 --json
            """)

    @Argument(help: "The customer's id.")
    var customer: String

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        var request = Cx_Loyalty_V1_GetAccountRequest()
        request.customerID = customer
        try await ServiceSession.show(.loyalty, Cx_Loyalty_V1_Loyalty.getAccount, request, connection, output) {
            LoyaltyView.account($0.account).render()
        }
    }
}

/// `cxctl loyalty ledger CUSTOMER`
struct LoyaltyLedgerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger",
        abstract: "List an account's ledger: every change to its points, newest first.",
        discussion: """
            Entries are never changed or removed; BALANCE is spendable + pending after the \
            entry. A purchase's points become spendable at AVAILABLE; earned points expire at \
            EXPIRES unless spent first (spending takes the points that expire soonest).

            Examples:
              cxctl loyalty ledger c-1042
              cxctl loyalty ledger c-1042 --all --json
            """)

    @Argument(help: "The customer's id.")
    var customer: String

    @OptionGroup var page: PageOptions
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        var request = Cx_Loyalty_V1_ListLedgerRequest()
        request.customerID = customer
        try await ServiceSession.showPages(.loyalty, Cx_Loyalty_V1_Loyalty.listLedger, request, page, connection, output) {
            $0.entries.isEmpty ? "(no ledger entries)" : Self.table($0.entries).render()
        }
    }

    static func table(_ entries: [Cx_Loyalty_V1_LedgerEntry]) -> Table {
        var table = Table("SEQ", "AT", "KIND", "POINTS", "BALANCE", "AVAILABLE", "EXPIRES", "DESCRIPTION")
        for entry in entries {
            table.append([
                "\(entry.sequence)", ProfilesFormat.time(entry.hasAt ? entry.at : nil), LoyaltyNames.ledgerKind(entry.kind),
                LoyaltyFormat.signed(entry.points), LoyaltyFormat.points(entry.balanceAfter),
                ProfilesFormat.time(entry.hasAvailableAt ? entry.availableAt : nil),
                ProfilesFormat.time(entry.hasExpiresAt ? entry.expiresAt : nil), ProfilesFormat.short(entry.description_p, 80),
            ])
        }
        return table
    }
}

/// `cxctl loyalty purchase CUSTOMER --order ID --amount 12.34 --currency USD`
struct LoyaltyPurchaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purchase",
        abstract: "Record a purchase and earn its points, with the tier's multiplier.",
        discussion: """
            The amount is in the account's currency: --amount in major units, read exactly \
            (12.34 USD is 1234 minor units; IRR has two decimals, so --amount 2,500,000 \
            --currency IRR is 250000000 minor units), or --minor-units as the service keeps \
            it. The order id is the purchase's idempotency key: running the command again with \
            the same order records nothing more and prints the first answer; the same order \
            with a different amount is FAILED_PRECONDITION, IDEMPOTENCY_KEY_REUSED. The points \
            are pending until the returns period is over; a first purchase also earns the \
            first-purchase bonus (and the referral bonus, for a referred customer).

            Examples:
              cxctl loyalty purchase c-1042 --order A-1001 --amount 12.34 --currency USD
              cxctl loyalty purchase c-1042 --order A-1002 --amount 2,500,000 --currency IRR \\
                  --channel app
              cxctl loyalty purchase c-1042 --order A-1003 --minor-units 1234 --currency USD --json
            """)

    @Argument(help: "The customer's id.")
    var customer: String

    @Option(help: ArgumentHelp("The order id, 1 to 128 characters: recorded once.", valueName: "id"))
    var order: String

    @OptionGroup var amount: LoyaltyAmountOptions

    @Option(help: "Where the purchase was made.")
    var channel: LoyaltyChannelArgument?

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard try amount.money() != nil else {
            throw ValidationError("the amount is missing: --amount 12.34 (or --minor-units 1234) with --currency")
        }
    }

    func run() async throws {
        guard let money = try amount.money() else { return }
        var request = Cx_Loyalty_V1_RecordPurchaseRequest()
        request.customerID = customer
        request.orderID = order
        request.amount = money
        request.channel = channel?.proto ?? .unspecified
        try await ServiceSession.show(.loyalty, Cx_Loyalty_V1_Loyalty.recordPurchase, request, connection, output) { response in
            var summary = Table("PURCHASE", "VALUE")
            summary.append(["order", order])
            summary.append(["amount", ProfilesFormat.money(money)])
            let available = response.hasAvailableAt ? " (pending until \(ProfilesFormat.time(response.availableAt)))" : ""
            summary.append(["points", LoyaltyFormat.signed(response.points) + available])
            if response.bonusPoints != 0 { summary.append(["bonus points", LoyaltyFormat.signed(response.bonusPoints)]) }
            if !response.newTier.isEmpty { summary.append(["new tier", "\(response.newTier) (moved up)"]) }
            return LoyaltyView.summary(summary, account: response.account)
        }
    }
}

/// `cxctl loyalty refund CUSTOMER --order ID --refund-id ID`
struct LoyaltyRefundCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "refund",
        abstract: "Refund a recorded purchase, fully or in part, and take back the points it earned.",
        discussion: """
            Without an amount, all that is left of the order is refunded. An order may be \
            refunded in several parts, each with its own --refund-id (the refund's \
            idempotency key: running the command again refunds once). Points the refund should \
            take back but that were already spent are not owed: the answer calls them the \
            shortfall.

            Examples:
              cxctl loyalty refund c-1042 --order A-1001 --refund-id R-1
              cxctl loyalty refund c-1042 --order A-1001 --refund-id R-2 --amount 5.00 --currency USD
            """)

    @Argument(help: "The customer's id.")
    var customer: String

    @Option(help: ArgumentHelp("The order to refund.", valueName: "id"))
    var order: String

    @Option(help: ArgumentHelp("The refund's own id, 1 to 128 characters: refunded once.", valueName: "id"))
    var refundId: String

    @OptionGroup var amount: LoyaltyAmountOptions
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        var request = Cx_Loyalty_V1_ReversePurchaseRequest()
        request.customerID = customer
        request.orderID = order
        request.refundID = refundId
        if let money = try amount.money() { request.amount = money }
        try await ServiceSession.show(.loyalty, Cx_Loyalty_V1_Loyalty.reversePurchase, request, connection, output) { response in
            var summary = Table("REFUND", "VALUE")
            summary.append(["order", order])
            summary.append(["refund", refundId])
            summary.append(["points taken back", LoyaltyFormat.points(response.points)])
            if response.shortfall > 0 {
                summary.append(["shortfall", "\(LoyaltyFormat.points(response.shortfall)) (already spent; not owed)"])
            }
            summary.append(["left to refund", ProfilesFormat.money(response.hasRemaining ? response.remaining : nil)])
            return LoyaltyView.summary(summary, account: response.account)
        }
    }
}

/// `cxctl loyalty bonus CUSTOMER --reason review --key KEY`
struct LoyaltyBonusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bonus",
        abstract: "Give the program's bonus for a review, a survey, a birthday, or as goodwill.",
        discussion: """
            The points are the program's for the reason (`cxctl loyalty program show`), \
            spendable at once. --key is required: name the event the bonus is for \
            (review-A-1001, birthday-2026), so that running the command again, or for the \
            same event twice, gives the bonus once. Referral and first-purchase bonuses are \
            given by the program itself.

            Examples:
              cxctl loyalty bonus c-1042 --reason review --key review-A-1001 --note "A-1001"
              cxctl loyalty bonus c-1042 --reason goodwill --key complaint-5531
            """)

    @Argument(help: "The customer's id.")
    var customer: String

    @Option(help: "What the bonus is for.")
    var reason: LoyaltyBonusArgument

    @Option(help: ArgumentHelp("What the bonus is for, once: 1 to 128 characters.", valueName: "key"))
    var key: String

    @Option(help: ArgumentHelp("Shown in the ledger, up to 200 characters.", valueName: "text"))
    var note: String?

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        try KeyOption.check(key)
        if let note, note.count > 200 {
            throw ValidationError("--note: \(note.count) characters; at most 200")
        }
    }

    func run() async throws {
        var request = Cx_Loyalty_V1_AwardBonusRequest()
        request.customerID = customer
        request.reason = reason.proto
        request.idempotencyKey = key
        request.note = note ?? ""
        try await ServiceSession.show(.loyalty, Cx_Loyalty_V1_Loyalty.awardBonus, request, connection, output) { response in
            var summary = Table("BONUS", "VALUE")
            summary.append(["reason", reason.rawValue])
            summary.append(["points", LoyaltyFormat.signed(response.points)])
            return LoyaltyView.summary(summary, account: response.account)
        }
    }
}

/// `cxctl loyalty refer REFERRER REFEREE`
struct LoyaltyReferCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "refer",
        abstract: "Record that one member brought in another; both get the referral bonus at the referee's first purchase.",
        discussion: """
            Both must be enrolled and different; the referee must not have made a purchase \
            yet and can be referred once (else ALREADY_EXISTS, ALREADY_REFERRED).

            Examples:
              cxctl loyalty refer c-1042 c-2077
            """)

    @Argument(help: "The member who brought the other in.")
    var referrer: String

    @Argument(help: "The new member.")
    var referee: String

    @OptionGroup var key: KeyOption
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        var request = Cx_Loyalty_V1_ReferRequest()
        request.referrerID = referrer
        request.refereeID = referee
        request.idempotencyKey = key.value
        try await ServiceSession.show(.loyalty, Cx_Loyalty_V1_Loyalty.refer, request, connection, output) {
            "\(referrer) referred \(referee): each gets \(LoyaltyFormat.points($0.bonusPoints)) points at \(referee)'s first purchase"
        }
    }
}
