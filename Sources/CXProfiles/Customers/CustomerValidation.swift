import CXModel
import CXService
import CXWire
import Foundation
import SwiftProtobuf

/// Checks of a customer's fields. Every problem names its field (with the
/// caller's prefix: "customer.email", "customers[3].email") and the value.
public enum CustomerValidation {
    public static let maxIDLength = 64
    public static let maxTextLength = 200
    public static let maxAttributes = 64
    public static let maxAttributeKeyLength = 64
    public static let maxAttributeValueLength = 1024
    public static let maxChannels = 16

    /// Puts fields in the stored form the contract promises: country
    /// uppercased, a phone as its digits (with a leading "+" when given),
    /// consent given without a time dated now.
    public static func canonicalize(_ c: inout Cx_Profiles_V1_Customer, now: Date) {
        if !c.country.isEmpty { c.country = c.country.uppercased() }
        if !c.phone.isEmpty {
            let digits = CXText.phoneDigits(c.phone)
            let others = CXText.normalize(c.phone).unicodeScalars.filter { !("0"..."9").contains($0) }
            // Only reformat a phone that is digits and separators; anything
            // else is left for validation to name.
            if !digits.isEmpty, others.allSatisfy({ " -.()+".unicodeScalars.contains($0) }) {
                c.phone = (CXText.normalize(c.phone).hasPrefix("+") ? "+" : "") + digits
            }
        }
        if c.hasMarketingConsent, c.marketingConsent.given, !c.marketingConsent.hasAt {
            c.marketingConsent.at = Google_Protobuf_Timestamp(date: now)
        }
    }

    /// Validates what a create or an import sets. `now` bounds birth dates.
    public static func validate(_ c: Cx_Profiles_V1_Customer, prefix: String, now: Date) throws(RPCError) {
        if !c.id.isEmpty { try validateID(c.id, field: "\(prefix).id") }
        for path in CustomerMask.settablePaths where !path.hasPrefix("attributes") {
            try validateField(path, of: c, prefix: prefix, now: now)
        }
        try validateAttributes(c.attributes, prefix: prefix)
        if c.hasTraits { try validateTraits(c.traits, prefix: "\(prefix).traits") }
    }

    /// A customer id: 1 to 128 characters of letters, digits and `._:-`
    /// (ids appear in page tokens, logs and other services' events).
    public static func validateID(_ id: String, field: String) throws(RPCError) {
        try RequestCheck.id(id, field: field)
    }

    /// Validates one settable field (a path of ``CustomerMask/settablePaths``).
    static func validateField(_ path: String, of c: Cx_Profiles_V1_Customer, prefix: String, now: Date) throws(RPCError) {
        let field = "\(prefix).\(path)"
        switch path {
        case "name", "city", "region", "occupation", "education":
            let value = CustomerMask.text(path, of: c)
            guard value.count <= maxTextLength else {
                throw .invalidArgument(field: field, "is \(value.count) characters; at most \(maxTextLength)")
            }
        case "email":
            guard !c.email.isEmpty else { return }
            try validateEmail(c.email, field: field)
        case "phone":
            guard !c.phone.isEmpty else { return }
            try validatePhone(c.phone, field: field)
        case "country":
            guard !c.country.isEmpty else { return }
            guard c.country.count == 2, c.country.unicodeScalars.allSatisfy({ $0.value >= 65 && $0.value <= 90 }) else {
                throw .invalidArgument(field: field, "\(quoted(c.country)) is not an ISO 3166-1 alpha-2 code such as \"IR\"")
            }
        case "birth_date":
            guard c.hasBirthDate else { return }
            try validateBirthDate(c.birthDate, field: field, now: now)
        case "gender":
            if case .UNRECOGNIZED(let value) = c.gender {
                throw .invalidArgument(field: field, "\(value) is not a known gender")
            }
        case "preferred_channels":
            guard c.preferredChannels.count <= maxChannels else {
                throw .invalidArgument(field: field, "has \(c.preferredChannels.count) channels; at most \(maxChannels)")
            }
            for (index, channel) in c.preferredChannels.enumerated() {
                switch channel {
                case .unspecified: throw .invalidArgument(field: "\(field)[\(index)]", "CHANNEL_UNSPECIFIED is not a channel")
                case .UNRECOGNIZED(let value): throw .invalidArgument(field: "\(field)[\(index)]", "\(value) is not a known channel")
                default: break
                }
            }
        case "marketing_consent":
            guard c.hasMarketingConsent else { return }
            if c.marketingConsent.method.count > maxTextLength {
                throw .invalidArgument(field: "\(field).method", "is \(c.marketingConsent.method.count) characters; at most \(maxTextLength)")
            }
            if c.marketingConsent.hasAt, c.marketingConsent.at.date > now.addingTimeInterval(300) {
                throw .invalidArgument(field: "\(field).at", "\(c.marketingConsent.at.date) is in the future")
            }
        default:
            break
        }
    }

    public static func validateEmail(_ email: String, field: String) throws(RPCError) {
        guard email.utf8.count <= 254 else { throw .invalidArgument(field: field, "is longer than 254 bytes") }
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].utf8.count <= 64,
            parts[1].contains("."), !parts[1].hasPrefix("."), !parts[1].hasSuffix("."), !parts[1].contains(".."),
            !email.contains(where: { $0.isWhitespace })
        else {
            throw .invalidArgument(field: field, "\(quoted(email)) is not an email address like name@example.com")
        }
    }

    /// 7 to 15 digits (E.164's bound), Persian and Arabic-Indic digits
    /// allowed, with an optional leading + and spaces, dashes, dots or
    /// parentheses between them.
    public static func validatePhone(_ phone: String, field: String) throws(RPCError) {
        let digits = CXText.phoneDigits(phone)
        let others = CXText.normalize(phone).unicodeScalars.filter { !("0"..."9").contains($0) }
        let allowed = others.allSatisfy { " -.()+".unicodeScalars.contains($0) }
        guard allowed, (7...15).contains(digits.count) else {
            throw .invalidArgument(field: field, "\(quoted(phone)) is not a phone number: 7 to 15 digits, e.g. +98 912 345 6789")
        }
    }

    static func validateBirthDate(_ d: Cx_Common_V1_Date, field: String, now: Date) throws(RPCError) {
        let shown = "\(d.year)-\(d.month)-\(d.day)"
        guard (1...12).contains(d.month), (1...31).contains(d.day) else {
            throw .invalidArgument(field: field, "\(shown) is not a date")
        }
        guard d.year != 0 else { return }  // a birthday without a year
        guard let date = CustomerFields.date(d) else { throw .invalidArgument(field: field, "\(shown) is not a date") }
        guard date < now else { throw .invalidArgument(field: field, "\(shown) is not in the past") }
        guard d.year >= 1900 else { throw .invalidArgument(field: field, "\(shown) is before 1900") }
    }

    static func validateAttributes(_ attributes: [String: String], prefix: String) throws(RPCError) {
        guard attributes.count <= maxAttributes else {
            throw .invalidArgument(field: "\(prefix).attributes", "has \(attributes.count) keys; at most \(maxAttributes)")
        }
        for key in attributes.keys.sorted() {
            try validateAttributeKey(key, field: "\(prefix).attributes")
            let value = attributes[key] ?? ""
            guard value.count <= maxAttributeValueLength else {
                throw .invalidArgument(
                    field: "\(prefix).attributes.\(key)", "is \(value.count) characters; at most \(maxAttributeValueLength)")
            }
        }
    }

    /// Attribute keys appear in update masks and rules: `[a-z][a-z0-9_]*`, at most 64.
    static func validateAttributeKey(_ key: String, field: String) throws(RPCError) {
        let scalars = Array(key.unicodeScalars)
        let valid =
            !scalars.isEmpty && scalars.count <= maxAttributeKeyLength && ("a"..."z").contains(scalars[0])
            && scalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
        guard valid else {
            throw .invalidArgument(
                field: field, "key \(quoted(key)) must be 1 to \(maxAttributeKeyLength) of a-z, 0-9 and _, starting with a letter")
        }
    }

    static func validateTraits(_ t: Cx_Profiles_V1_Traits, prefix: String) throws(RPCError) {
        if t.tier.count > maxTextLength { throw .invalidArgument(field: "\(prefix).tier", "is longer than \(maxTextLength)") }
        if t.journeyStage.count > maxTextLength {
            throw .invalidArgument(field: "\(prefix).journey_stage", "is longer than \(maxTextLength)")
        }
        if t.purchaseCount < 0 { throw .invalidArgument(field: "\(prefix).purchase_count", "\(t.purchaseCount) is negative") }
        if t.surveysAnswered < 0 {
            throw .invalidArgument(field: "\(prefix).surveys_answered", "\(t.surveysAnswered) is negative")
        }
        if t.hasLastNps, !(0...10).contains(t.lastNps) {
            throw .invalidArgument(field: "\(prefix).last_nps", "\(t.lastNps) is not a score from 0 to 10")
        }
        if t.hasLifetimeSpend {
            let currency = t.lifetimeSpend.currency
            guard currency.count == 3, currency.unicodeScalars.allSatisfy({ $0.value >= 65 && $0.value <= 90 }) else {
                throw .invalidArgument(
                    field: "\(prefix).lifetime_spend.currency", "\(quoted(currency)) is not an ISO 4217 code such as \"IRR\"")
            }
        }
    }

    static func quoted(_ value: String) -> String {
        let shown = value.count > 80 ? String(value.prefix(80)) + "…" : value
        return "\"\(shown)\""
    }
}
