import CXModel
import Foundation
import SwiftProtobuf

/// How the profiles commands show values in tables.
enum ProfilesFormat {
    /// Decimal places of the minor unit (ISO 4217, as cx.common.v1.Money says:
    /// IRR has two) of the currencies CX users mostly have; any other currency
    /// is shown with two.
    static let exponents: [String: Int] = ["IRR": 2, "USD": 2, "EUR": 2, "GBP": 2, "JPY": 0]

    /// Decimal places of `currency`'s minor unit: 2 for IRR and USD, 0 for JPY.
    static func exponent(of currency: String) -> Int {
        exponents[currency.uppercased()] ?? 2
    }

    /// "1,234.50 USD", "500 JPY"; "-" for no amount.
    static func money(_ money: Cx_Common_V1_Money?) -> String {
        guard let money else { return "-" }
        return amount(money.minorUnits, currency: money.currency)
    }

    /// `minorUnits` of `currency` in major units, with the currency.
    static func amount(_ minorUnits: Int64, currency: String) -> String {
        let exponent = Self.exponent(of: currency)
        var divisor: UInt64 = 1
        for _ in 0..<exponent { divisor *= 10 }
        let magnitude = minorUnits.magnitude
        var text = grouped(magnitude / divisor)
        if exponent > 0 {
            let fraction = String(magnitude % divisor)
            text += "." + String(repeating: "0", count: exponent - fraction.count) + fraction
        }
        if minorUnits < 0 { text = "-" + text }
        return currency.isEmpty ? text : "\(text) \(currency)"
    }

    /// 1234567 → "1,234,567".
    static func grouped(_ value: UInt64) -> String {
        let digits = Array(String(value))
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { out += "," }
            out.append(digit)
        }
        return out
    }

    /// A moment in the run's calendar (--calendar, `DisplayCalendar`):
    /// "2024-03-01T09:30:00Z", or "1402-12-11 09:30:00 UTC" in the Persian
    /// one; "-" when unset. Every time a table shows goes through here.
    static func time(_ timestamp: Google_Protobuf_Timestamp?) -> String {
        guard let timestamp else { return "-" }
        return CalendarText.time(timestamp.date, DisplayCalendar.current)
    }

    /// The UTC day of a moment in the run's calendar: "2024-03-01" or
    /// "1402-12-11"; "-" when unset.
    static func day(_ timestamp: Google_Protobuf_Timestamp?) -> String {
        guard let timestamp else { return "-" }
        return CalendarText.day(timestamp.date, DisplayCalendar.current)
    }

    /// A (Gregorian) date as files carry it: "1990-03-21"; "0000-03-21" when
    /// the year is not known; "-" when unset. Always Gregorian: the CSV
    /// export writes it; tables show `shownDate`.
    static func date(_ date: Cx_Common_V1_Date?) -> String {
        guard let date else { return "-" }
        return String(format: "%04d-%02d-%02d", date.year, date.month, date.day)
    }

    /// A (Gregorian) date in the run's calendar: "1990-03-21" or
    /// "1369-01-01". A day and month without a year have no single Persian
    /// day, so they stay Gregorian and say so: "0000-03-21 (gregorian)".
    static func shownDate(_ date: Cx_Common_V1_Date?) -> String {
        guard let date else { return "-" }
        let calendar = DisplayCalendar.current
        guard calendar != .gregorian else { return Self.date(date) }
        guard date.year != 0, let shown = CalendarText.day(year: Int(date.year), month: Int(date.month), day: Int(date.day), calendar) else {
            return "\(Self.date(date)) (gregorian)"
        }
        return shown
    }

    /// 0.8234 → "82.3%".
    static func share(_ share: Double) -> String {
        String(format: "%.1f%%", share * 100)
    }

    /// 0.8234 → "0.82".
    static func score(_ score: Double) -> String {
        String(format: "%.2f", score)
    }

    static func number(_ value: Double) -> String {
        String(format: "%g", value)
    }

    /// Text for one table cell: line ends become spaces; empty is "-".
    static func text(_ text: String) -> String {
        text.isEmpty ? "-" : text.split(whereSeparator: \.isNewline).joined(separator: " ")
    }

    /// Like `text`, cut to `limit` characters.
    static func short(_ value: String, _ limit: Int) -> String {
        let cell = text(value)
        return cell.count > limit ? String(cell.prefix(limit - 1)) + "…" : cell
    }
}

/// The names the rule language, the CSV files and the flags use for the enums.
enum ProfilesNames {
    /// "female", ...; "" for unspecified.
    static func gender(_ gender: Cx_Profiles_V1_Gender) -> String {
        switch gender {
        case .unspecified: return ""
        case .female: return "female"
        case .male: return "male"
        case .other: return "other"
        case .undisclosed: return "undisclosed"
        case .UNRECOGNIZED(let number): return "gender(\(number))"
        }
    }

    /// A gender from its name, any case; "" and "unspecified" are unspecified.
    static func gender(named name: String) -> Cx_Profiles_V1_Gender? {
        let wanted = CXText.normalize(name)
        if wanted.isEmpty || wanted == "unspecified" { return .unspecified }
        return Cx_Profiles_V1_Gender.allCases.first { $0 != .unspecified && gender($0) == wanted }
    }

    /// "email", "sms", ...
    static func channel(_ channel: Cx_Profiles_V1_Channel) -> String {
        switch channel {
        case .unspecified: return "unspecified"
        case .email: return "email"
        case .sms: return "sms"
        case .phone: return "phone"
        case .app: return "app"
        case .web: return "web"
        case .social: return "social"
        case .store: return "store"
        case .post: return "post"
        case .messenger: return "messenger"
        case .UNRECOGNIZED(let number): return "channel(\(number))"
        }
    }

    /// A channel from its name, any case; nil for anything else.
    static func channel(named name: String) -> Cx_Profiles_V1_Channel? {
        let wanted = CXText.normalize(name)
        return Cx_Profiles_V1_Channel.allCases.first { $0 != .unspecified && channel($0) == wanted }
    }

    static func trend(_ trend: Cx_Profiles_V1_Trend) -> String {
        switch trend {
        case .unspecified: return "-"
        case .rising: return "rising"
        case .steady: return "steady"
        case .falling: return "falling"
        case .UNRECOGNIZED(let number): return "trend(\(number))"
        }
    }

    /// The channel names, for help and error texts.
    static var channelList: String {
        Cx_Profiles_V1_Channel.allCases.filter { $0 != .unspecified }.map { channel($0) }.joined(separator: ", ")
    }
}

/// Tables of the profiles service's messages.
enum ProfilesView {
    /// One customer, field by field.
    static func customer(_ customer: Cx_Profiles_V1_Customer) -> Table {
        var table = Table("FIELD", "VALUE")
        table.append(["id", customer.id])
        table.append(["name", ProfilesFormat.text(customer.name)])
        table.append(["email", ProfilesFormat.text(customer.email)])
        table.append(["phone", ProfilesFormat.text(customer.phone)])
        table.append(["birth_date", ProfilesFormat.shownDate(customer.hasBirthDate ? customer.birthDate : nil)])
        table.append(["gender", ProfilesFormat.text(ProfilesNames.gender(customer.gender))])
        table.append(["city", ProfilesFormat.text(customer.city)])
        table.append(["region", ProfilesFormat.text(customer.region)])
        table.append(["country", ProfilesFormat.text(customer.country)])
        table.append(["occupation", ProfilesFormat.text(customer.occupation)])
        table.append(["education", ProfilesFormat.text(customer.education)])
        table.append([
            "preferred_channels",
            ProfilesFormat.text(customer.preferredChannels.map { ProfilesNames.channel($0) }.joined(separator: ", ")),
        ])
        table.append(["marketing_consent", consent(customer)])
        for key in customer.attributes.keys.sorted() {
            table.append(["attributes.\(key)", ProfilesFormat.text(customer.attributes[key] ?? "")])
        }
        if customer.hasTraits {
            let traits = customer.traits
            if !traits.tier.isEmpty { table.append(["traits.tier", traits.tier]) }
            if !traits.journeyStage.isEmpty { table.append(["traits.journey_stage", traits.journeyStage]) }
            if traits.hasLifetimeSpend { table.append(["traits.lifetime_spend", ProfilesFormat.money(traits.lifetimeSpend)]) }
            if traits.purchaseCount != 0 { table.append(["traits.purchase_count", "\(traits.purchaseCount)"]) }
            if traits.hasLastPurchaseAt { table.append(["traits.last_purchase_at", ProfilesFormat.time(traits.lastPurchaseAt)]) }
            if traits.hasLastNps { table.append(["traits.last_nps", "\(traits.lastNps)"]) }
            if traits.surveysAnswered != 0 { table.append(["traits.surveys_answered", "\(traits.surveysAnswered)"]) }
        }
        table.append(["created_at", ProfilesFormat.time(customer.hasCreatedAt ? customer.createdAt : nil)])
        table.append(["updated_at", ProfilesFormat.time(customer.hasUpdatedAt ? customer.updatedAt : nil)])
        table.append(["version", "\(customer.version)"])
        return table
    }

    /// "given (web-form, 2024-03-01T09:30:00Z)", "refused", or "-" when never asked.
    static func consent(_ customer: Cx_Profiles_V1_Customer) -> String {
        guard customer.hasMarketingConsent else { return "-" }
        let consent = customer.marketingConsent
        var details: [String] = []
        if !consent.method.isEmpty { details.append(consent.method) }
        if consent.hasAt { details.append(ProfilesFormat.time(consent.at)) }
        return (consent.given ? "given" : "refused") + (details.isEmpty ? "" : " (\(details.joined(separator: ", ")))")
    }

    /// Customers, one per row.
    static func customers(_ customers: [Cx_Profiles_V1_Customer]) -> Table {
        var table = Table("ID", "NAME", "EMAIL", "PHONE", "CITY", "COUNTRY", "TIER", "UPDATED")
        for customer in customers {
            table.append([
                customer.id,
                ProfilesFormat.short(customer.name, 40),
                ProfilesFormat.text(customer.email),
                ProfilesFormat.text(customer.phone),
                ProfilesFormat.short(customer.city, 24),
                ProfilesFormat.text(customer.country),
                ProfilesFormat.text(customer.traits.tier),
                ProfilesFormat.time(customer.hasUpdatedAt ? customer.updatedAt : nil),
            ])
        }
        return table
    }

    static func segment(_ segment: Cx_Profiles_V1_Segment) -> Table {
        var table = Table("FIELD", "VALUE")
        table.append(["id", segment.id])
        table.append(["name", ProfilesFormat.text(segment.name)])
        table.append(["description", ProfilesFormat.text(segment.description_p)])
        table.append(["rule", ProfilesFormat.text(segment.rule)])
        let counted = segment.hasCountedAt ? " (counted \(ProfilesFormat.time(segment.countedAt)))" : ""
        table.append(["members", "\(segment.memberCount)\(counted)"])
        table.append(["created_at", ProfilesFormat.time(segment.hasCreatedAt ? segment.createdAt : nil)])
        table.append(["updated_at", ProfilesFormat.time(segment.hasUpdatedAt ? segment.updatedAt : nil)])
        table.append(["version", "\(segment.version)"])
        return table
    }

    static func segments(_ segments: [Cx_Profiles_V1_Segment]) -> Table {
        var table = Table("ID", "NAME", "MEMBERS", "COUNTED", "RULE")
        for segment in segments {
            table.append([
                segment.id,
                ProfilesFormat.short(segment.name, 40),
                "\(segment.memberCount)",
                ProfilesFormat.time(segment.hasCountedAt ? segment.countedAt : nil),
                ProfilesFormat.short(segment.rule, 60),
            ])
        }
        return table
    }

    /// "age >= 25", "country in IR, AE weight 2".
    static func criterion(_ criterion: Cx_Profiles_V1_Criterion) -> String {
        var text = "\(criterion.field) \(criterion.op) \(criterion.values.joined(separator: ", "))"
        if criterion.weight != 0 && criterion.weight != 1 {
            text += " weight \(ProfilesFormat.number(criterion.weight))"
        }
        return text
    }

    static func persona(_ persona: Cx_Profiles_V1_Persona) -> Table {
        var table = Table("FIELD", "VALUE")
        table.append(["id", persona.id])
        table.append(["name", ProfilesFormat.text(persona.name)])
        table.append(["description", ProfilesFormat.text(persona.description_p)])
        for (index, criterion) in persona.criteria.enumerated() {
            table.append(["criteria[\(index + 1)]", ProfilesFormat.text(Self.criterion(criterion))])
        }
        table.append(["created_at", ProfilesFormat.time(persona.hasCreatedAt ? persona.createdAt : nil)])
        table.append(["updated_at", ProfilesFormat.time(persona.hasUpdatedAt ? persona.updatedAt : nil)])
        table.append(["version", "\(persona.version)"])
        return table
    }

    static func personas(_ personas: [Cx_Profiles_V1_Persona]) -> Table {
        var table = Table("ID", "NAME", "CRITERIA", "DESCRIPTION")
        for persona in personas {
            table.append([
                persona.id,
                ProfilesFormat.short(persona.name, 40),
                ProfilesFormat.short(persona.criteria.map { criterion($0) }.joined(separator: "; "), 60),
                ProfilesFormat.short(persona.description_p, 40),
            ])
        }
        return table
    }

    /// Valued customers, best first, numbered from `firstRank`.
    static func valued(_ customers: [Cx_Profiles_V1_ValuedCustomer], firstRank: Int = 1) -> Table {
        var table = Table("RANK", "CUSTOMER", "NAME", "LIFETIME SPEND", "RFM", "TREND")
        for (index, customer) in customers.enumerated() {
            table.append([
                "\(firstRank + index)",
                customer.customerID,
                ProfilesFormat.short(customer.name, 40),
                ProfilesFormat.money(customer.hasLifetimeSpend ? customer.lifetimeSpend : nil),
                rfm(customer.hasRfm ? customer.rfm : nil),
                ProfilesNames.trend(customer.trend),
            ])
        }
        return table
    }

    /// "R4 F3 M5"; "-" when not scored (no purchase yet).
    static func rfm(_ score: Cx_Profiles_V1_RfmScore?) -> String {
        guard let score, score.recency != 0 || score.frequency != 0 || score.monetary != 0 else { return "-" }
        return "R\(score.recency) F\(score.frequency) M\(score.monetary)"
    }
}
