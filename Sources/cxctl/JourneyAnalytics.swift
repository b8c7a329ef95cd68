import ArgumentParser
import CXModel
import CXWire
import Foundation

/// `cxctl journey funnel`
struct JourneyFunnelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "funnel",
        abstract: "The journey as a funnel: per stage, customers now, entries, how many moved on, days spent, lost.",
        discussion: """
            NOW is the customers in the stage now. The rest is for the period [--from, --to), \
            whole UTC days (--to not included; default: the 30 days up to now): ENTERED counts \
            entries into the stage (a customer who entered twice counts twice), ADVANCED those \
            of them that have since moved on to a later stage, CONVERSION is ADVANCED / \
            ENTERED, MEDIAN DAYS is the median whole days of the stays that ended in the \
            period (of ENDED stays; "-" when none ended), and LOST the customers lost from the \
            stage.

            Examples:
              cxctl journey funnel
              cxctl journey funnel --from 2026-01-01 --to 2026-04-01 --json
            """)

    @OptionGroup var period: PeriodOptions
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        var request = Cx_Journey_V1_FunnelRequest()
        let (from, to) = try period.period()
        if let from { request.from = from }
        if let to { request.to = to }
        try await ServiceSession.show(.journey, Cx_Journey_V1_Journey.funnel, request, connection, output) { Self.text($0) }
    }

    static func text(_ funnel: Cx_Journey_V1_FunnelResponse) -> String {
        let period = "\(JourneyFormat.time(funnel.from, if: funnel.hasFrom)) to \(JourneyFormat.time(funnel.to, if: funnel.hasTo))"
        var stages = Table("STAGE", "NOW", "ENTERED", "ADVANCED", "CONVERSION", "MEDIAN DAYS", "ENDED", "LOST")
        for stage in funnel.stages {
            stages.append([
                JourneyNames.stage(stage.stage), JourneyFormat.count(stage.customersNow), JourneyFormat.count(stage.entered),
                JourneyFormat.count(stage.advanced), stage.entered > 0 ? ProfilesFormat.share(stage.conversion) : "-",
                stage.medianDays < 0 ? "-" : "\(stage.medianDays)", JourneyFormat.count(stage.staysEnded),
                JourneyFormat.count(stage.lost),
            ])
        }
        var totals = Table("MEASURE", "VALUE")
        totals.append(["customers", JourneyFormat.count(funnel.customers)])
        totals.append(["lost now", JourneyFormat.count(funnel.lostNow)])
        totals.append(["lost in the period", JourneyFormat.count(funnel.lost)])
        totals.append(["won back in the period", JourneyFormat.count(funnel.wonBack)])
        return ["period: \(period) (to not included)", stages.render(), totals.render()].joined(separator: "\n\n")
    }
}

/// `cxctl journey stalled`
struct JourneyStalledCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stalled",
        abstract: "Customers in a stage for longer than its norm days, longest first.",
        discussion: """
            A stage's norm days are in the rules (`cxctl journey rules`). The first table \
            counts the stalled customers per stage; the second lists them, a page at a time.

            Examples:
              cxctl journey stalled
              cxctl journey stalled --stage activation --all
            """)

    @Option(help: "Only this stage (default: every stage).")
    var stage: JourneyStageArgument?

    @OptionGroup var page: PageOptions
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if let stage { _ = try JourneyStageArgument.journeyStages([stage], flag: "--stage") }
    }

    func run() async throws {
        var request = Cx_Journey_V1_StalledRequest()
        request.stage = stage?.proto ?? .unspecified
        try await ServiceSession.showPages(.journey, Cx_Journey_V1_Journey.stalled, request, page, connection, output) { response in
            var counts = Table("STAGE", "NORM", "STALLED")
            for count in response.counts {
                counts.append([JourneyNames.stage(count.stage), JourneyFormat.days(count.normDays), JourneyFormat.count(count.stalled)])
            }
            guard !response.customers.isEmpty else { return counts.render() + "\n\n(no stalled customers)" }
            var customers = Table("CUSTOMER", "STAGE", "SINCE", "DAYS IN STAGE", "NORM")
            for customer in response.customers {
                customers.append([
                    customer.customerID, JourneyNames.stage(customer.stage),
                    JourneyFormat.time(customer.stageEnteredAt, if: customer.hasStageEnteredAt), JourneyFormat.count(customer.daysInStage),
                    JourneyFormat.count(customer.normDays),
                ])
            }
            return counts.render() + "\n\n" + customers.render()
        }
    }
}

/// `cxctl journey touchpoint-activity`
struct JourneyTouchpointActivityCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "touchpoint-activity",
        abstract: "Events per touchpoint over a period, most first, with the stages the customers were in.",
        discussion: """
            BY STAGE counts the events by the customer's stage after each. Events with no \
            touchpoint are under "-". The period is as for `funnel`: [--from, --to), whole UTC \
            days, default the 30 days up to now.

            Examples:
              cxctl journey touchpoint-activity
              cxctl journey touchpoint-activity --from 2026-01-01 --to 2026-02-01 --json
            """)

    @OptionGroup var period: PeriodOptions
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        var request = Cx_Journey_V1_TouchpointActivityRequest()
        let (from, to) = try period.period()
        if let from { request.from = from }
        if let to { request.to = to }
        try await ServiceSession.show(.journey, Cx_Journey_V1_Journey.touchpointActivity, request, connection, output) { response in
            let period = "\(JourneyFormat.time(response.from, if: response.hasFrom)) to \(JourneyFormat.time(response.to, if: response.hasTo))"
            guard !response.touchpoints.isEmpty else { return "period: \(period) (to not included)\n\n(no events)" }
            var table = Table("TOUCHPOINT", "EVENTS", "BY STAGE")
            for entry in response.touchpoints {
                let stages = entry.byStage.map { "\(JourneyNames.stage($0.stage)) \(JourneyFormat.count($0.events))" }
                table.append([ProfilesFormat.text(entry.touchpointID), JourneyFormat.count(entry.events), stages.joined(separator: ", ")])
            }
            return "period: \(period) (to not included)\n\n" + table.render()
        }
    }
}
