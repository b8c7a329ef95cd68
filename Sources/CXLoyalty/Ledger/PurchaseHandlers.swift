import CXModel
import CXService
import CXStore
import CXWire
import Foundation
import GRDB

extension LoyaltyService {
    static let maxOrderIDLength = 128
    /// 10^15 minor units: ten trillion of a two-decimal currency in one
    /// order, far above any purchase, far below where sums overflow.
    static let maxAmountMinorUnits: Int64 = 1_000_000_000_000_000

    static func validateOrderID(_ id: String, field: String) throws(RPCError) {
        guard !id.isEmpty else { throw .invalidArgument(field: field, "must not be empty") }
        guard id.count <= maxOrderIDLength else {
            throw .invalidArgument(field: field, "is \(id.count) characters; at most \(maxOrderIDLength)")
        }
        guard !id.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw .invalidArgument(field: field, "\(RequestCheck.quoted(id)) holds a control character")
        }
    }

    static func validateAmount(_ amount: Cx_Common_V1_Money, isSet: Bool, field: String) throws(RPCError) {
        guard isSet else { throw .invalidArgument(field: field, "is required") }
        guard amount.minorUnits > 0 else {
            throw .invalidArgument(field: "\(field).minor_units", "is \(amount.minorUnits); a purchase amount must be more than 0")
        }
        guard amount.minorUnits <= maxAmountMinorUnits else {
            throw .invalidArgument(field: "\(field).minor_units", "is \(amount.minorUnits); at most \(maxAmountMinorUnits)")
        }
        try RequestCheck.currency(amount.currency, field: "\(field).currency")
    }

    /// A stored first answer for a key, or the refusal of a different request under it.
    static func replay<Response: CXMessage>(
        _ row: Row, _ type: Response.Type, fingerprint: Int64, table: String, key: String, what: String
    ) throws -> Response {
        guard try row.decode(Int64.self, forColumn: "fingerprint") == fingerprint else {
            throw RPCError(
                code: .failedPrecondition,
                message: "\(what) \(RequestCheck.quoted(key)) was already recorded with a different request; "
                    + "a new \(what.hasPrefix("order") ? "order" : "refund") needs a new id",
                reason: "IDEMPOTENCY_KEY_REUSED")
        }
        return try row.decode(RecordBody.self, forColumn: "response").decode(Response.self, table: table, key: key)
    }

    func recordPurchase(_ request: Cx_Loyalty_V1_RecordPurchaseRequest, _ context: ServerContext) async throws
        -> Cx_Loyalty_V1_RecordPurchaseResponse
    {
        let id = request.customerID
        try RequestCheck.id(id, field: "customer_id")
        try Self.validateOrderID(request.orderID, field: "order_id")
        try Self.validateAmount(request.amount, isSet: request.hasAmount, field: "amount")
        if case .UNRECOGNIZED(let value) = request.channel {
            throw RPCError.invalidArgument(field: "channel", "\(value) is not a sales channel")
        }
        let now = clock()
        let purchasedAt = request.hasPurchasedAt ? request.purchasedAt.date : now
        guard purchasedAt <= now.addingTimeInterval(300) else {
            throw RPCError.invalidArgument(field: "purchased_at", "\(purchasedAt) is in the future")
        }
        let fingerprint = try Idempotency.fingerprint(of: request)
        let programs = self.programs
        let events = self.events(at: now)
        return try await store.write { db in
            if let answer = try db.cachedStatement(sql: "SELECT fingerprint, response FROM purchase WHERE order_id = ?").first(
                .text(request.orderID),
                read: { row in
                    try Self.replay(
                        row, Cx_Loyalty_V1_RecordPurchaseResponse.self, fingerprint: fingerprint, table: "purchase", key: request.orderID,
                        what: "order id")
                })
            {
                return answer
            }
            var account = try AccountRecord.require(db, id)
            let program = try programs.value(db)
            let currency = request.amount.currency
            guard currency == account.currency else {
                throw RPCError.invalidArgument(
                    field: "amount.currency", "is \(currency), but \(id)'s account keeps its spend in \(account.currency)")
            }
            guard let rate = ProgramRules.rate(program, currency: currency) else {
                throw RPCError(
                    code: .failedPrecondition, message: "the program in force (version \(program.version)) has no earn rate for \(currency)",
                    reason: "NO_EARN_RATE")
            }
            let windowStart = ProgramRules.adding(months: -Int(program.qualificationWindowMonths), to: now)
            guard purchasedAt >= windowStart else {
                throw RPCError.invalidArgument(
                    field: "purchased_at", "\(purchasedAt) is older than the \(program.qualificationWindowMonths)-month qualification window")
            }
            try Ledger.expireDue(db, &account, now: now, programVersion: program.version)

            let tierIndex = ProgramRules.tierIndex(named: account.tier, in: program) ?? 0
            let tier = program.tiers[tierIndex]
            let base = ProgramRules.basePoints(request.amount.minorUnits, rate: rate)
            let points = ProgramRules.multiplied(base, percent: tier.earnMultiplierPercent)
            let availableAt = max(now, purchasedAt.addingTimeInterval(Double(program.pendingDays) * 86_400))
            let expiresAt = ProgramRules.adding(months: Int(program.expiryMonths), to: purchasedAt)
            let multiplier = tier.earnMultiplierPercent == 100 ? "" : " at \(tier.name) (\(Self.multiplierWords(tier.earnMultiplierPercent)))"
            let lot = try Ledger.append(
                db, &account,
                Ledger.Entry(
                    kind: .purchase, points: points, at: now, availableAt: availableAt, expiresAt: expiresAt, reference: request.orderID,
                    description: "order \(request.orderID): \(ProgramRules.grouped(request.amount.minorUnits)) \(currency) minor units\(multiplier)",
                    programVersion: program.version, qualifying: base, countsAt: purchasedAt))
            let firstPurchase = account.purchaseCount == 0
            account.purchaseCount += 1
            account.lifetimeSpend = account.lifetimeSpend.addingReportingOverflow(request.amount.minorUnits).overflow
                ? Int64.max : account.lifetimeSpend + request.amount.minorUnits
            account.lastPurchaseAt = max(account.lastPurchaseAt ?? purchasedAt, purchasedAt)

            var response = Cx_Loyalty_V1_RecordPurchaseResponse()
            response.points = points
            response.availableAt = .init(date: availableAt)
            var journey = Cx_Loyalty_V1_LoyaltyEvent()
            journey.kind = firstPurchase ? .firstPurchase : .purchase
            journey.occurredAt = .init(date: purchasedAt)
            journey.orderID = request.orderID
            journey.amount = request.amount
            journey.channel = request.channel
            journey.points = points
            try events.journey(db, account, suffix: "purchase", journey)

            if firstPurchase {
                response.bonusPoints += try Self.firstPurchaseBonuses(db, &account, program: program, now: now, events: events)
            }
            // The ledger entry above counts in the qualifying points the tier check reads.
            let (decision, _) = try TierPolicy.evaluate(db, &account, program: program, now: now, events: events)
            if decision.outcome == .up { response.newTier = decision.toTier }
            try account.update(db)
            // A tier change already told profiles the whole set of traits, this purchase's included.
            if decision.toTier == decision.fromTier { try events.traits(db, account, at: now) }
            response.account = try AccountView.make(db, account, program: program, now: now, qualifying: decision.qualifyingPoints)
            try db.cachedStatement(
                sql: """
                    INSERT INTO purchase (order_id, customer_id, fingerprint, amount, currency, points, qualifying, lot_sequence,
                        purchased_at, tier, response)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            ).run(
                .text(request.orderID), .text(id), .integer(fingerprint), .integer(request.amount.minorUnits), .text(currency),
                .integer(points), .integer(base), .integer(lot), .seconds(purchasedAt), .text(tier.name), .body(try RecordBody(raw: response)))
            return response
        }
    }

    static func multiplierWords(_ percent: Int32) -> String {
        percent % 100 == 0 ? "\(percent / 100)x" : "\(Double(percent) / 100)x"
    }

    /// The first-purchase bonus, and the referral bonus for both sides when
    /// the customer was referred. Returns the points this customer got.
    static func firstPurchaseBonuses(
        _ db: Database, _ account: inout AccountRecord, program: Cx_Loyalty_V1_Program, now: Date, events: LoyaltyEvents
    ) throws -> Int64 {
        var earned: Int64 = 0
        if program.bonuses.firstPurchase > 0 {
            earned += try bonus(db, &account, points: program.bonuses.firstPurchase, reason: .firstPurchase, note: "", program: program, now: now)
        }
        guard program.bonuses.referral > 0,
            let referrerID = try String.fetchOne(
                db.cachedStatement(sql: "SELECT referrer_id FROM referral WHERE referee_id = ? AND rewarded_at IS NULL"),
                arguments: [account.customerID])
        else { return earned }
        try db.execute(
            sql: "UPDATE referral SET rewarded_at = ? WHERE referee_id = ?", arguments: [now.timeIntervalSince1970, account.customerID])
        earned += try bonus(
            db, &account, points: program.bonuses.referral, reason: .referral, note: "referred by \(referrerID)", program: program, now: now)
        if var referrer = try AccountRecord.load(db, referrerID) {
            try Ledger.expireDue(db, &referrer, now: now, programVersion: program.version)
            try bonus(
                db, &referrer, points: program.bonuses.referral, reason: .referral, note: "referred \(account.customerID)",
                program: program, now: now)
            try referrer.update(db)
        }
        return earned
    }

    /// Appends a bonus entry: spendable at once, expiring with the program's expiry.
    @discardableResult
    static func bonus(
        _ db: Database, _ account: inout AccountRecord, points: Int64, reason: Cx_Loyalty_V1_BonusReason, note: String,
        program: Cx_Loyalty_V1_Program, now: Date
    ) throws -> Int64 {
        let name = bonusName(reason)
        try Ledger.append(
            db, &account,
            Ledger.Entry(
                kind: .bonus, points: points, at: now, availableAt: now,
                expiresAt: ProgramRules.adding(months: Int(program.expiryMonths), to: now), reference: name,
                description: note.isEmpty ? "\(name) bonus" : "\(name) bonus: \(note)", programVersion: program.version))
        return points
    }

    static func bonusName(_ reason: Cx_Loyalty_V1_BonusReason) -> String {
        switch reason {
        case .referral: "referral"
        case .review: "review"
        case .survey: "survey"
        case .birthday: "birthday"
        case .firstPurchase: "first purchase"
        case .goodwill: "goodwill"
        case .unspecified, .UNRECOGNIZED: "bonus"
        }
    }

    func reversePurchase(_ request: Cx_Loyalty_V1_ReversePurchaseRequest, _ context: ServerContext) async throws
        -> Cx_Loyalty_V1_ReversePurchaseResponse
    {
        let id = request.customerID
        try RequestCheck.id(id, field: "customer_id")
        try Self.validateOrderID(request.orderID, field: "order_id")
        try Self.validateOrderID(request.refundID, field: "refund_id")
        if request.hasAmount { try Self.validateAmount(request.amount, isSet: true, field: "amount") }
        let now = clock()
        let fingerprint = try Idempotency.fingerprint(of: request)
        let programs = self.programs
        let events = self.events(at: now)
        return try await store.write { db in
            if let row = try Row.fetchOne(
                db, sql: "SELECT fingerprint, response FROM refund WHERE refund_id = ?", arguments: [request.refundID])
            {
                return try Self.replay(
                    row, Cx_Loyalty_V1_ReversePurchaseResponse.self, fingerprint: fingerprint, table: "refund",
                    key: request.refundID, what: "refund id")
            }
            guard let order = try Row.fetchOne(
                db,
                sql: """
                    SELECT customer_id, amount, currency, refunded, points, qualifying, points_reversed, qualifying_reversed, lot_sequence,
                        purchased_at
                    FROM purchase WHERE order_id = ?
                    """,
                arguments: [request.orderID]),
                try order.decode(String.self, forColumn: "customer_id") == id
            else {
                throw RPCError(
                    code: .notFound, message: "customer \(RequestCheck.quoted(id)) has no recorded order \(RequestCheck.quoted(request.orderID))",
                    reason: "ORDER_NOT_FOUND")
            }
            let amount = try order.decode(Int64.self, forColumn: "amount")
            let currency = try order.decode(String.self, forColumn: "currency")
            let refunded = try order.decode(Int64.self, forColumn: "refunded")
            let left = amount - refunded
            guard left > 0 else {
                throw RPCError(
                    code: .failedPrecondition, message: "order \(RequestCheck.quoted(request.orderID)) is already fully refunded",
                    reason: "ORDER_FULLY_REFUNDED")
            }
            var refund = left
            if request.hasAmount {
                guard request.amount.currency == currency else {
                    throw RPCError.invalidArgument(
                        field: "amount.currency", "is \(request.amount.currency), but order \(request.orderID) was paid in \(currency)")
                }
                guard request.amount.minorUnits <= left else {
                    throw RPCError.invalidArgument(
                        field: "amount.minor_units",
                        "is \(request.amount.minorUnits), more than the \(left) \(currency) minor units left to refund of order \(request.orderID)")
                }
                refund = request.amount.minorUnits
            }
            var account = try AccountRecord.require(db, id)
            let program = try programs.value(db)
            try Ledger.expireDue(db, &account, now: now, programVersion: program.version)
            // Cumulative shares, so that refunding an order in parts takes
            // back exactly what it earned once the parts add up to it.
            let share = { (total: Int64) -> Int64 in
                let (product, overflow) = total.multipliedReportingOverflow(by: refunded + refund)
                return overflow ? Int64((Double(total) * Double(refunded + refund) / Double(amount)).rounded(.down)) : product / amount
            }
            let clawback = share(try order.decode(Int64.self, forColumn: "points")) - (try order.decode(Int64.self, forColumn: "points_reversed"))
            let qualifying = share(try order.decode(Int64.self, forColumn: "qualifying"))
                - (try order.decode(Int64.self, forColumn: "qualifying_reversed"))
            let taken = Ledger.take(
                &account, points: clawback, from: .refund(orderLot: try order.decode(Int64.self, forColumn: "lot_sequence")), now: now
            ).reduce(0) { $0 + $1.points }
            let shortfall = clawback - taken
            try Ledger.append(
                db, &account,
                Ledger.Entry(
                    kind: .refund, points: -taken, at: now, reference: request.orderID,
                    description: "refund \(request.refundID) of order \(request.orderID): \(ProgramRules.grouped(refund)) \(currency) minor units"
                        + (shortfall > 0 ? "; \(ProgramRules.grouped(shortfall)) points had already been spent" : ""),
                    programVersion: program.version, qualifying: -qualifying,
                    countsAt: Date(timeIntervalSince1970: try order.decode(Double.self, forColumn: "purchased_at"))))
            try db.execute(
                sql: """
                    UPDATE purchase SET refunded = refunded + ?, points_reversed = points_reversed + ?,
                        qualifying_reversed = qualifying_reversed + ?
                    WHERE order_id = ?
                    """,
                arguments: [refund, clawback, qualifying, request.orderID])
            account.lifetimeSpend = max(0, account.lifetimeSpend - refund)
            try account.update(db)
            try events.traits(db, account, at: now)
            var journey = Cx_Loyalty_V1_LoyaltyEvent()
            journey.kind = .refund
            journey.occurredAt = .init(date: now)
            journey.orderID = request.orderID
            journey.amount = .with {
                $0.minorUnits = refund
                $0.currency = currency
            }
            journey.points = -taken
            try events.journey(db, account, suffix: "refund", journey)

            var response = Cx_Loyalty_V1_ReversePurchaseResponse()
            response.points = taken
            response.shortfall = shortfall
            response.remaining = .with {
                $0.minorUnits = left - refund
                $0.currency = currency
            }
            response.account = try AccountView.make(db, account, program: program, now: now)
            try db.execute(
                sql: "INSERT INTO refund (order_id, refund_id, fingerprint, response) VALUES (?, ?, ?, ?)",
                arguments: [request.orderID, request.refundID, fingerprint, try RecordBody(response)])
            return response
        }
    }

    func awardBonus(_ request: Cx_Loyalty_V1_AwardBonusRequest, _ context: ServerContext) async throws
        -> Cx_Loyalty_V1_AwardBonusResponse
    {
        let id = request.customerID
        try RequestCheck.id(id, field: "customer_id")
        switch request.reason {
        case .review, .survey, .birthday, .goodwill:
            break
        case .referral, .firstPurchase:
            throw RPCError.invalidArgument(
                field: "reason", "\(Self.bonusName(request.reason)) bonuses are given by the program itself (Refer, RecordPurchase)")
        case .unspecified:
            throw RPCError.invalidArgument(field: "reason", "is required: REVIEW, SURVEY, BIRTHDAY or GOODWILL")
        case .UNRECOGNIZED(let value):
            throw RPCError.invalidArgument(field: "reason", "\(value) is not a bonus reason")
        }
        guard request.note.count <= 200 else {
            throw RPCError.invalidArgument(field: "note", "is \(request.note.count) characters; at most 200")
        }
        let key = try RequestCheck.requiredIdempotencyKey(request.idempotencyKey, context)
        let now = clock()
        let programs = self.programs
        return try await store.idempotentWrite("loyalty.AwardBonus", key: key, request: request, subjects: { _, response in [response.account.customerID] }) { db in
            var account = try AccountRecord.require(db, id)
            let program = try programs.value(db)
            let points: Int64 =
                switch request.reason {
                case .review: program.bonuses.review
                case .survey: program.bonuses.survey
                case .birthday: program.bonuses.birthday
                default: program.bonuses.goodwill
                }
            guard points > 0 else {
                throw RPCError(
                    code: .failedPrecondition,
                    message: "the program in force (version \(program.version)) gives no \(Self.bonusName(request.reason)) bonus",
                    reason: "BONUS_NOT_OFFERED")
            }
            try Ledger.expireDue(db, &account, now: now, programVersion: program.version)
            try Self.bonus(db, &account, points: points, reason: request.reason, note: request.note, program: program, now: now)
            try account.update(db)
            var response = Cx_Loyalty_V1_AwardBonusResponse()
            response.points = points
            response.account = try AccountView.make(db, account, program: program, now: now)
            return response
        }
    }

    func refer(_ request: Cx_Loyalty_V1_ReferRequest, _ context: ServerContext) async throws -> Cx_Loyalty_V1_ReferResponse {
        try RequestCheck.id(request.referrerID, field: "referrer_id")
        try RequestCheck.id(request.refereeID, field: "referee_id")
        guard request.referrerID != request.refereeID else {
            throw RPCError.invalidArgument(field: "referee_id", "is the referrer; a customer cannot refer themselves")
        }
        let key = try RequestCheck.idempotencyKey(request.idempotencyKey, context)
        let now = clock()
        let programs = self.programs
        let events = self.events(at: now)
        return try await store.idempotentWrite("loyalty.Refer", key: key, request: request) { db in
            let referrer = try AccountRecord.require(db, request.referrerID)
            var referee = try AccountRecord.require(db, request.refereeID)
            if let existing = try String.fetchOne(
                db, sql: "SELECT referrer_id FROM referral WHERE referee_id = ?", arguments: [request.refereeID])
            {
                throw RPCError(
                    code: .alreadyExists, message: "customer \(RequestCheck.quoted(request.refereeID)) was already referred by \(existing)",
                    reason: "ALREADY_REFERRED")
            }
            guard referee.purchaseCount == 0 else {
                throw RPCError(
                    code: .failedPrecondition,
                    message: "customer \(RequestCheck.quoted(request.refereeID)) has already made a purchase; only new customers can be referred",
                    reason: "REFEREE_HAS_PURCHASED")
            }
            guard referrer.referredBy != request.refereeID else {
                throw RPCError(
                    code: .failedPrecondition, message: "\(request.refereeID) referred \(request.referrerID); a referral cannot go back",
                    reason: "REFERRAL_CYCLE")
            }
            try db.execute(
                sql: "INSERT INTO referral (referee_id, referrer_id, created_at) VALUES (?, ?, ?)",
                arguments: [request.refereeID, request.referrerID, now.timeIntervalSince1970])
            referee.referredBy = request.referrerID
            try referee.update(db)
            let program = try programs.value(db)
            var event = Cx_Loyalty_V1_LoyaltyEvent()
            event.kind = .referral
            event.occurredAt = .init(date: now)
            event.otherCustomerID = request.refereeID
            event.points = program.bonuses.referral
            // The referrer's ledger has not moved: the event id takes the referee's id to stay unique.
            try events.journey(db, referrer, suffix: "referred-\(LoyaltyEvents.shortHash(request.refereeID))", event)
            var response = Cx_Loyalty_V1_ReferResponse()
            response.bonusPoints = program.bonuses.referral
            return response
        }
    }
}
