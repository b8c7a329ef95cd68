import CXModel
import CXStore
import CXWire
import Foundation
import GRDB
import SwiftProtobuf

/// What the value reports need of one customer.
struct ValueRow: Sendable {
    let customer: Cx_Profiles_V1_Customer
    let input: RFMInput
    var recent: Int64 = 0
    var previous: Int64 = 0
}

extension ProfilesService {
    func registerValue(into router: inout RPCRouter) {
        router.register(Cx_Profiles_V1_Value.customerValue) { try await self.customerValue($0, $1) }
        router.register(Cx_Profiles_V1_Value.paretoReport) { try await self.paretoReport($0, $1) }
        router.register(Cx_Profiles_V1_Value.topCustomers) { try await self.topCustomers($0, $1) }
        router.register(Cx_Profiles_V1_Value.valueMovers) { try await self.valueMovers($0, $1) }
    }

    func currency(_ requested: String) throws(RPCError) -> String {
        guard !requested.isEmpty else { return reportingCurrency }
        guard requested.count == 3, requested.unicodeScalars.allSatisfy({ $0.value >= 65 && $0.value <= 90 }) else {
            throw .invalidArgument(field: "currency", "\"\(requested)\" is not an ISO 4217 code such as \"IRR\"")
        }
        return requested
    }

    static func windowDays(_ days: Int32) throws(RPCError) -> Double {
        guard (0...365).contains(days) else { throw .invalidArgument(field: "window_days", "\(days) is not 1 to 365") }
        return Double(days == 0 ? 90 : days)
    }

    /// Every live customer whose lifetime spend is in `currency` (or who has
    /// not spent), with RFM inputs and, when `window` is given, spend in
    /// the last window and the one before it.
    static func valueRows(_ db: Database, currency: String, now: Date, window: Double?) throws -> [ValueRow] {
        var rows: [ValueRow] = []
        try ProfilesDatabase.forEachLiveCustomer(db) { c in
            let id = c.id
            let t = c.traits
            if t.hasLifetimeSpend, t.lifetimeSpend.currency != currency { return }
            let input = RFMInput(
                id: id, lastPurchase: t.hasLastPurchaseAt ? t.lastPurchaseAt.date : nil, purchaseCount: Int(t.purchaseCount),
                lifetimeSpend: t.hasLifetimeSpend ? t.lifetimeSpend.minorUnits : 0)
            var value = ValueRow(customer: c, input: input)
            if let window {
                let lifetimeAt = try db.cachedStatement(
                    sql: "SELECT lifetime FROM spend_point WHERE customer_id = ? AND at <= ? ORDER BY at DESC LIMIT 1")
                let nowTotal = try Int64.fetchOne(lifetimeAt, arguments: [id, now.timeIntervalSince1970]) ?? 0
                let oneBack = try Int64.fetchOne(lifetimeAt, arguments: [id, now.timeIntervalSince1970 - window * 86_400]) ?? 0
                let twoBack = try Int64.fetchOne(lifetimeAt, arguments: [id, now.timeIntervalSince1970 - 2 * window * 86_400]) ?? 0
                value.recent = max(0, nowTotal - oneBack)
                value.previous = max(0, oneBack - twoBack)
            }
            rows.append(value)
        }
        return rows
    }

    static func money(_ minor: Int64, _ currency: String) -> Cx_Common_V1_Money {
        var money = Cx_Common_V1_Money()
        money.minorUnits = minor
        money.currency = currency
        return money
    }

    static func trend(_ row: ValueRow) -> Cx_Profiles_V1_Trend {
        switch RFM.spendTrend(previous: row.previous, recent: row.recent) {
        case .rising: return .rising
        case .falling: return .falling
        case .steady: return .steady
        case nil: return .unspecified
        }
    }

    static func valued(_ row: ValueRow, quintiles: RFMQuintiles, currency: String, now: Date) -> Cx_Profiles_V1_ValuedCustomer {
        var valued = Cx_Profiles_V1_ValuedCustomer()
        valued.customerID = row.customer.id
        valued.name = row.customer.name
        valued.lifetimeSpend = money(row.input.lifetimeSpend, currency)
        if row.input.hasPurchased {
            let score = quintiles.score(for: row.input, now: now)
            valued.rfm.recency = Int32(score.recency)
            valued.rfm.frequency = Int32(score.frequency)
            valued.rfm.monetary = Int32(score.monetary)
        }
        valued.trend = trend(row)
        valued.recentSpend = money(row.recent, currency)
        valued.previousSpend = money(row.previous, currency)
        return valued
    }

    static func quintiles(_ rows: [ValueRow], now: Date) -> RFMQuintiles {
        RFMQuintiles(rows.map(\.input).filter(\.hasPurchased), now: now)
    }

    func customerValue(_ request: Cx_Profiles_V1_CustomerValueRequest, _ context: ServerContext) async throws
        -> Cx_Profiles_V1_CustomerValueResponse
    {
        let id = request.customerID
        try CustomerValidation.validateID(id, field: "customer_id")
        let window = try Self.windowDays(request.windowDays)
        let now = clock()
        let currency = reportingCurrency
        return try await store.read { db in
            let customer = try Self.live(try ProfilesDatabase.customer(db, id: id), id: id)
            let spendCurrency = customer.traits.hasLifetimeSpend ? customer.traits.lifetimeSpend.currency : currency
            let rows = try Self.valueRows(db, currency: spendCurrency, now: now, window: window)
            guard let row = rows.first(where: { $0.customer.id == id }) else { throw Self.notFound(id) }
            var response = Cx_Profiles_V1_CustomerValueResponse()
            response.customer = Self.valued(row, quintiles: Self.quintiles(rows, now: now), currency: spendCurrency, now: now)
            response.purchaseCount = customer.traits.purchaseCount
            if customer.traits.hasLastPurchaseAt { response.lastPurchaseAt = customer.traits.lastPurchaseAt }
            response.evaluatedAt = Google_Protobuf_Timestamp(date: now)
            return response
        }
    }

    func paretoReport(_ request: Cx_Profiles_V1_ParetoReportRequest, _ context: ServerContext) async throws
        -> Cx_Profiles_V1_ParetoReportResponse
    {
        guard (0...100).contains(request.topPercent) else {
            throw RPCError.invalidArgument(field: "top_percent", "\(request.topPercent) is not 1 to 100")
        }
        let top = request.topPercent == 0 ? 20 : request.topPercent
        let currency = try currency(request.currency)
        let now = clock()
        let spends = try await store.read { db in
            try Self.valueRows(db, currency: currency, now: now, window: nil).map(\.input.lifetimeSpend)
        }
        let report = RFM.pareto(spends: spends, topPercent: Double(top))
        var response = Cx_Profiles_V1_ParetoReportResponse()
        response.topPercent = top
        response.customers = Int64(report.customerCount)
        response.topCustomers = Int64(report.topCount)
        response.topSpend = Self.money(report.topSpend, currency)
        response.totalSpend = Self.money(report.totalSpend, currency)
        response.topShare = report.topShare
        response.evaluatedAt = Google_Protobuf_Timestamp(date: now)
        return response
    }

    func topCustomers(_ request: Cx_Profiles_V1_TopCustomersRequest, _ context: ServerContext) async throws
        -> Cx_Profiles_V1_TopCustomersResponse
    {
        guard (0...1_000).contains(request.limit) else { throw RPCError.invalidArgument(field: "limit", "\(request.limit) is not 1 to 1000") }
        let limit = request.limit == 0 ? 10 : Int(request.limit)
        let currency = try currency(request.currency)
        let ranking = request.ranking
        let now = clock()
        let rows = try await store.read { db in try Self.valueRows(db, currency: currency, now: now, window: 90) }
        let quintiles = Self.quintiles(rows, now: now)
        var valued = rows.filter(\.input.hasPurchased).map { Self.valued($0, quintiles: quintiles, currency: currency, now: now) }
        switch ranking {
        case .rfm:
            valued.sort { a, b in
                let ka = [a.rfm.recency + a.rfm.frequency + a.rfm.monetary, a.rfm.monetary, a.rfm.frequency, a.rfm.recency]
                let kb = [b.rfm.recency + b.rfm.frequency + b.rfm.monetary, b.rfm.monetary, b.rfm.frequency, b.rfm.recency]
                if ka != kb { return ka.lexicographicallyPrecedes(kb) == false }
                if a.lifetimeSpend.minorUnits != b.lifetimeSpend.minorUnits { return a.lifetimeSpend.minorUnits > b.lifetimeSpend.minorUnits }
                return a.customerID < b.customerID
            }
        default:
            valued.sort { ($0.lifetimeSpend.minorUnits, $1.customerID) > ($1.lifetimeSpend.minorUnits, $0.customerID) }
        }
        var response = Cx_Profiles_V1_TopCustomersResponse()
        response.customers = Array(valued.prefix(limit))
        response.evaluatedAt = Google_Protobuf_Timestamp(date: now)
        return response
    }

    func valueMovers(_ request: Cx_Profiles_V1_ValueMoversRequest, _ context: ServerContext) async throws
        -> Cx_Profiles_V1_ValueMoversResponse
    {
        guard request.direction == .rising || request.direction == .falling else {
            throw RPCError.invalidArgument(field: "direction", "must be TREND_RISING or TREND_FALLING")
        }
        let window = try Self.windowDays(request.windowDays)
        let currency = try currency(request.currency)
        let size = try Self.pageSize(request.pageSize)
        let scope = "profiles.ValueMovers:\(request.direction.rawValue):\(Int(window)):\(currency)"
        let offset = Int(try position(request.pageToken, scope: scope)?.first ?? "0") ?? 0
        let now = clock()
        let direction = request.direction
        let rows = try await store.read { db in try Self.valueRows(db, currency: currency, now: now, window: window) }
        let quintiles = Self.quintiles(rows, now: now)
        let movers = rows.filter { Self.trend($0) == direction }
            .sorted { (abs($0.recent - $0.previous), $1.customer.id) > (abs($1.recent - $1.previous), $0.customer.id) }
        let page = movers.dropFirst(offset).prefix(size)
        var response = Cx_Profiles_V1_ValueMoversResponse()
        response.customers = page.map { Self.valued($0, quintiles: quintiles, currency: currency, now: now) }
        if offset + page.count < movers.count {
            response.nextPageToken = pager.nextToken(scope: scope, last: [String(offset + page.count)], full: true)
        }
        return response
    }
}
