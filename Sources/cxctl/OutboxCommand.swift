import ArgumentParser
import CXModel
import CXWire
import Foundation

struct OutboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbox",
        abstract: "What each service still has to tell its peers, and putting refused events back in line.",
        discussion: """
            Loyalty, journey and feedback tell their peers what happened through an outbox: an event \
            waits there until its peer acknowledges it, so a peer that is down only delays it. A peer \
            that refuses an event for good (a survey bonus for a customer not enrolled in loyalty, say) \
            gets it set aside as refused after a few attempts; it is kept, and `cxctl outbox retry` \
            puts it back in line once the cause is fixed.

            Examples:
              cxctl outbox                     every service: pending, oldest, refused
              cxctl outbox feedback --refused  with the refused events listed
              cxctl outbox retry feedback --destination loyalty
            """,
        subcommands: [OutboxStatusCommand.self, OutboxRetryCommand.self],
        defaultSubcommand: OutboxStatusCommand.self)
}

struct OutboxStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Pending and refused events per service and destination, with the oldest's age.",
        discussion: "Exits 1 when a service cannot be asked.")

    @Argument(help: "profiles, loyalty, journey, feedback, host:port, or all.")
    var service: String = "all"

    @Flag(name: .long, help: "List the refused events too (newest first).")
    var refused = false

    @Option(name: .long, help: "Refused events listed per destination, 1 to 100.")
    var limit: UInt32 = 10

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard (1...100).contains(limit) else { throw ValidationError("--limit: \(limit) must be 1 to 100") }
        if connection.addr != nil && service == "all" {
            throw ValidationError("--addr names one service's address; it cannot go with \"all\"")
        }
    }

    func run() async throws {
        let names = service == "all" ? CXServiceName.allCases.map(\.rawValue) : [service]
        let targets = try names.map { try connection.target($0) }
        let options = connection.callOptions
        let connectionOptions = connection
        let request = Cx_Wire_V1_OutboxStatusRequest.with { $0.refusedLimit = limit }
        let answers = await withTaskGroup(of: (Int, Result<Cx_Wire_V1_OutboxStatusResponse, RPCError>).self) { group in
            for (index, target) in targets.enumerated() {
                group.addTask {
                    do {
                        let client = try connectionOptions.client(for: target)
                        defer { Task { await client.close() } }
                        return (index, .success(try await client.call(Cx_Wire_V1_Outbox.status, request, options: options)))
                    } catch {
                        return (index, .failure(error as? RPCError ?? RPCError(code: .unknown, message: "\(error)")))
                    }
                }
            }
            var answers: [(Int, Result<Cx_Wire_V1_OutboxStatusResponse, RPCError>)] = []
            for await answer in group { answers.append(answer) }
            return answers.sorted { $0.0 < $1.0 }.map(\.1)
        }

        let now = Date()
        if output.format == .json {
            printJSON(zip(targets, answers).map { target, answer -> [String: Any] in
                switch answer {
                case .success(let status):
                    return [
                        "service": target.name, "address": target.address,
                        "destinations": status.destinations.map { Self.json($0) },
                    ]
                case .failure(let error):
                    return ["service": target.name, "address": target.address, "error": "\(error.code.name): \(error.message)"]
                }
            })
        } else {
            var table = Table("SERVICE", "DESTINATION", "PENDING", "OLDEST", "REFUSED", "LAST ERROR")
            var refusedTable = Table("SERVICE", "DESTINATION", "EVENT", "KEY", "METHOD", "REFUSED AT", "TRIES", "ERROR")
            for (target, answer) in zip(targets, answers) {
                switch answer {
                case .failure(let error):
                    table.append([target.name, "-", "-", "-", "-", "\(error.code.name): \(error.message)"])
                case .success(let status) where status.destinations.isEmpty:
                    table.append([target.name, "-", "0", "-", "0", "nothing waiting"])
                case .success(let status):
                    for destination in status.destinations {
                        let age = destination.hasOldestPendingAt
                            ? HealthCommand.Row.describe(max(0, now.timeIntervalSince(destination.oldestPendingAt.date))) + " ago" : "-"
                        table.append([
                            target.name, destination.destination, "\(destination.pending)", age, "\(destination.refused)",
                            ProfilesFormat.short(destination.lastError, 60),
                        ])
                        for event in destination.refusedEvents {
                            refusedTable.append([
                                target.name, destination.destination, event.eventID, event.orderingKey,
                                String(event.method.split(separator: "/").last ?? ""), ProfilesFormat.time(event.refusedAt),
                                "\(event.attempts)", ProfilesFormat.short(event.error, 60),
                            ])
                        }
                    }
                }
            }
            print(table.render())
            if refused {
                print()
                print(refusedTable.rows.isEmpty ? "no refused events" : refusedTable.render())
            } else if answers.contains(where: { (try? $0.get())?.destinations.contains { $0.refused > 0 } ?? false }) {
                print("\nrefused events are kept: list them with --refused, put them back with `cxctl outbox retry SERVICE`")
            }
        }
        if answers.contains(where: { if case .failure = $0 { true } else { false } }) { throw ExitCode(1) }
    }

    static func json(_ destination: Cx_Wire_V1_OutboxDestination) -> [String: Any] {
        var object: [String: Any] = [
            "destination": destination.destination, "pending": destination.pending, "refused": destination.refused,
        ]
        if destination.hasOldestPendingAt { object["oldest_pending_at"] = ISO8601DateFormatter().string(from: destination.oldestPendingAt.date) }
        if !destination.lastError.isEmpty { object["last_error"] = destination.lastError }
        if !destination.refusedEvents.isEmpty {
            object["refused_events"] = destination.refusedEvents.map { event -> [String: Any] in
                [
                    "event_id": event.eventID, "method": event.method, "ordering_key": event.orderingKey,
                    "created_at": ISO8601DateFormatter().string(from: event.createdAt.date),
                    "refused_at": ISO8601DateFormatter().string(from: event.refusedAt.date),
                    "attempts": event.attempts, "error": event.error,
                ]
            }
        }
        return object
    }
}

struct OutboxRetryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retry",
        abstract: "Put a service's refused events back in line for delivery (admin).",
        discussion: """
            Fix what the peer refused them for first (enrol the customer, add the touchpoint): \
            an event refused again is set aside again. Events keep their ids, so a peer that did \
            apply one ignores it.

            Examples:
              cxctl outbox retry feedback                         every refused event
              cxctl outbox retry feedback --destination loyalty
              cxctl outbox retry loyalty --event 'purchase:A-1001:journey'
            """)

    @Argument(help: "loyalty, journey, feedback (or profiles, or a host:port).")
    var service: String

    @Option(name: .long, help: "Only events for this peer.")
    var destination: String?

    @Option(name: .customLong("event"), help: "Only this event id (repeat for more).")
    var events: [String] = []

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let target = try connection.target(service)
        let client = try connection.client(for: target)
        let request = Cx_Wire_V1_OutboxRetryRequest.with {
            $0.destination = destination ?? ""
            $0.eventIds = events
        }
        let response: Cx_Wire_V1_OutboxRetryResponse
        do {
            response = try await client.call(Cx_Wire_V1_Outbox.retry, request, options: connection.callOptions)
        } catch {
            await client.close()
            try failCall(error, target: target, what: "outbox retry", output: output.format)
        }
        await client.close()
        if output.format == .json {
            printJSON(["service": target.name, "requeued": response.requeued])
        } else {
            print("\(target.name): \(response.requeued) refused event(s) put back in line")
        }
    }
}
