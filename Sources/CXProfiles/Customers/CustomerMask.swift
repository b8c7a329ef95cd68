import CXModel
import CXWire
import Foundation

/// Partial updates: only the fields an update names change, so two callers
/// updating different fields of one customer never erase each other's change.
enum CustomerMask {
    /// The paths an update_mask may name (besides "attributes.<key>").
    static let settablePaths = [
        "name", "email", "phone", "birth_date", "gender", "city", "region", "country", "occupation", "education",
        "preferred_channels", "marketing_consent", "attributes",
    ]
    static let outputOnlyPaths: Set<String> = ["id", "traits", "created_at", "updated_at", "version"]

    /// Checks `mask` (non-empty, known paths, no repeats, not "attributes"
    /// with "attributes.<key>"), then validates the named fields of `source`.
    static func validate(_ mask: [String], source: Cx_Profiles_V1_Customer, now: Date) throws(RPCError) {
        guard !mask.isEmpty else {
            throw .invalidArgument(field: "update_mask", "must name at least one field, e.g. \"email\"")
        }
        var seen = Set<String>()
        for (index, path) in mask.enumerated() {
            let field = "update_mask[\(index)]"
            guard seen.insert(path).inserted else { throw .invalidArgument(field: field, "\"\(path)\" is named twice") }
            if outputOnlyPaths.contains(path) || path.hasPrefix("traits.") {
                throw .invalidArgument(
                    field: field,
                    "\"\(path)\" is set by the server" + (path.hasPrefix("traits") ? " (traits change only through UpdateTraits)" : ""))
            }
            if path.hasPrefix("attributes.") {
                let key = String(path.dropFirst("attributes.".count))
                try CustomerValidation.validateAttributeKey(key, field: field)
                let value = source.attributes[key] ?? ""
                guard value.count <= CustomerValidation.maxAttributeValueLength else {
                    throw .invalidArgument(
                        field: "customer.attributes.\(key)",
                        "is \(value.count) characters; at most \(CustomerValidation.maxAttributeValueLength)")
                }
                continue
            }
            guard settablePaths.contains(path) else {
                throw .invalidArgument(field: field, "\"\(path)\" is not a customer field; one of \(settablePaths.joined(separator: ", ")) or attributes.<key>")
            }
            if path == "attributes" {
                try CustomerValidation.validateAttributes(source.attributes, prefix: "customer")
            } else {
                try CustomerValidation.validateField(path, of: source, prefix: "customer", now: now)
            }
        }
        if seen.contains("attributes"), seen.contains(where: { $0.hasPrefix("attributes.") }) {
            throw .invalidArgument(field: "update_mask", "names both \"attributes\" (the whole map) and single attributes.<key> paths")
        }
    }

    /// `target` with the fields named in `mask` taken from `source`.
    static func apply(_ mask: [String], from source: Cx_Profiles_V1_Customer, to target: Cx_Profiles_V1_Customer)
        -> Cx_Profiles_V1_Customer
    {
        var c = target
        for path in mask {
            switch path {
            case "name": c.name = source.name
            case "email": c.email = source.email
            case "phone": c.phone = source.phone
            case "birth_date":
                if source.hasBirthDate { c.birthDate = source.birthDate } else { c.clearBirthDate() }
            case "gender": c.gender = source.gender
            case "city": c.city = source.city
            case "region": c.region = source.region
            case "country": c.country = source.country
            case "occupation": c.occupation = source.occupation
            case "education": c.education = source.education
            case "preferred_channels": c.preferredChannels = source.preferredChannels
            case "marketing_consent":
                if source.hasMarketingConsent { c.marketingConsent = source.marketingConsent } else { c.clearMarketingConsent() }
            case "attributes": c.attributes = source.attributes.filter { !$0.value.isEmpty }
            default:
                let key = String(path.dropFirst("attributes.".count))
                if let value = source.attributes[key], !value.isEmpty { c.attributes[key] = value } else { c.attributes[key] = nil }
            }
        }
        return c
    }

    static func text(_ path: String, of c: Cx_Profiles_V1_Customer) -> String {
        switch path {
        case "name": return c.name
        case "email": return c.email
        case "phone": return c.phone
        case "city": return c.city
        case "region": return c.region
        case "country": return c.country
        case "occupation": return c.occupation
        case "education": return c.education
        default: return ""
        }
    }
}
