import Foundation

/// The type of a field a segment rule can read.
public enum RuleType: Sendable, Equatable {
    case string, int, decimal, bool, time, stringList
}

/// The fields a segment rule may read and their types.
///
/// Two kinds of field: fixed paths (`city`, `traits.tier`) and open prefixes, under which
/// any key is a field of the prefix's type (`attributes.` + any key is a string). An
/// attribute key may contain letters (Persian included), digits, `_` and `-`, but no `.`.
///
/// Some fixed fields are not read from the subject as they are: an age field (`age`) is
/// computed when the rule is evaluated, from a time field and `now` (see `RuleAge`); and a
/// field may be stored as part of another (`marketing_consent.given` is in
/// `marketing_consent`). `CompiledRule.fields` names those other fields too, because a
/// change to them is what changes the rule's result.
public struct RuleSchema: Sendable {
    /// Fixed field paths and their types.
    public var fields: [String: RuleType]
    /// Prefixes, each ending in ".", under which any key is a field of the given type.
    public var openPrefixes: [String: RuleType]
    /// Fields (each also in `fields`, as `.int`) whose value is the whole years of age, at
    /// the evaluation's `now`, of the date in a time field: `["age": "birth_date"]`.
    public var ageFields: [String: String]
    /// Fields stored as part of another field, and that field:
    /// `["marketing_consent.at": "marketing_consent"]`.
    public var storedIn: [String: String]

    public init(
        fields: [String: RuleType], openPrefixes: [String: RuleType] = [:], ageFields: [String: String] = [:],
        storedIn: [String: String] = [:]
    ) {
        self.fields = fields
        self.openPrefixes = openPrefixes
        self.ageFields = ageFields
        self.storedIn = storedIn
    }

    /// The type of `path`, or nil when the schema has no such field.
    public func fieldType(_ path: String) -> RuleType? {
        if let type = fields[path] { return type }
        for (prefix, type) in openPrefixes where path.hasPrefix(prefix) {
            let key = path.dropFirst(prefix.count)
            if !key.isEmpty && !key.contains(".") { return type }
        }
        return nil
    }

    /// The customer profile: fixed fields, `attributes.<key>` (text, free keys), `age`
    /// (from `birth_date`) and the traits the profiles service computes.
    ///
    /// Marketing consent has three fields: `marketing_consent.given` and
    /// `marketing_consent.at` are the message's fields (unset when the customer was never
    /// asked); `marketing_consent` alone, the first the language had, is kept for the rules
    /// that use it: whether consent is given, false when never asked.
    public static let customer = RuleSchema(
        fields: [
            "id": .string, "name": .string, "email": .string, "phone": .string,
            "gender": .string, "city": .string, "region": .string, "country": .string,
            "occupation": .string, "education": .string,
            "birth_date": .time, "created_at": .time, "updated_at": .time,
            // Whole years at `now`, from birth_date.
            "age": .int,
            "marketing_consent": .bool, "marketing_consent.given": .bool, "marketing_consent.at": .time,
            "preferred_channels": .stringList,
            "traits.tier": .string, "traits.journey_stage": .string,
            // Money in minor units.
            "traits.lifetime_spend": .int,
            "traits.purchase_count": .int,
            // 0–10.
            "traits.last_nps": .int,
            "traits.surveys_answered": .int,
            "traits.last_purchase_at": .time,
        ],
        openPrefixes: ["attributes.": .string],
        ageFields: ["age": "birth_date"],
        storedIn: ["marketing_consent.given": "marketing_consent", "marketing_consent.at": "marketing_consent"]
    )

    /// The field a reader most likely meant by the unknown `path`: the closest fixed field
    /// or open-prefix field within edit distance 2 (1 for names of up to 4 characters),
    /// ignoring case; nil when none is that close.
    func suggestion(for path: String) -> String? {
        var candidates = fields.keys.sorted()
        // "attribute.goal" → "attributes.goal": try each open prefix with the same key.
        if let dot = path.firstIndex(of: ".") {
            let key = path[path.index(after: dot)...]
            if !key.isEmpty && !key.contains(".") {
                for prefix in openPrefixes.keys.sorted() { candidates.append(prefix + key) }
            }
        }
        let target = Array(path.lowercased())
        let allowed = target.count <= 4 ? 1 : 2
        var best: (path: String, distance: Int)?
        for candidate in candidates where candidate != path {
            let distance = Self.editDistance(target, Array(candidate.lowercased()), limit: allowed)
            if distance <= allowed, distance < (best?.distance ?? Int.max) {
                best = (candidate, distance)
            }
        }
        return best?.path
    }

    /// Levenshtein distance between `a` and `b`, or `limit + 1` when it exceeds `limit`.
    static func editDistance(_ a: [Character], _ b: [Character], limit: Int) -> Int {
        if abs(a.count - b.count) > limit { return limit + 1 }
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            var rowMinimum = current[0]
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                rowMinimum = min(rowMinimum, current[j])
            }
            if rowMinimum > limit { return limit + 1 }
            swap(&previous, &current)
        }
        return min(previous[b.count], limit + 1)
    }
}
