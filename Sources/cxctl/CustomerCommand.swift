import ArgumentParser
import CXModel
import CXWire
import Foundation
import SwiftProtobuf

/// `cxctl customer ID`: everything the four services know about one
/// customer, asked of all four at once.
struct CustomerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "customer",
        abstract: "Everything CX knows about one customer: profile, loyalty, journey and feedback on one screen.",
        discussion: """
            Asks the four services at once, each for at most --timeout seconds. A service that \
            is down, or that does not know the customer, gets one line saying so \
            ("loyalty: not enrolled", "journey (127.0.0.1:7103): unavailable") and the rest \
            still shows.

            The profile section shows the customer's fields, the persona they fit best \
            (MatchPersona), the segments they are in now (CustomerSegments) and their RFM \
            value. Feedback keeps no per-customer read of responses, so the last NPS and the \
            number of surveys answered come from the traits feedback sends to profiles; \
            complaints are feedback's own (ListComplaints for the customer).

            Services are found at $CX_PROFILES_ADDR, $CX_LOYALTY_ADDR, $CX_JOURNEY_ADDR and \
            $CX_FEEDBACK_ADDR, else where the config file says, else at 127.0.0.1:7101 to 7104, \
            as for every cxctl command.

            Examples:
              cxctl customer c-1042
              cxctl customer c-1042 --calendar persian
              cxctl customer c-1042 --json | jq .loyalty.account.spendable_points

            Exit status: 0 when profiles knows the customer (whatever the other services \
            said); 1 when it does not, or could not be asked.
            """)

    @Argument(help: "The customer's id (the profiles service's).")
    var id: String

    @Option(help: "Seconds to wait for each service's answers. Default 3.")
    var timeout: Double = 3

    @Option(help: ArgumentHelp(
        "Bearer token sent as `authorization` metadata.",
        discussion: "Default: $CX_TOKEN, else `token` in the config file ($CX_CONFIG, else ~/.config/cx/cxctl.conf).",
        valueName: "token"))
    var token: String?

    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard !id.isEmpty else { throw ValidationError("ID: must not be empty") }
        guard timeout > 0, timeout <= 3_600 else {
            throw ValidationError("--timeout: \(timeout) must be more than 0 and at most 3600 seconds")
        }
    }

    func run() async throws {
        // The connection every cxctl command makes (addresses and token from
        // the environment or the config file), with this command's timeout
        // and token; --addr names one service, so this command has none.
        let connection = try ConnectionOptions.parse(["--timeout", String(timeout)] + (token.map { ["--token=\($0)"] } ?? []))
        var sources: [CXServiceName: CustomerSource] = [:]
        for service in CXServiceName.allCases {
            let target = try connection.target(service.rawValue)
            sources[service] = CustomerSource(target: target, client: try connection.client(for: target), options: connection.callOptions)
        }
        let facts = await CustomerFacts.gather(
            id, profiles: sources[.profiles]!, loyalty: sources[.loyalty]!, journey: sources[.journey]!, feedback: sources[.feedback]!)
        for source in sources.values { await source.client.close() }

        if output.format == .json {
            printJSON(CustomerJSON.object(facts))
        } else {
            print(CustomerView.render(facts))
        }
        guard case .success = facts.profiles.customer else {
            writeStderr("cxctl: customer \(id): \(CustomerView.profilesLine(facts))\n")
            throw ExitCode(1)
        }
    }
}

/// One service as `customer` asks it.
struct CustomerSource: Sendable {
    let target: Target
    let client: RPCClient
    let options: CallOptions

    /// The answer of `method`, or the error it failed with.
    func call<Request, Response>(_ method: MethodDescriptor<Request, Response>, _ request: Request) async -> Result<Response, RPCError> {
        do {
            return .success(try await client.call(method, request, options: options))
        } catch {
            return .failure(error as? RPCError ?? RPCError(code: .unknown, message: "\(error)"))
        }
    }
}

/// What each service said about the customer, or why it said nothing.
struct CustomerFacts: Sendable {
    struct Profiles: Sendable {
        var target: Target
        var customer: Result<Cx_Profiles_V1_Customer, RPCError>
        var segments: Result<Cx_Profiles_V1_CustomerSegmentsResponse, RPCError>
        var persona: Result<Cx_Profiles_V1_MatchPersonaResponse, RPCError>
        var value: Result<Cx_Profiles_V1_CustomerValueResponse, RPCError>
    }

    var id: String
    var profiles: Profiles
    var loyalty: (target: Target, account: Result<Cx_Loyalty_V1_Account, RPCError>)
    var journey: (target: Target, journey: Result<Cx_Journey_V1_GetJourneyResponse, RPCError>)
    /// All of the customer's complaints, oldest first.
    var feedback: (target: Target, complaints: Result<[Cx_Feedback_V1_Complaint], RPCError>)

    /// Asks the four services, and profiles its four questions, all at once.
    static func gather(
        _ id: String, profiles: CustomerSource, loyalty: CustomerSource, journey: CustomerSource, feedback: CustomerSource
    ) async -> CustomerFacts {
        async let customer = profiles.call(Cx_Profiles_V1_Customers.getCustomer, .with { $0.customerID = id })
        async let segments = profiles.call(Cx_Profiles_V1_Segments.customerSegments, .with { $0.customerID = id })
        async let persona = profiles.call(Cx_Profiles_V1_Personas.matchPersona, .with { $0.customerID = id })
        async let value = profiles.call(Cx_Profiles_V1_Value.customerValue, .with { $0.customerID = id })
        async let account = loyalty.call(Cx_Loyalty_V1_Loyalty.getAccount, .with { $0.customerID = id })
        async let path = journey.call(Cx_Journey_V1_Journey.getJourney, .with {
            $0.customerID = id
            $0.recentEvents = 1
        })
        async let complaints = Self.complaints(id, feedback)
        return await CustomerFacts(
            id: id,
            profiles: Profiles(
                target: profiles.target, customer: customer.map(\.customer), segments: segments, persona: persona, value: value),
            loyalty: (loyalty.target, account.map(\.account)),
            journey: (journey.target, path),
            feedback: (feedback.target, complaints))
    }

    /// Every complaint of the customer, page after page.
    static func complaints(_ id: String, _ feedback: CustomerSource) async -> Result<[Cx_Feedback_V1_Complaint], RPCError> {
        var request = Cx_Feedback_V1_ListComplaintsRequest()
        request.customerID = id
        request.pageSize = 1000
        var all: [Cx_Feedback_V1_Complaint] = []
        while true {
            switch await feedback.call(Cx_Feedback_V1_Feedback.listComplaints, request) {
            case .failure(let error):
                return .failure(error)
            case .success(let page):
                all += page.complaints
                guard !page.nextPageToken.isEmpty else { return .success(all) }
                request.pageToken = page.nextPageToken
            }
        }
    }
}

extension Cx_Feedback_V1_Complaint {
    /// Not yet resolved or closed.
    var isOpen: Bool { state != .resolved && state != .closed }
}
