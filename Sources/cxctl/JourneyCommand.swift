import ArgumentParser
import CXModel
import CXWire
import Foundation

/// `cxctl journey ...`: the admin's side of the journey service.
struct JourneyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "journey",
        abstract: "Work with the journey service: events, stages, touchpoints, rules, 100-day plans and tasks, the funnel.",
        discussion: """
            Every command talks to the journey service at $CX_JOURNEY_ADDR, else at \
            127.0.0.1:7103; --addr overrides that for one command.

            Every customer is in one of the eight stages of Joey Coleman's journey, in this \
            order: assessment, admission, affirmation, activation, acclimation, accomplishment, \
            acceptance, advocacy; or lost. The journey knows a customer from their first event \
            (a purchase, a call, a review: any type, such as first_purchase). The rules say \
            which event types move a customer to which stage: forward only, skipping stages \
            between; an event that maps to the current or an earlier stage is recorded and \
            moves no one. Only `move`, with a reason, moves a customer back. A customer quiet \
            for longer than the stage's quiet days becomes lost; their next event wins them \
            back. Events happen at a touchpoint of the catalogue (the website, the store, the \
            after-sales call, ...), which says where the journey goes well or badly.

            The first 100 days decide whether a customer stays: when a customer is first \
            admitted, a plan template (chosen by the admitting event's plan, product or segment \
            attribute, else "default") becomes tasks with due dates: call on day 1, send the \
            guide on day 3, check the first win on day 14. `tasks` lists what is due and \
            overdue; `tasks complete` and `tasks skip` close them.

            Stages and channels are typed in lowercase, as shown: activation, after-sales. \
            Days are UTC; --at, --from and --to take a day (2026-01-01) or a time \
            (2026-01-01T09:30:00Z).

            Output is a table for people. --json (or -o json) prints the method's response in \
            protobuf's JSON mapping with the field names of \
            proto-spec/cx/journey/v1/journey.proto, exactly as `cxctl call journey METHOD -o \
            json` would: stages are "STAGE_ACTIVATION", fields at their default value (0, \
            false, "") are left out and 64-bit numbers are strings. The files `rules set` and \
            `plans put` read are in the same mapping: start from `rules show --json` and \
            `plans show ID --json`.

            Writes that may be retried take --key: running the command again with the same \
            key applies it once and prints the first answer.

            Examples:
              cxctl journey event c-1042 first_purchase --touchpoint store
              cxctl journey import events.csv
              cxctl journey show c-1042
              cxctl journey move c-1042 activation --reason "onboarding call done by phone"
              cxctl journey touchpoints create --id insta --name "اینستاگرام" \\
                  --channel social
              cxctl journey tasks --owner success --due-within 2
              cxctl journey tasks complete c-1042/1 --note "called, all well"
              cxctl journey funnel --from 2026-01-01 --to 2026-02-01
              cxctl journey stalled --stage activation

            Exit status: 0 success; 1 a call failed (its status code, reason and message are \
            printed on standard error) or, for import, some events were not recorded; 64 the \
            command line or an input file is wrong (a bad stage or channel lists the valid ones).
            """,
        subcommands: [
            JourneyEventCommand.self,
            JourneyImportCommand.self,
            JourneyShowCommand.self,
            JourneyEventsCommand.self,
            JourneyMoveCommand.self,
            JourneyDetectLostCommand.self,
            JourneyTouchpointsCommand.self,
            JourneyRulesCommand.self,
            JourneyPlansCommand.self,
            JourneyTasksCommand.self,
            JourneyFunnelCommand.self,
            JourneyStalledCommand.self,
            JourneyTouchpointActivityCommand.self,
        ]
    )
}

/// What the journey commands check before they call, so a typing mistake is
/// a usage error (exit 64) that names the flag.
enum JourneyCheck {
    /// An event type: 1 to 64 of a-z, 0-9 and "_".
    static func eventType(_ type: String, name: String) throws {
        guard isEventType(type) else {
            throw ValidationError("\(name): \"\(type)\" is not an event type (1 to 64 of a-z, 0-9 and _, such as first_purchase)")
        }
    }

    static func isEventType(_ type: String) -> Bool {
        (1...64).contains(type.utf8.count)
            && type.utf8.allSatisfy { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || $0 == UInt8(ascii: "_") }
    }
}

extension Cx_Journey_V1_ListEventsRequest: PagedRequest {}
extension Cx_Journey_V1_ListTasksRequest: PagedRequest {}
extension Cx_Journey_V1_StalledRequest: PagedRequest {}

extension Cx_Journey_V1_ListEventsResponse: PagedList {
    static var items: WritableKeyPath<Self, [Cx_Journey_V1_RecordedEvent]> { \.events }
}

extension Cx_Journey_V1_ListTasksResponse: PagedList {
    static var items: WritableKeyPath<Self, [Cx_Journey_V1_Task]> { \.tasks }
}

extension Cx_Journey_V1_StalledResponse: PagedList {
    // The counts are the same on every page; the customers add up.
    static var items: WritableKeyPath<Self, [Cx_Journey_V1_StalledCustomer]> { \.customers }
}
