import ArgumentParser
import CXModel
import CXWire
import Foundation

/// `cxctl journey event CUSTOMER TYPE`
struct JourneyEventCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "event",
        abstract: "Record one event of a customer and show where it moved them.",
        discussion: """
            TYPE is any event type (1 to 64 of a-z, 0-9 and _); the rules say which types move \
            a customer to which stage (`cxctl journey rules`). The answer shows the stage \
            before and after, whether the event brought a lost customer back, and how many \
            tasks of the 100-day plan it created (when it admitted the customer). The \
            attributes plan, product and segment choose that plan.

            --at is when it happened (default: now); an event in the past is placed in time \
            order among the customer's events. A time too far ahead of the service's clock is \
            INVALID_ARGUMENT (EVENT_IN_FUTURE).

            Examples:
              cxctl journey event c-1042 website_visit --touchpoint website
              cxctl journey event c-1042 first_purchase --touchpoint store \\
                  --attr product=laptop --key order-A-1001
              cxctl journey event c-1042 support_call --at 2026-03-01T10:15:00Z \\
                  --attr "topic=نصب"
            """)

    @Argument(help: "The customer's id (the profiles service's).")
    var customer: String

    @Argument(help: ArgumentHelp("The event type, such as first_purchase.", valueName: "type"))
    var type: String

    @Option(help: ArgumentHelp("Where it happened: a touchpoint id (`cxctl journey touchpoints`).", valueName: "id"))
    var touchpoint: String?

    @Option(help: ArgumentHelp("When it happened (default: now).", valueName: "time"))
    var at: String?

    @Option(name: .customLong("attr"), help: ArgumentHelp("An attribute, key=value; repeat for more (at most 32).", valueName: "key=value"))
    var attributes: [String] = []

    @OptionGroup var key: KeyOption
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        _ = try makeEvent()
    }

    func makeEvent() throws -> Cx_Journey_V1_Event {
        try JourneyCheck.eventType(type, name: "TYPE")
        var event = Cx_Journey_V1_Event()
        event.customerID = customer
        event.type = type
        event.touchpointID = touchpoint ?? ""
        if let at { event.occurredAt = try TimeFlag.parse(at, flag: "--at") }
        guard attributes.count <= 32 else {
            throw ValidationError("--attr: \(attributes.count) attributes; at most 32")
        }
        for pair in attributes {
            let (name, value) = try FlagCheck.pair(pair, flag: "--attr", example: "product=laptop")
            try FlagCheck.length(name, 1...64, flag: "--attr \(name)")
            try FlagCheck.length(value, 0...1024, flag: "--attr \(name)")
            guard event.attributes.updateValue(value, forKey: name) == nil else {
                throw ValidationError("--attr: \(name) is given twice")
            }
        }
        event.idempotencyKey = key.value
        return event
    }

    func run() async throws {
        var request = Cx_Journey_V1_RecordEventRequest()
        request.event = try makeEvent()
        try await ServiceSession.show(.journey, Cx_Journey_V1_Journey.recordEvent, request, connection, output) { response in
            var table = Table("EVENT", "VALUE")
            table.append(["customer", customer])
            table.append(["type", type])
            table.append(["stage", JourneyNames.move(response.stageBefore, response.stage) + (response.moved ? " (moved)" : " (not moved)")])
            table.append(["won back", response.wonBack ? "yes (was lost)" : "no"])
            table.append(["tasks created", response.tasksCreated > 0 ? "\(response.tasksCreated) (admitted: the 100-day plan starts)" : "0"])
            return table.render()
        }
    }
}

/// `cxctl journey show CUSTOMER`
struct JourneyShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Where a customer is: stage and days in it, stage history, recent events, open tasks.",
        discussion: """
            The history lists every stage change, oldest first, with its cause: an event (and \
            its type), quiet (lost after the stage's quiet days), win-back, or by hand (and \
            the reason given). Recent events are newest first; `cxctl journey events` pages \
            through all of them. Open tasks are soonest due first.

            Examples:
              cxctl journey show c-1042
              cxctl journey show c-1042 --recent 100 --json
            """)

    @Argument(help: "The customer's id.")
    var customer: String

    @Option(help: ArgumentHelp("Recent events to show, 1 to 100 (default 20).", valueName: "n"))
    var recent: Int?

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if let recent, !(1...100).contains(recent) {
            throw ValidationError("--recent: \(recent) must be 1 to 100")
        }
    }

    func run() async throws {
        var request = Cx_Journey_V1_GetJourneyRequest()
        request.customerID = customer
        request.recentEvents = Int32(recent ?? 0)
        try await ServiceSession.show(.journey, Cx_Journey_V1_Journey.getJourney, request, connection, output) {
            JourneyView.journey($0)
        }
    }
}

/// `cxctl journey events CUSTOMER`
struct JourneyEventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "List a customer's events, newest first, a page at a time.",
        discussion: """
            STAGE is the customer's stage before and after the event ("admission → \
            affirmation"), or the one stage when it moved nothing.

            Examples:
              cxctl journey events c-1042
              cxctl journey events c-1042 --all --json
            """)

    @Argument(help: "The customer's id.")
    var customer: String

    @OptionGroup var page: PageOptions
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        var request = Cx_Journey_V1_ListEventsRequest()
        request.customerID = customer
        try await ServiceSession.showPages(.journey, Cx_Journey_V1_Journey.listEvents, request, page, connection, output) {
            $0.events.isEmpty ? "(no events)" : JourneyView.events($0.events).render()
        }
    }
}

/// `cxctl journey move CUSTOMER STAGE --reason R`
struct JourneyMoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "move",
        abstract: "Move a customer to a stage by hand, forward or back, with a reason.",
        discussion: """
            The only way back: events move customers forward only. The move is kept in the \
            stage history as "by hand" with the reason. STAGE is one of assessment, admission, \
            affirmation, activation, acclimation, accomplishment, acceptance, advocacy, lost.

            Examples:
              cxctl journey move c-1042 affirmation --reason "returned the first order"
              cxctl journey move c-1042 lost --reason "closed the account" --key close-1
            """)

    @Argument(help: "The customer's id.")
    var customer: String

    @Argument(help: "The stage to move to.")
    var stage: JourneyStageArgument

    @Option(help: ArgumentHelp("Why, 1 to 500 characters: kept in the history.", valueName: "text"))
    var reason: String

    @OptionGroup var key: KeyOption
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        try FlagCheck.length(reason, 1...500, flag: "--reason")
    }

    func run() async throws {
        var request = Cx_Journey_V1_MoveStageRequest()
        request.customerID = customer
        request.stage = stage.proto
        request.reason = reason
        request.idempotencyKey = key.value
        try await ServiceSession.show(.journey, Cx_Journey_V1_Journey.moveStage, request, connection, output) {
            $0.stageBefore == $0.stage
                ? "\(customer) is already in \(JourneyNames.stage($0.stage))"
                : "\(customer): \(JourneyNames.move($0.stageBefore, $0.stage)) (by hand)"
        }
    }
}

/// `cxctl journey detect-lost`
struct JourneyDetectLostCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detect-lost",
        abstract: "Mark lost every customer quiet for longer than their stage's quiet days, now.",
        discussion: """
            The service does this on its own every few minutes; this runs it at once (after \
            changing the rules' quiet days, say). A lost customer's next event wins them back.

            Examples:
              cxctl journey detect-lost
            """)

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let request = Cx_Journey_V1_DetectLostRequest()
        try await ServiceSession.show(.journey, Cx_Journey_V1_Journey.detectLost, request, connection, output) {
            $0.markedLost == 1 ? "marked 1 customer lost" : "marked \(JourneyFormat.count($0.markedLost)) customers lost"
        }
    }
}
