import CXModel
import Foundation
import XCTest

@testable import CXProfiles

/// A customer as a dictionary of field values.
struct PersonaTestSubject: RuleSubject {
    var values: [String: RuleValue]

    init(_ values: [String: RuleValue] = [:]) {
        self.values = values
    }

    func ruleValue(for field: String) -> RuleValue? { values[field] }
}

final class PersonaMatcherTests: XCTestCase {
    /// 2024-06-01T12:00:00Z
    private let now = Date(timeIntervalSince1970: 1_717_243_200)
    private let day: TimeInterval = 86_400

    // MARK: - Helpers

    private func criterion(_ field: String, _ op: String, _ values: [String], weight: Double = 0) -> Cx_Profiles_V1_Criterion {
        var criterion = Cx_Profiles_V1_Criterion()
        criterion.field = field
        criterion.op = op
        criterion.values = values
        criterion.weight = weight
        return criterion
    }

    private func persona(
        _ name: String, id: String = "", description: String = "", _ criteria: [Cx_Profiles_V1_Criterion]
    ) -> Cx_Profiles_V1_Persona {
        var persona = Cx_Profiles_V1_Persona()
        persona.id = id
        persona.name = name
        persona.description_p = description
        persona.criteria = criteria
        return persona
    }

    private func compile(
        _ name: String, id: String = "", _ criteria: [Cx_Profiles_V1_Criterion]
    ) throws -> CompiledPersona {
        try CompiledPersona.compile(persona(name, id: id, criteria))
    }

    /// Whether a customer meets a one-criterion persona.
    private func meets(
        _ criterion: Cx_Profiles_V1_Criterion, _ subject: PersonaTestSubject, at time: Date? = nil
    ) throws -> Bool {
        let compiled = try compile("P", [criterion])
        return compiled.score(subject, now: time ?? now) == 1
    }

    private func assertError(
        _ persona: Cx_Profiles_V1_Persona, field: String, contains fragment: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        do throws(PersonaError) {
            let compiled = try CompiledPersona.compile(persona)
            XCTFail("expected an error on \(field), compiled \(compiled.criteria.map(\.rule.source))", file: file, line: line)
        } catch {
            XCTAssertEqual(error.field, field, "\(error)", file: file, line: line)
            XCTAssertTrue(error.message.contains(fragment), "\(error) should contain: \(fragment)", file: file, line: line)
        }
    }

    private func assertCriterionError(
        _ criterion: Cx_Profiles_V1_Criterion, field: String, contains fragment: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        assertError(
            persona("P", [self.criterion("traits.tier", "==", ["gold"]), criterion]),
            field: "persona.criteria[1].\(field)", contains: fragment, file: file, line: line)
    }

    // MARK: - Scores and weights

    func testScoreIsMetWeightOverTotalWeight() throws {
        let p = try compile(
            "Gold in Tehran",
            [criterion("traits.tier", "==", ["gold"], weight: 3), criterion("city", "==", ["Tehran"], weight: 1)])
        XCTAssertEqual(p.score(PersonaTestSubject(["traits.tier": .string("gold")]), now: now), 0.75)
        XCTAssertEqual(p.score(PersonaTestSubject(["city": .string("Tehran")]), now: now), 0.25)
        XCTAssertEqual(
            p.score(PersonaTestSubject(["traits.tier": .string("gold"), "city": .string("Tehran")]), now: now), 1)
        XCTAssertEqual(p.score(PersonaTestSubject(), now: now), 0)
    }

    func testUnsetWeightMeansOne() throws {
        let p = try compile(
            "P", [criterion("traits.tier", "==", ["gold"]), criterion("city", "==", ["Tehran"], weight: 2)])
        XCTAssertEqual(p.criteria.map(\.weight), [1, 2])
        XCTAssertEqual(p.score(PersonaTestSubject(["traits.tier": .string("gold")]), now: now), 1.0 / 3.0, accuracy: 1e-12)
    }

    func testMeetingEveryCriterionScoresExactlyOne() throws {
        let p = try compile(
            "P",
            [
                criterion("traits.tier", "==", ["gold"], weight: 0.1),
                criterion("city", "==", ["Tehran"], weight: 0.2),
                criterion("country", "==", ["IR"], weight: 0.7),
            ])
        let all = PersonaTestSubject(["traits.tier": .string("gold"), "city": .string("Tehran"), "country": .string("IR")])
        XCTAssertEqual(p.score(all, now: now), 1)
    }

    // MARK: - Matching

    func testTiesGoToTheNameThatSortsFirstThenTheLowerId() throws {
        let gold = criterion("traits.tier", "==", ["gold"])
        let beta = try compile("Beta", id: "p1", [gold])
        let alpha3 = try compile("Alpha", id: "p3", [gold])
        let alpha2 = try compile("Alpha", id: "p2", [gold])
        let customer = PersonaTestSubject(["traits.tier": .string("gold")])
        for order in [[beta, alpha3, alpha2], [alpha2, alpha3, beta], [alpha3, beta, alpha2]] {
            let result = PersonaMatcher.match(customer, personas: order, minScore: 0.5, now: now)
            XCTAssertEqual(result.best?.persona.id, "p2")
            XCTAssertEqual(result.best?.score, 1)
            XCTAssertEqual(result.runnerUp?.persona.id, "p3")
        }
    }

    func testHigherScoreWinsWhateverTheName() throws {
        let a = try compile("Alpha", id: "a", [criterion("traits.tier", "==", ["gold"]), criterion("city", "==", ["Tehran"])])
        let z = try compile("Zeta", id: "z", [criterion("traits.tier", "==", ["gold"])])
        let customer = PersonaTestSubject(["traits.tier": .string("gold")])
        let result = PersonaMatcher.match(customer, personas: [a, z], minScore: 0.5, now: now)
        XCTAssertEqual(result.best?.persona.id, "z")
        XCTAssertEqual(result.runnerUp?.persona.id, "a")
        XCTAssertEqual(result.runnerUp?.score, 0.5)
    }

    func testMinScore() throws {
        let p = try compile("P", id: "p", [criterion("traits.tier", "==", ["gold"]), criterion("city", "==", ["Tehran"])])
        let q = try compile("Q", id: "q", [criterion("city", "==", ["Shiraz"])])
        let customer = PersonaTestSubject(["traits.tier": .string("gold")])

        // A score equal to the minimum matches.
        let atDefault = PersonaMatcher.match(
            customer, personas: [p, q], minScore: PersonaMatcher.defaultMinScore, now: now)
        XCTAssertEqual(atDefault.best?.persona.id, "p")
        XCTAssertEqual(atDefault.best?.score, 0.5)
        // The runner-up need not reach it.
        XCTAssertEqual(atDefault.runnerUp?.persona.id, "q")
        XCTAssertEqual(atDefault.runnerUp?.score, 0)

        let above = PersonaMatcher.match(customer, personas: [p, q], minScore: 0.51, now: now)
        XCTAssertNil(above.best)
        XCTAssertNil(above.runnerUp)

        // `rank` has no threshold: what MatchPersonaResponse reports with matched = false.
        let ranked = PersonaMatcher.rank(customer, personas: [p, q], now: now)
        XCTAssertEqual(ranked.best?.persona.id, "p")
        XCTAssertEqual(ranked.runnerUp?.persona.id, "q")

        let zero = PersonaMatcher.match(PersonaTestSubject(), personas: [p, q], minScore: 0, now: now)
        XCTAssertEqual(zero.best?.persona.id, "p")  // 0 = 0, name order
        XCTAssertEqual(zero.best?.score, 0)
    }

    func testFewerThanTwoPersonas() throws {
        let p = try compile("P", id: "p", [criterion("traits.tier", "==", ["gold"])])
        let customer = PersonaTestSubject(["traits.tier": .string("gold")])
        let one = PersonaMatcher.match(customer, personas: [p], minScore: 0.5, now: now)
        XCTAssertEqual(one.best?.persona.id, "p")
        XCTAssertNil(one.runnerUp)
        let none = PersonaMatcher.match(customer, personas: [], minScore: 0, now: now)
        XCTAssertNil(none.best)
        XCTAssertNil(none.runnerUp)
        XCTAssertNil(PersonaMatcher.rank(customer, personas: [], now: now).best)
    }

    // MARK: - Operators and values

    func testInWithSeveralValues() throws {
        let tier = criterion("traits.tier", "in", ["gold", "silver", "platinum"])
        XCTAssertEqual(try compile("P", [tier]).criteria[0].rule.source, #"traits.tier in ["gold", "silver", "platinum"]"#)
        XCTAssertTrue(try meets(tier, PersonaTestSubject(["traits.tier": .string("silver")])))
        XCTAssertTrue(try meets(tier, PersonaTestSubject(["traits.tier": .string("Platinum")])))
        XCTAssertFalse(try meets(tier, PersonaTestSubject(["traits.tier": .string("bronze")])))
        XCTAssertFalse(try meets(tier, PersonaTestSubject()))

        let nps = criterion("traits.last_nps", "in", ["9", "10"])
        XCTAssertTrue(try meets(nps, PersonaTestSubject(["traits.last_nps": .int(10)])))
        XCTAssertFalse(try meets(nps, PersonaTestSubject(["traits.last_nps": .int(8)])))
    }

    func testNotIn() throws {
        let notLow = criterion("traits.tier", "not in", ["bronze", "silver"])
        XCTAssertTrue(try meets(notLow, PersonaTestSubject(["traits.tier": .string("gold")])))
        XCTAssertFalse(try meets(notLow, PersonaTestSubject(["traits.tier": .string("Silver")])))
        // Like `!=`: false without a value.
        XCTAssertFalse(try meets(notLow, PersonaTestSubject()))
    }

    func testComparisonsOfEachType() throws {
        XCTAssertTrue(try meets(criterion("traits.lifetime_spend", ">", ["1000000"]), PersonaTestSubject(["traits.lifetime_spend": .int(1_000_001)])))
        XCTAssertFalse(try meets(criterion("traits.lifetime_spend", ">", ["1000000"]), PersonaTestSubject(["traits.lifetime_spend": .int(1_000_000)])))
        XCTAssertTrue(try meets(criterion("traits.purchase_count", ">=", ["2.5"]), PersonaTestSubject(["traits.purchase_count": .int(3)])))
        XCTAssertTrue(try meets(criterion("traits.lifetime_spend", "<", ["-5"]), PersonaTestSubject(["traits.lifetime_spend": .int(-6)])))
        XCTAssertTrue(try meets(criterion("marketing_consent", "==", ["true"]), PersonaTestSubject(["marketing_consent": .bool(true)])))
        XCTAssertFalse(try meets(criterion("marketing_consent", "==", ["true"]), PersonaTestSubject(["marketing_consent": .bool(false)])))
        XCTAssertTrue(try meets(criterion("marketing_consent", "!=", ["true"]), PersonaTestSubject(["marketing_consent": .bool(false)])))
        XCTAssertTrue(try meets(criterion("preferred_channels", "contains", ["sms"]), PersonaTestSubject(["preferred_channels": .stringList(["email", "SMS"])])))
        XCTAssertTrue(try meets(criterion("occupation", "contains", ["engineer"]), PersonaTestSubject(["occupation": .string("Software Engineer")])))
        XCTAssertTrue(try meets(criterion("city", "!=", ["Tehran"]), PersonaTestSubject(["city": .string("Shiraz")])))
        XCTAssertFalse(try meets(criterion("city", "!=", ["Tehran"]), PersonaTestSubject()))
        let created2023 = PersonaTestSubject(["created_at": .time(Date(timeIntervalSince1970: 1_685_577_600))])  // 2023-06-01
        XCTAssertTrue(try meets(criterion("created_at", "<", ["2024-01-01"]), created2023))
        XCTAssertFalse(try meets(criterion("created_at", ">=", ["2023-06-01T00:00:01Z"]), created2023))
    }

    func testRelativeDate() throws {
        let recent = criterion("traits.last_purchase_at", ">=", ["now-30d"])
        XCTAssertEqual(try compile("P", [recent]).criteria[0].rule.source, "traits.last_purchase_at >= now - 30d")
        func bought(daysAgo: Double) -> PersonaTestSubject {
            PersonaTestSubject(["traits.last_purchase_at": .time(now.addingTimeInterval(-daysAgo * day))])
        }
        XCTAssertTrue(try meets(recent, bought(daysAgo: 10)))
        XCTAssertTrue(try meets(recent, bought(daysAgo: 30)))
        XCTAssertFalse(try meets(recent, bought(daysAgo: 31)))
        XCTAssertFalse(try meets(recent, PersonaTestSubject()))
        // The window moves with now.
        XCTAssertFalse(try meets(recent, bought(daysAgo: 10), at: now.addingTimeInterval(25 * day)))
        // Spaces and several durations.
        let same = criterion("traits.last_purchase_at", ">=", [" now - 4w - 2d "])
        XCTAssertTrue(try meets(same, bought(daysAgo: 30)))
        XCTAssertFalse(try meets(same, bought(daysAgo: 31)))
    }

    func testPersianValues() throws {
        XCTAssertTrue(try meets(criterion("city", "==", ["تهران"]), PersonaTestSubject(["city": .string("تهران")])))
        // Arabic yeh and kaf compare equal to Persian ones.
        XCTAssertTrue(try meets(criterion("name", "==", ["علي"]), PersonaTestSubject(["name": .string("علی")])))
        XCTAssertTrue(try meets(criterion("region", "==", ["كرج"]), PersonaTestSubject(["region": .string("کرج")])))
        // `in` with Persian and Latin spellings.
        let capital = criterion("city", "in", ["Tehran", "تهران", "شیراز"])
        XCTAssertTrue(try meets(capital, PersonaTestSubject(["city": .string("تهران")])))
        XCTAssertTrue(try meets(capital, PersonaTestSubject(["city": .string("TEHRAN")])))
        XCTAssertFalse(try meets(capital, PersonaTestSubject(["city": .string("اصفهان")])))
        // A Persian attribute key, and a value whose zero-width non-joiner is meaningful.
        let saving = criterion("attributes.هدف", "contains", ["پس‌انداز"])
        XCTAssertTrue(try meets(saving, PersonaTestSubject(["attributes.هدف": .string("می‌خواهم پس‌انداز کنم")])))
        XCTAssertFalse(try meets(saving, PersonaTestSubject(["attributes.هدف": .string("پسانداز")])))
        // Persian digits in a number.
        let loyal = criterion("traits.purchase_count", ">=", ["۱۰"])
        XCTAssertTrue(try meets(loyal, PersonaTestSubject(["traits.purchase_count": .int(12)])))
        XCTAssertFalse(try meets(loyal, PersonaTestSubject(["traits.purchase_count": .int(9)])))
        // A Persian persona name.
        let p = try compile("مشتری وفادار", id: "p", [loyal])
        XCTAssertEqual(p.name, "مشتری وفادار")
    }

    func testQuotesAndBackslashesAreEscaped() throws {
        let odd = #"علی "قهرمان" \ رضا"#
        let c = criterion("name", "==", [odd])
        XCTAssertEqual(try compile("P", [c]).criteria[0].rule.source, #"name == "علی \"قهرمان\" \\ رضا""#)
        XCTAssertTrue(try meets(c, PersonaTestSubject(["name": .string(odd)])))
        XCTAssertFalse(try meets(c, PersonaTestSubject(["name": .string("علی")])))
        // A value starting with a combining mark (it fuses with the opening quote) survives.
        let mark = "\u{0651}x"
        XCTAssertTrue(try meets(criterion("name", "==", [mark]), PersonaTestSubject(["name": .string(mark)])))
    }

    func testAValueCannotExtendTheComparison() throws {
        // In a text field the value is one string, whatever it holds.
        let sneaky = criterion("traits.tier", "==", [#"gold" or traits.tier != "x"#])
        let compiled = try compile("P", [sneaky])
        XCTAssertEqual(compiled.criteria[0].rule.conditionCount, 1)
        XCTAssertFalse(try meets(sneaky, PersonaTestSubject(["traits.tier": .string("silver")])))
        // Elsewhere only literal tokens pass through.
        assertCriterionError(
            criterion("traits.purchase_count", "==", [#"1 or city == "x""#]), field: "values[0]",
            contains: "is not a value for 'traits.purchase_count', which is an integer")
        assertCriterionError(
            criterion("traits.tier == \"gold\" or city", "==", ["x"]), field: "field", contains: "nothing around it")
    }

    // MARK: - Validation

    func testPersonaLevelErrors() {
        let ok = criterion("traits.tier", "==", ["gold"])
        assertError(persona("", [ok]), field: "persona.name", contains: "required")
        assertError(persona(" \n ", [ok]), field: "persona.name", contains: "required")
        assertError(
            persona(String(repeating: "ب", count: 101), [ok]), field: "persona.name", contains: "101 characters")
        XCTAssertNoThrow(try CompiledPersona.compile(persona(String(repeating: "ب", count: 100), [ok])))
        assertError(
            persona("P", description: String(repeating: "x", count: 2001), [ok]), field: "persona.description",
            contains: "2001 characters")
        assertError(persona("P", []), field: "persona.criteria", contains: "at least one")
        assertError(
            persona("P", Array(repeating: ok, count: 33)), field: "persona.criteria", contains: "33 criteria")
        XCTAssertNoThrow(try CompiledPersona.compile(persona("P", Array(repeating: ok, count: 32))))
    }

    func testFieldErrors() {
        assertCriterionError(criterion("", "==", ["x"]), field: "field", contains: "required")
        assertCriterionError(criterion(" city", "==", ["x"]), field: "field", contains: "nothing around it")
        assertCriterionError(criterion("now", "==", ["x"]), field: "field", contains: "keyword")
        assertCriterionError(criterion("traits.teir", "==", ["x"]), field: "field", contains: "did you mean 'traits.tier'")
        assertCriterionError(criterion("attributes", "==", ["x"]), field: "field", contains: "needs a key")
        assertCriterionError(criterion("attributes.", "==", ["x"]), field: "field", contains: "expected a name after")
    }

    func testOperatorErrors() {
        assertCriterionError(criterion("city", "", ["x"]), field: "op", contains: "required")
        assertCriterionError(criterion("city", "like", ["x"]), field: "op", contains: "unsupported operator 'like'")
        assertCriterionError(criterion("city", "starts_with", ["x"]), field: "op", contains: "unsupported")
        assertCriterionError(criterion("city", "IN", ["x"]), field: "op", contains: "unsupported")
        // The language's type rules, reported on the operator.
        assertCriterionError(criterion("traits.tier", ">", ["gold"]), field: "op", contains: "text has no order")
        assertCriterionError(criterion("traits.purchase_count", "contains", ["1"]), field: "op", contains: "'contains' needs")
        assertCriterionError(criterion("preferred_channels", "in", ["sms"]), field: "op", contains: "list of strings")
        assertCriterionError(criterion("preferred_channels", "not in", ["sms"]), field: "op", contains: "list of strings")
        assertCriterionError(criterion("preferred_channels", "==", ["sms"]), field: "op", contains: "contains")
    }

    func testValueCountErrors() {
        assertCriterionError(criterion("city", "==", []), field: "values", contains: "exactly one value, found 0")
        assertCriterionError(criterion("city", "==", ["a", "b"]), field: "values", contains: "exactly one value, found 2")
        assertCriterionError(criterion("city", "in", []), field: "values", contains: "1 to 100 values, found 0")
        let many = (0...100).map { "city\($0)" }
        assertCriterionError(criterion("city", "not in", many), field: "values", contains: "found 101")
        XCTAssertNoThrow(try compile("P", [criterion("city", "in", Array(many.prefix(100)))]))
        assertCriterionError(
            criterion("city", "in", ["a", String(repeating: "ک", count: 1025)]), field: "values[1]",
            contains: "1025 characters")
        let longest = String(repeating: "\"", count: 1024)
        XCTAssertTrue(try meets(criterion("city", "in", ["a", longest]), PersonaTestSubject(["city": .string(longest)])))
    }

    func testValueErrors() {
        assertCriterionError(
            criterion("traits.purchase_count", "==", ["abc"]), field: "values[0]",
            contains: "expected a number")
        assertCriterionError(
            criterion("traits.purchase_count", "==", [#""30""#]), field: "values[0]",
            contains: "'traits.purchase_count' is an integer, but the value after '==' is a string")
        assertCriterionError(criterion("traits.purchase_count", ">", [""]), field: "values[0]", contains: "empty")
        assertCriterionError(criterion("traits.purchase_count", ">", ["30 40"]), field: "values[0]", contains: "more than one value")
        assertCriterionError(
            criterion("traits.purchase_count", "in", ["1", "true"]), field: "values[1]", contains: "list element 2 is true/false")
        assertCriterionError(criterion("marketing_consent", "==", ["yes"]), field: "values[0]", contains: "true or false")
        assertCriterionError(criterion("created_at", ">", ["2024-13-01"]), field: "values[0]", contains: "not a valid date")
        assertCriterionError(criterion("created_at", ">", ["now-30x"]), field: "values[0]", contains: "unknown time unit")
        assertCriterionError(criterion("created_at", "==", ["now-30d"]), field: "values[0]", contains: "relative date")
        assertCriterionError(
            criterion("created_at", "in", ["2024-01-01", "now-30d"]), field: "values[1]", contains: "'now' is not allowed in a list")
        assertCriterionError(
            criterion("created_at", "not in", ["2024-01-01", "2024-02-30"]), field: "values[1]", contains: "not a valid date")
        assertCriterionError(criterion("city", "==", ["Teh\nran"]), field: "values[0]", contains: "line break")
        assertCriterionError(criterion("city", "==", ["x\u{0600}"]), field: "values[0]", contains: "cannot be written")
    }

    func testWeightErrors() {
        for bad in [-1, -0.001, 1000.5, .infinity, -.infinity, .nan] as [Double] {
            assertCriterionError(criterion("city", "==", ["x"], weight: bad), field: "weight", contains: "found")
        }
        assertCriterionError(criterion("city", "==", ["x"], weight: -1), field: "weight", contains: "between 0 and 1000")
        assertCriterionError(criterion("city", "==", ["x"], weight: .nan), field: "weight", contains: "finite")
        XCTAssertNoThrow(try compile("P", [criterion("city", "==", ["x"], weight: 1000)]))
    }

    func testErrorDescriptionNamesTheField() {
        do throws(PersonaError) {
            _ = try CompiledPersona.compile(persona("P", [criterion("city", "~", ["x"])]))
            XCTFail("expected an error")
        } catch {
            XCTAssertEqual(error.field, "persona.criteria[0].op")
            XCTAssertTrue(error.description.hasPrefix("persona.criteria[0].op: unsupported operator '~'"), error.description)
        }
    }

    // MARK: - Distribution

    func testTally() throws {
        let alpha = try compile("Alpha", id: "a", [criterion("traits.tier", "==", ["gold"])])
        let beta = try compile("Beta", id: "b", [criterion("city", "==", ["Tehran"])])
        let gamma = try compile("Gamma", id: "c", [criterion("country", "==", ["FR"])])
        var tally = PersonaTally(personas: [gamma, beta, alpha], minScore: 0.5)
        XCTAssertEqual(tally.counts, ["a": 0, "b": 0, "c": 0])
        tally.add(PersonaTestSubject(["traits.tier": .string("gold")]), now: now)
        tally.add(PersonaTestSubject(["city": .string("Tehran")]), now: now)
        tally.add(PersonaTestSubject(["traits.tier": .string("gold"), "city": .string("Tehran")]), now: now)  // tie → Alpha
        tally.add(PersonaTestSubject(["city": .string("Shiraz")]), now: now)
        XCTAssertEqual(tally.counts, ["a": 2, "b": 1, "c": 0])
        XCTAssertEqual(tally.unmatched, 1)
        XCTAssertEqual(tally.total, 4)
        XCTAssertEqual(tally.ranked.map(\.persona.id), ["a", "b", "c"])
        XCTAssertEqual(tally.ranked.map(\.count), [2, 1, 0])

        var empty = PersonaTally(personas: [], minScore: 0.5)
        empty.add(PersonaTestSubject(["traits.tier": .string("gold")]), now: now)
        XCTAssertEqual(empty.counts, [:])
        XCTAssertEqual(empty.unmatched, 1)
        XCTAssertEqual(empty.total, 1)
    }
}
