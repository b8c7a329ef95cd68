import CXModel
import CXWire
import Foundation
import SwiftProtobuf

/// `cxctl customer` as tables: one FIELD/VALUE section per service, their
/// value columns lined up, each followed by its list (open tasks, open
/// complaints); a service with nothing to show gets one line instead.
enum CustomerView {
    static func render(_ facts: CustomerFacts) -> String {
        let customer = try? facts.profiles.customer.get()
        var sections: [Section] = [profile(facts), loyalty(facts, customer), journey(facts, customer), feedback(facts, customer)]
        let labels = sections.compactMap { $0.fields?.rows.map { CXText.displayWidth($0[0]) }.max() }.max() ?? 0
        for index in sections.indices {
            sections[index].fields?.minimumWidths = [labels]
        }
        // Blank lines between sections, but one-line sections stay together.
        var text = ""
        for (index, section) in sections.enumerated() {
            if index > 0 { text += section.fields == nil && sections[index - 1].fields == nil ? "\n" : "\n\n" }
            text += section.text
        }
        return text
    }

    /// A section: a table of fields and what follows it, or one line.
    struct Section {
        var fields: Table?
        var line = ""
        var after: [String] = []

        var text: String { ([fields?.render() ?? line] + after).joined(separator: "\n\n") }
    }

    // MARK: Lines for services with nothing to show

    /// "loyalty: not enrolled" when the service does not know the customer
    /// (`unknown`); "journey (127.0.0.1:7103): unavailable" when it cannot be
    /// reached or did not answer in time; else its address, code and
    /// message. `heard` is what profiles' traits say instead, for a service
    /// that did not answer: "stage admission".
    static func line(_ service: CXServiceName, _ target: Target, _ error: RPCError, unknown: String, heard: String? = nil) -> String {
        let instead = heard.map { "profiles last heard: \($0)" }
        switch error.code {
        case .notFound:
            return "\(service.rawValue): \(unknown)"
        case .unavailable, .deadlineExceeded:
            let notes = [error.code == .deadlineExceeded ? "no answer in time" : nil, instead].compactMap { $0 }
            return "\(service.rawValue) (\(target.address)): unavailable" + (notes.isEmpty ? "" : " (\(notes.joined(separator: "; ")))")
        default:
            let reason = error.reason.isEmpty ? "" : " (\(error.reason))"
            return "\(service.rawValue) (\(target.address)): \(error.code.name)\(reason): \(error.message)" + (instead.map { "; \($0)" } ?? "")
        }
    }

    /// What profiles said when it does not show the customer.
    static func profilesLine(_ facts: CustomerFacts) -> String {
        guard case .failure(let error) = facts.profiles.customer else { return "profiles: knows the customer" }
        return line(.profiles, facts.profiles.target, error, unknown: error.message.isEmpty ? "no customer has id \"\(facts.id)\"" : error.message)
    }

    /// A part of an answer that failed on its own, for its row: "- (UNAVAILABLE: ...)".
    static func failed(_ error: RPCError) -> String {
        "- (\(error.code.name): \(ProfilesFormat.short(error.message, 80)))"
    }

    // MARK: Profiles

    static func profile(_ facts: CustomerFacts) -> Section {
        let profiles = facts.profiles
        let customer: Cx_Profiles_V1_Customer
        switch profiles.customer {
        case .failure: return Section(line: profilesLine(facts))
        case .success(let found): customer = found
        }
        var table = Table("PROFILE", "VALUE")
        table.append(["id", customer.id])
        table.append(["name", ProfilesFormat.text(customer.name)])
        table.append(["email", ProfilesFormat.text(customer.email)])
        table.append(["phone", ProfilesFormat.text(customer.phone)])
        if customer.hasBirthDate { table.append(["birth date", ProfilesFormat.shownDate(customer.birthDate)]) }
        if customer.gender != .unspecified { table.append(["gender", ProfilesNames.gender(customer.gender)]) }
        table.append(["city", ProfilesFormat.text(customer.city)])
        if !customer.region.isEmpty { table.append(["region", ProfilesFormat.text(customer.region)]) }
        if !customer.country.isEmpty { table.append(["country", customer.country]) }
        if !customer.occupation.isEmpty { table.append(["occupation", ProfilesFormat.text(customer.occupation)]) }
        if !customer.education.isEmpty { table.append(["education", ProfilesFormat.text(customer.education)]) }
        if !customer.preferredChannels.isEmpty {
            table.append(["channels", customer.preferredChannels.map { ProfilesNames.channel($0) }.joined(separator: ", ")])
        }
        table.append(["consent", ProfilesView.consent(customer)])
        for key in customer.attributes.keys.sorted() {
            table.append(["attributes.\(key)", ProfilesFormat.short(customer.attributes[key] ?? "", 80)])
        }
        table.append(["persona", persona(profiles.persona)])
        table.append(["segments", segments(profiles.segments)])
        table.append(["value", value(profiles.value)])
        table.append(["customer since", ProfilesFormat.time(customer.hasCreatedAt ? customer.createdAt : nil)])
        table.append(["updated", ProfilesFormat.time(customer.hasUpdatedAt ? customer.updatedAt : nil)])
        return Section(fields: table)
    }

    /// "Saver (score 0.83)"; "none scores 0.50 (closest: Saver, 0.33)"; "- (no personas defined)".
    static func persona(_ answer: Result<Cx_Profiles_V1_MatchPersonaResponse, RPCError>) -> String {
        switch answer {
        case .failure(let error):
            return failed(error)
        case .success(let match):
            guard match.hasBest else { return "- (no personas defined)" }
            let best = "\(match.best.personaName) (score \(ProfilesFormat.score(match.best.score)))"
            return match.matched ? best : "- (none scores 0.50; closest: \(best))"
        }
    }

    /// "Savers, Tehran"; "- (in none)".
    static func segments(_ answer: Result<Cx_Profiles_V1_CustomerSegmentsResponse, RPCError>) -> String {
        switch answer {
        case .failure(let error): failed(error)
        case .success(let found): found.segments.isEmpty ? "- (in none)" : found.segments.map(\.name).joined(separator: ", ")
        }
    }

    /// "R4 F3 M5, rising"; "- (no purchase yet)".
    static func value(_ answer: Result<Cx_Profiles_V1_CustomerValueResponse, RPCError>) -> String {
        switch answer {
        case .failure(let error):
            return failed(error)
        case .success(let found):
            let rfm = ProfilesView.rfm(found.customer.hasRfm ? found.customer.rfm : nil)
            guard rfm != "-" else { return "- (no purchase yet)" }
            return "RFM \(rfm), \(ProfilesNames.trend(found.customer.trend))"
        }
    }

    // MARK: Loyalty

    static func loyalty(_ facts: CustomerFacts, _ customer: Cx_Profiles_V1_Customer?) -> Section {
        let account: Cx_Loyalty_V1_Account
        switch facts.loyalty.account {
        case .failure(let error):
            let tier = customer.map(\.traits.tier).flatMap { $0.isEmpty ? nil : "tier \($0)" }
            return Section(line: line(.loyalty, facts.loyalty.target, error, unknown: "not enrolled", heard: tier))
        case .success(let found):
            account = found
        }
        var table = Table("LOYALTY", "VALUE")
        let since = account.hasTierSince ? " (since \(ProfilesFormat.time(account.tierSince)))" : ""
        table.append(["tier", ProfilesFormat.text(account.tier) + since])
        table.append(["available points", LoyaltyFormat.points(account.spendablePoints)])
        table.append(["pending points", LoyaltyFormat.points(account.pendingPoints) + (account.pendingPoints > 0 ? " (in the returns period)" : "")])
        if account.hasProgress {
            let progress = account.progress
            table.append(["next tier", "\(progress.nextTier): \(LoyaltyFormat.points(progress.pointsNeeded)) qualifying points to go"])
        } else {
            table.append(["next tier", "- (the highest tier)"])
        }
        let purchases = account.purchaseCount == 1 ? "1 purchase" : "\(JourneyFormat.count(account.purchaseCount)) purchases"
        table.append(["lifetime spend", "\(ProfilesFormat.money(account.hasLifetimeSpend ? account.lifetimeSpend : nil)) (\(purchases))"])
        if account.expiringSoonPoints > 0 {
            let first = account.hasNextExpiryAt ? ", the first on \(ProfilesFormat.time(account.nextExpiryAt))" : ""
            table.append(["next expiry", "\(LoyaltyFormat.points(account.expiringSoonPoints)) points in the next 30 days\(first)"])
        } else {
            table.append(["next expiry", "none in the next 30 days"])
        }
        table.append(["enrolled", ProfilesFormat.time(account.hasEnrolledAt ? account.enrolledAt : nil)])
        return Section(fields: table)
    }

    // MARK: Journey

    static func journey(_ facts: CustomerFacts, _ customer: Cx_Profiles_V1_Customer?) -> Section {
        let journey: Cx_Journey_V1_GetJourneyResponse
        switch facts.journey.journey {
        case .failure(let error):
            let stage = customer.map(\.traits.journeyStage).flatMap { $0.isEmpty ? nil : "stage \($0)" }
            return Section(line: line(.journey, facts.journey.target, error, unknown: "no events for this customer", heard: stage))
        case .success(let found):
            journey = found
        }
        var table = Table("JOURNEY", "VALUE")
        let entered = JourneyFormat.time(journey.stageEnteredAt, if: journey.hasStageEnteredAt)
        table.append(["stage", "\(JourneyNames.stage(journey.stage)) (since \(entered), \(JourneyFormat.days(journey.daysInStage)))"])
        if let last = journey.recentEvents.first {
            let at = JourneyFormat.time(last.event.occurredAt, if: last.event.hasOccurredAt)
            let touchpoint = last.event.touchpointID.isEmpty ? "" : " at \(last.event.touchpointID)"
            table.append(["last event", "\(last.event.type)\(touchpoint), \(at)"])
        }
        table.append(["events", JourneyFormat.count(journey.eventCount)])
        table.append(["first seen", JourneyFormat.time(journey.firstSeenAt, if: journey.hasFirstSeenAt)])
        if journey.hasAdmittedAt {
            let plan = journey.planTemplateID.isEmpty ? "" : " (plan \(journey.planTemplateID))"
            table.append(["admitted", ProfilesFormat.time(journey.admittedAt) + plan])
        }
        if journey.timesLost > 0 { table.append(["times lost", "\(journey.timesLost) (won back \(journey.timesWonBack))"]) }
        let overdue = journey.openTasks.filter(\.overdue).count
        table.append(["open tasks", JourneyFormat.count(journey.openTasks.count) + (overdue > 0 ? " (\(overdue) overdue)" : "")])
        let tasks = journey.openTasks.isEmpty ? [] : [JourneyView.tasks(journey.openTasks).render()]
        return Section(fields: table, after: tasks)
    }

    // MARK: Feedback

    static func feedback(_ facts: CustomerFacts, _ customer: Cx_Profiles_V1_Customer?) -> Section {
        let complaints: [Cx_Feedback_V1_Complaint]
        switch facts.feedback.complaints {
        case .failure(let error):
            let scores = customer.map(\.traits).flatMap { traits in
                traits.hasLastNps || traits.surveysAnswered > 0
                    ? "last NPS \(lastNPS(traits)), \(FeedbackFormat.count(traits.surveysAnswered, "survey")) answered" : nil
            }
            return Section(line: line(.feedback, facts.feedback.target, error, unknown: "no complaints", heard: scores))
        case .success(let found):
            complaints = found
        }
        var table = Table("FEEDBACK", "VALUE")
        // Feedback has no per-customer read of responses: what it last
        // told profiles (traits) is the closest there is.
        switch facts.profiles.customer {
        case .success(let known):
            table.append(["last nps", "\(lastNPS(known.traits)) (profiles' traits)"])
            table.append(["surveys answered", "\(JourneyFormat.count(known.traits.surveysAnswered)) (profiles' traits)"])
        case .failure(let error) where error.code != .notFound:
            table.append(["last nps", "- (feedback keeps it in profiles' traits, and profiles did not answer)"])
        case .failure:
            guard !complaints.isEmpty else { return Section(line: "feedback: no complaints") }
        }
        let open = complaints.filter(\.isOpen)
        let overdue = open.filter(\.overdue).count
        table.append([
            "open complaints",
            "\(JourneyFormat.count(open.count)) of \(JourneyFormat.count(complaints.count))" + (overdue > 0 ? " (\(overdue) overdue)" : ""),
        ])
        return Section(fields: table, after: open.isEmpty ? [] : [Self.complaints(open).render()])
    }

    /// Open complaints, oldest first, without the customer column.
    static func complaints(_ complaints: [Cx_Feedback_V1_Complaint]) -> Table {
        var table = Table("COMPLAINT", "OPENED", "SEVERITY", "STATE", "CATEGORY", "OWNER", "RESOLUTION DUE")
        for complaint in complaints {
            table.append([
                complaint.id, JourneyFormat.time(complaint.openedAt, if: complaint.hasOpenedAt), FeedbackSeverityArgument.name(complaint.severity),
                FeedbackNames.state(complaint), ProfilesFormat.short(complaint.category, 30), ProfilesFormat.text(complaint.owner),
                JourneyFormat.time(complaint.resolutionDue, if: complaint.hasResolutionDue),
            ])
        }
        return table
    }

    /// "3, a detractor"; "-" when they never gave an NPS score.
    static func lastNPS(_ traits: Cx_Profiles_V1_Traits) -> String {
        guard traits.hasLastNps else { return "-" }
        let score = traits.lastNps
        let category = score <= 6 ? "detractor" : score <= 8 ? "passive" : "promoter"
        return "\(score), a \(category)"
    }
}

/// `cxctl customer --json`: one object, a key per service, each with its
/// status ("ok", "not_found", "unavailable" or "failed"), its address, and
/// the answers in protobuf's JSON mapping (times ISO 8601, Gregorian).
enum CustomerJSON {
    static func object(_ facts: CustomerFacts) -> [String: Any] {
        var profiles = part(facts.profiles.target, facts.profiles.customer.map { ["customer": json($0)] })
        if case .success = facts.profiles.customer {
            profiles["segments"] = answer(facts.profiles.segments)
            profiles["persona"] = answer(facts.profiles.persona)
            profiles["value"] = answer(facts.profiles.value)
        }
        return [
            "profiles": profiles,
            "loyalty": part(facts.loyalty.target, facts.loyalty.account.map { ["account": json($0)] }),
            "journey": part(facts.journey.target, facts.journey.journey.map { ["journey": json($0)] }),
            "feedback": part(
                facts.feedback.target,
                facts.feedback.complaints.map { complaints in
                    [
                        "complaints": complaints.map { json($0) },
                        "open_complaints": complaints.filter(\.isOpen).count,
                    ]
                }),
        ]
    }

    static func part(_ target: Target, _ result: Result<[String: Any], RPCError>) -> [String: Any] {
        switch result {
        case .success(var fields):
            fields["status"] = "ok"
            fields["address"] = target.address
            return fields
        case .failure(let error):
            return ["status": status(error), "address": target.address, "error": self.error(error)]
        }
    }

    /// A part of profiles' answer: the message, or {"error": ...}.
    static func answer(_ result: Result<some SwiftProtobuf.Message, RPCError>) -> Any {
        switch result {
        case .success(let message): json(message)
        case .failure(let error): ["error": self.error(error)]
        }
    }

    static func status(_ error: RPCError) -> String {
        switch error.code {
        case .notFound: "not_found"
        case .unavailable, .deadlineExceeded: "unavailable"
        default: "failed"
        }
    }

    static func error(_ error: RPCError) -> [String: Any] {
        ["code": error.code.name, "reason": error.reason, "message": error.message]
    }

    /// A message as a JSON value, proto field names, as `--output json` prints them elsewhere.
    static func json(_ message: some SwiftProtobuf.Message) -> Any {
        guard let line = try? messageJSONLine(message),
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8))
        else { return [String: Any]() }
        return object
    }
}
