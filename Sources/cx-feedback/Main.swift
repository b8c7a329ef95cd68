import ArgumentParser
import CXFeedback
import CXModel
import CXService
import CXWire
import Foundation
import ServiceLifecycle

@main
enum FeedbackMain {
    static func main() async {
        ServiceRunner.runConcurrencyOnEventLoops()
        await FeedbackCommand.main()
    }
}

struct FeedbackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cx-feedback",
        abstract: "The CX feedback service.",
        discussion: """
            Serves the Feedback methods of cx.feedback.v1 (see proto-spec/cx/feedback/v1/feedback.proto) and \
            the built-in Health, Reflection and Echo, keeping its data in <data-dir>/feedback.sqlite. Every \
            response is told to loyalty (survey bonus), journey (a touchpoint event; promoters an advocacy \
            signal) and profiles (last NPS, surveys answered) through the outbox: a peer that is down delays \
            them, never loses them. Stops gracefully on SIGTERM or SIGINT: no new calls, accepted calls \
            finish, exit 0.
            """,
        version: CXVersion.current)

    @OptionGroup var options: ServiceOptions

    @Option(
        name: .customLong("loyalty-addr"),
        help: ArgumentHelp(
            "Where the loyalty service listens, host:port, or \"none\" not to send it bonuses.",
            discussion: "Default: $CX_LOYALTY_ADDR, else 127.0.0.1:7102.", valueName: "host:port"))
    var loyaltyAddress: String?

    @Option(
        name: .customLong("journey-addr"),
        help: ArgumentHelp(
            "Where the journey service listens, host:port, or \"none\" not to send it events.",
            discussion: "Default: $CX_JOURNEY_ADDR, else 127.0.0.1:7103.", valueName: "host:port"))
    var journeyAddress: String?

    @Option(
        name: .customLong("profiles-addr"),
        help: ArgumentHelp(
            "Where the profiles service listens, host:port, or \"none\" not to send it traits.",
            discussion: "Default: $CX_PROFILES_ADDR, else 127.0.0.1:7101.", valueName: "host:port"))
    var profilesAddress: String?

    func run() async throws {
        let peers = try PeerAddresses.clients([(.loyalty, loyaltyAddress), (.journey, journeyAddress), (.profiles, profilesAddress)], token: try options.peerToken())
        try await ServiceRunner.run(.feedback, options: options, sendsToPeers: !peers.isEmpty) { router, resolved, logger in
            let service = try await FeedbackService.open(directory: resolved.dataDirectory, destinations: Set(peers.keys))
            service.register(into: &router)
            OutboxMethods.register(into: &router, store: service.store, server: "feedback", destinations: Set(peers.keys.map(\.rawValue)))
            return [
                OutboxRelay(store: service.store, peers: PeerAddresses.relayPeers(peers), logger: logger),
                StoreMaintenance(store: service.store, logger: logger),
            ]
        }
    }
}
