import ArgumentParser
import CXModel
import CXWire
import Foundation
import SwiftProtobuf

/// `cxctl demo`: fills a running platform with a small business.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Fill a running platform with a small business: customers, purchases, journeys, surveys, complaints.",
        discussion: """
            Narenj Coffee (قهوه نارنج), a specialty-coffee roaster with cafés and an online shop, \
            selling in rials. The demo makes --customers customers (about 60% with Persian \
            names in Tehran, Isfahan, Shiraz, Mashhad, Tabriz...; the rest with English names, \
            some abroad) with contacts, consent and attributes; segments (silver advocates, \
            promoters, lapsing regulars, ...) and personas in profiles; three rewards, loyalty \
            accounts, purchases over the last ~120 days, refunds, referrals, review bonuses \
            and redemptions in loyalty; visits, deliveries, onboarding and reviews in journey \
            (purchases arrive from loyalty), where customers who only browsed months ago end \
            up lost; an NPS and a delivery CSAT survey with answers in Persian and English in \
            feedback, detractors' follow-up complaints, and a few complaints worked through \
            their states.

            Everything is made from --seed: the same seed makes the same business, and running \
            the command again (with the same seed, or more customers) sends only what is \
            missing; nothing is doubled. Times are placed before the moment the seed's first \
            customer was created, so a rerun places them where the first run did; nothing is \
            in the future. Customer ids are c-SEED-NNNNN.

            All four services must be serving: at $CX_PROFILES_ADDR, $CX_LOYALTY_ADDR, \
            $CX_JOURNEY_ADDR and $CX_FEEDBACK_ADDR (or the addresses of cxctl's config file), \
            else 127.0.0.1:7101 to 7104, with loyalty and feedback told where journey and \
            profiles are (deploy/run-local.sh does that). The demo checks their health first \
            and names any that is not. It writes as an admin: --token, $CX_TOKEN or the config \
            file's token.

            Examples:
              cxctl demo
              cxctl demo --customers 1000 --seed 7
              cxctl demo --customers 60 --json

            Exit status: 0 success; 1 a service is down or a call failed (what was done \
            stays, and running the command again goes on from there); 64 the command line is \
            wrong.
            """)

    @Option(help: ArgumentHelp("Customers to make, 1 to 50000.", valueName: "n"))
    var customers: Int = 300

    @Option(help: ArgumentHelp("Makes the business: the same seed, the same customers and events. 0 to 999999.", valueName: "n"))
    var seed: Int = 1

    @Option(help: ArgumentHelp("Calls in flight at once, 1 to 256.", valueName: "n"))
    var parallel: Int = 32

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard (1...50_000).contains(customers) else { throw ValidationError("--customers: \(customers) must be 1 to 50000") }
        guard (0...999_999).contains(seed) else { throw ValidationError("--seed: \(seed) must be 0 to 999999") }
        guard (1...256).contains(parallel) else { throw ValidationError("--parallel: \(parallel) must be 1 to 256") }
        if connection.addr != nil {
            throw ValidationError(
                "--addr names one service's address, but the demo talks to all four: set $CX_PROFILES_ADDR, $CX_LOYALTY_ADDR, "
                    + "$CX_JOURNEY_ADDR and $CX_FEEDBACK_ADDR (or cxctl's config file) instead")
        }
    }

    func run() async throws {
        let started = ContinuousClock.now
        let services: DemoServices
        do {
            services = try DemoServices(connection, connections: 2)
        } catch let failure as DemoFailure {
            writeStderr("cxctl demo: \(failure)\n")
            throw ExitCode(64)
        }
        let progress = DemoProgress(terminal: stderrIsTerminal)
        do {
            try await DemoRun.checkHealth(services)
            let tiers = try await DemoRun.programTiers(services)
            let run = DemoRun(
                services: services, seed: seed, count: customers, parallel: parallel, tiers: tiers, tally: DemoTally(),
                progress: progress, journeyLink: DemoJourneyLink())
            let (clock, erased) = try await run.fillProfiles()
            try await run.defineSegmentsAndPersonas()
            try await run.createTouchpoints()
            try await run.createRewards()
            try await run.createSurveys()
            let people = DemoPlan.customers(seed: seed, count: customers, limit: clock.limit).filter { !erased.contains($0.id) }
            try await run.live(people, clock: clock)
            try await run.detectLost()
            try await run.fillFeedback(people)
            let now = try await run.snapshot(clock: clock)
            await services.close()
            let seconds = DemoProgress.seconds(ContinuousClock.now - started)
            run.report(people: people, clock: clock, now: now, seconds: seconds, format: output.format)
        } catch let failure as DemoFailure {
            await services.close()
            progress.interrupt()
            let after =
                failure.beforeWriting
                ? "" : "What was done so far stays; running the same command again goes on from there without doubling anything.\n"
            writeStderr("cxctl demo: \(failure)\n\(after)")
            throw ExitCode(1)
        }
    }
}

/// One run of the demo: where the services are, what to make, and what was done.
struct DemoRun: Sendable {
    let services: DemoServices
    let seed: Int
    let count: Int
    let parallel: Int
    /// The loyalty program's tiers, lowest first.
    let tiers: [String]
    let tally: DemoTally
    let progress: DemoProgress
    let journeyLink: DemoJourneyLink

    /// Fails, naming each, unless all four services are serving.
    static func checkHealth(_ services: DemoServices) async throws {
        let problems = await withTaskGroup(of: (Int, String?).self) { group in
            for (index, service) in CXServiceName.allCases.enumerated() {
                group.addTask {
                    let link = services.link(service)
                    let options = CallOptions(timeout: .seconds(5), metadata: services.options.metadata)
                    do {
                        let health = try await link.client.call(Cx_Wire_V1_Health.check, .init(), options: options)
                        if health.status == .serving { return (index, nil) }
                        let detail = health.detail.isEmpty ? "" : ": \(health.detail)"
                        return (index, "\(service.rawValue) at \(link.target.address) is not serving\(detail)")
                    } catch {
                        let rpc = error as? RPCError ?? RPCError(code: .unknown, message: "\(error)")
                        let state = rpc.code == .unavailable ? "unreachable" : "not answering health checks"
                        return (index, "\(service.rawValue) at \(link.target.address) is \(state) (\(rpc.code.name): \(rpc.message))")
                    }
                }
            }
            var problems: [(Int, String)] = []
            for await (index, problem) in group { if let problem { problems.append((index, problem)) } }
            return problems.sorted { $0.0 < $1.0 }.map(\.1)
        }
        guard problems.isEmpty else {
            throw DemoFailure(
                description: "the demo needs all four services serving, and \(problems.count == 1 ? "one is" : "\(problems.count) are") not:\n"
                    + problems.map { "  \($0)" }.joined(separator: "\n")
                    + "\nStart them (deploy/run-local.sh), or point $CX_<SERVICE>_ADDR at where they run.",
                beforeWriting: true)
        }
    }

    /// The program's tiers; fails when it does not earn points on rials.
    static func programTiers(_ services: DemoServices) async throws -> [String] {
        let program: Cx_Loyalty_V1_Program
        do {
            program = try await services.call(.loyalty, Cx_Loyalty_V1_Loyalty.getProgram, .init(), "reading the loyalty program").program
        } catch var failure as DemoFailure {
            failure.beforeWriting = true
            throw failure
        }
        guard program.earnRates.contains(where: { $0.currency == currency }) else {
            throw DemoFailure(
                description: "the loyalty program in force (version \(program.version)) earns no points on \(currency), the demo "
                    + "shop's currency; add an earn rate for it (cxctl loyalty program show, then update)",
                beforeWriting: true)
        }
        return program.tiers.map(\.name)
    }

    func fillFeedback(_ customers: [DemoCustomer]) async throws {
        let answering = customers.filter { $0.survey != nil }
        let tally = self.tally
        progress.begin("feedback: responses", total: answering.count) {
            "\(tally[.followUps].added + tally[.followUps].existing) detractors followed up"
        }
        try await demoForEach(answering, parallel: parallel) { customer in
            try await answer(customer)
            progress.step()
        }
        progress.end()
        let complaining = customers.filter { $0.complaint != nil && $0.buyer }
        progress.begin("feedback: complaints", total: complaining.count)
        try await demoForEach(complaining, parallel: parallel) { customer in
            try await complain(customer)
            progress.step()
        }
        progress.end()
    }

    /// How the business looks now, in three lines.
    func snapshot(clock: DemoClock) async throws -> [String] {
        async let report = services.call(.loyalty, Cx_Loyalty_V1_Loyalty.getReport, .init(), "reading the loyalty report")
        async let funnel = services.call(
            .journey, Cx_Journey_V1_Journey.funnel,
            .with { $0.from = Google_Protobuf_Timestamp(seconds: clock.anchor - Int64(DemoPlan.days + 3) * 86_400, nanos: 0) },
            "reading the journey funnel")
        async let scores = services.call(.feedback, Cx_Feedback_V1_Feedback.getScores, .init(), "reading the feedback scores")
        let members = try await report.members
        let stages = try await funnel
        let total = try await scores.total
        tally.existing(.lost, max(0, stages.lostNow - tally[.lost].added))
        let tierLine = members.map { "\($0.tier) \(LoyaltyFormat.points($0.members))" }.joined(separator: ", ")
        let stageLine = stages.stages.filter { $0.customersNow > 0 }
            .map { "\(JourneyNames.stage($0.stage)) \(LoyaltyFormat.points($0.customersNow))" }.joined(separator: ", ")
        let lost = stages.lostNow > 0 ? ", lost \(LoyaltyFormat.points(stages.lostNow))" : ""
        var scoreLine = "NPS \(String(format: "%.1f", total.nps)) (\(LoyaltyFormat.points(total.npsAnswers)) answers)"
        if total.csatAnswers > 0 {
            scoreLine += ", CSAT \(String(format: "%.1f", total.csat))% (\(LoyaltyFormat.points(total.csatAnswers)))"
        }
        return ["tiers:   \(tierLine)", "stages:  \(stageLine)\(lost)", "scores:  \(scoreLine), last 30 days"]
    }

    /// A customer worth a look: several purchases and a review, or the most purchases.
    static func featured(_ customers: [DemoCustomer]) -> DemoCustomer? {
        customers.first { $0.purchases.count >= 3 && $0.review != nil && $0.survey != nil }
            ?? customers.max { $0.purchases.count < $1.purchases.count }
    }

    func report(people: [DemoCustomer], clock: DemoClock, now: [String], seconds: Double, format: OutputFormat) {
        let featured = Self.featured(people)?.id ?? DemoPlan.customerID(seed: seed, index: 0)
        let from = ISO8601DateFormatter.string(
            from: clock.date.addingTimeInterval(-Double(DemoPlan.days + 1) * 86_400), timeZone: TimeZone(identifier: "UTC")!,
            formatOptions: [.withFullDate])
        if format == .json {
            var services: [String: [String: [String: Int64]]] = [:]
            for item in DemoTally.Item.allCases {
                services[item.service.rawValue, default: [:]][item.key] = ["added": tally[item].added, "existing": tally[item].existing]
            }
            printJSON([
                "seed": seed, "customers": count, "anchor": ISO8601DateFormatter().string(from: clock.date),
                "seconds": (seconds * 10).rounded() / 10, "featured_customer": featured, "services": services,
            ] as [String: Any])
            return
        }
        var table = Table("SERVICE", "WHAT", "ADDED", "ALREADY THERE")
        for item in DemoTally.Item.allCases {
            let count = tally[item]
            // Points an earlier run earned are not counted again: only what this run added.
            let existing = item == .points ? "-" : LoyaltyFormat.points(count.existing)
            table.append([item.service.rawValue, item.rawValue, LoyaltyFormat.points(count.added), existing])
        }
        print(table.render())
        print("")
        print("Narenj Coffee, seed \(seed): \(LoyaltyFormat.points(Int64(count))) customers over the \(DemoPlan.days) days to "
            + "\(ProfilesFormat.time(clock.timestamp(clock.anchor - clock.midnight))), in \(String(format: "%.1f", seconds)) s")
        for line in now { print(line) }
        if journeyLink.isDown {
            print("(loyalty's purchases did not reach journey in time: check cx-loyalty's --journey-addr)")
        }
        print("")
        print("""
            next: cxctl profiles customers list
                  cxctl customer \(featured)
                  cxctl profiles segments list
                  cxctl loyalty report
                  cxctl journey funnel --from \(from)
                  cxctl feedback scores
                  cxctl feedback complaints list
            """)
    }
}
