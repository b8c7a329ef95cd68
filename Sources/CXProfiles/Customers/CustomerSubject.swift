import CXModel
import Foundation
import SwiftProtobuf

/// A customer as the segment rule language and persona criteria see it:
/// the field paths of ``RuleSchema/customer`` mapped onto the message. An
/// unset field is absent (nil), so `exists` and comparisons treat it as
/// missing rather than as an empty string or zero.
///
/// `age` is not read here: it depends on `now`, so the evaluator computes it
/// from `birth_date` (see `RuleAge`). `marketing_consent` is never absent
/// (false when the customer was never asked), unlike `marketing_consent.given`
/// and `marketing_consent.at`. `traits.purchase_count` and
/// `traits.surveys_answered` are absent only when the customer has no traits.
struct CustomerSubject: RuleSubject {
    let customer: Cx_Profiles_V1_Customer

    init(_ customer: Cx_Profiles_V1_Customer) {
        self.customer = customer
    }

    func ruleValue(for field: String) -> RuleValue? {
        let c = customer
        switch field {
        case "id": return Self.text(c.id)
        case "name": return Self.text(c.name)
        case "email": return Self.text(c.email)
        case "phone": return Self.text(c.phone)
        case "city": return Self.text(c.city)
        case "region": return Self.text(c.region)
        case "country": return Self.text(c.country)
        case "occupation": return Self.text(c.occupation)
        case "education": return Self.text(c.education)
        case "gender": return c.gender == .unspecified ? nil : .string(CustomerFields.genderName(c.gender))
        case "birth_date":
            guard c.hasBirthDate, let date = CustomerFields.date(c.birthDate) else { return nil }
            return .time(date)
        case "created_at": return c.hasCreatedAt ? .time(c.createdAt.date) : nil
        case "updated_at": return c.hasUpdatedAt ? .time(c.updatedAt.date) : nil
        case "marketing_consent": return .bool(c.hasMarketingConsent && c.marketingConsent.given)
        case "marketing_consent.given": return c.hasMarketingConsent ? .bool(c.marketingConsent.given) : nil
        case "marketing_consent.at":
            return c.hasMarketingConsent && c.marketingConsent.hasAt ? .time(c.marketingConsent.at.date) : nil
        case "preferred_channels":
            return c.preferredChannels.isEmpty ? nil : .stringList(c.preferredChannels.map(CustomerFields.channelName))
        case "traits.tier": return c.hasTraits ? Self.text(c.traits.tier) : nil
        case "traits.journey_stage": return c.hasTraits ? Self.text(c.traits.journeyStage) : nil
        case "traits.lifetime_spend":
            return c.hasTraits && c.traits.hasLifetimeSpend ? .int(c.traits.lifetimeSpend.minorUnits) : nil
        case "traits.purchase_count": return c.hasTraits ? .int(c.traits.purchaseCount) : nil
        case "traits.last_nps": return c.hasTraits && c.traits.hasLastNps ? .int(Int64(c.traits.lastNps)) : nil
        case "traits.surveys_answered": return c.hasTraits ? .int(c.traits.surveysAnswered) : nil
        case "traits.last_purchase_at":
            return c.hasTraits && c.traits.hasLastPurchaseAt ? .time(c.traits.lastPurchaseAt.date) : nil
        default:
            if field.hasPrefix("attributes.") {
                return c.attributes[String(field.dropFirst("attributes.".count))].map { .string($0) }
            }
            return nil
        }
    }

    private static func text(_ value: String) -> RuleValue? {
        value.isEmpty ? nil : .string(value)
    }
}

/// Names and conversions of customer fields shared by validation, rules and output.
public enum CustomerFields {
    /// "female", "male", ...: the enum's name without its prefix, lowercased.
    public static func genderName(_ gender: Cx_Profiles_V1_Gender) -> String {
        switch gender {
        case .unspecified: return "unspecified"
        case .female: return "female"
        case .male: return "male"
        case .other: return "other"
        case .undisclosed: return "undisclosed"
        case .UNRECOGNIZED(let value): return "gender(\(value))"
        }
    }

    /// "email", "sms", ...: the enum's name without its prefix, lowercased.
    public static func channelName(_ channel: Cx_Profiles_V1_Channel) -> String {
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
        case .UNRECOGNIZED(let value): return "channel(\(value))"
        }
    }

    /// Midnight UTC of a calendar date; nil for an invalid date or one
    /// without a year (year 0: a birthday whose year is not known).
    public static func date(_ date: Cx_Common_V1_Date) -> Date? {
        guard date.year > 0 else { return nil }
        var components = DateComponents()
        components.year = Int(date.year)
        components.month = Int(date.month)
        components.day = Int(date.day)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        guard components.isValidDate(in: calendar) else { return nil }
        return calendar.date(from: components)
    }
}
