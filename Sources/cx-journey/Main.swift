import ArgumentParser
import CXJourney
import CXModel
import CXService
import CXWire
import Foundation
import ServiceLifecycle

@main
enum JourneyMain {
    static func main() async {
        ServiceRunner.runConcurrencyOnEventLoops()
        await JourneyCommand.main()
    }
}

struct JourneyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cx-journey",
        abstract: "The CX journey service.",
        discussion: """
            Serves the Journey methods of cx.journey.v1 (see proto-spec/cx/journey/v1/journey.proto) and the \
            built-in Health, Reflection and Echo, keeping its data in <data-dir>/journey.sqlite. Events move \
            customers through the eight stages of the journey; loyalty's purchases arrive as events through \
            RecordLoyaltyEvent. Stage changes are told to profiles (the journey_stage trait) through the \
            outbox: a profiles service that is down delays them, never loses them. Every --lost-interval \
            seconds, customers quiet for longer than their stage allows are marked LOST. Stops gracefully on \
            SIGTERM or SIGINT: no new calls, accepted calls finish, exit 0.
            """,
        version: CXVersion.current)

    @OptionGroup var options: ServiceOptions

    @Option(
        name: .customLong("profiles-addr"),
        help: ArgumentHelp(
            "Where the profiles service listens, host:port, or \"none\" not to send it stage changes.",
            discussion: "Default: $CX_PROFILES_ADDR, else 127.0.0.1:7101.", valueName: "host:port"))
    var profilesAddress: String?

    @Option(
        name: .customLong("lost-interval"),
        help: ArgumentHelp("Seconds between runs of lost-customer detection; 0 never runs it.", valueName: "seconds"))
    var lostInterval: Double = 300

    func validate() throws {
        guard lostInterval.isFinite, lostInterval == 0 || (1...86_400).contains(lostInterval) else {
            throw ValidationError("--lost-interval: \(lostInterval) must be 0, or 1 to 86400 seconds")
        }
    }

    func run() async throws {
        let peers = try PeerAddresses.clients([(.profiles, profilesAddress)], token: try options.peerToken())
        let interval = lostInterval
        try await ServiceRunner.run(.journey, options: options, sendsToPeers: !peers.isEmpty) { router, resolved, logger in
            let service = try await JourneyService.open(directory: resolved.dataDirectory, destinations: Set(peers.keys))
            service.register(into: &router)
            OutboxMethods.register(into: &router, store: service.store, server: "journey", destinations: Set(peers.keys.map(\.rawValue)))
            var companions: [any Service] = [
                OutboxRelay(store: service.store, peers: PeerAddresses.relayPeers(peers), logger: logger),
                StoreMaintenance(store: service.store, logger: logger),
            ]
            if interval > 0 {
                companions.append(JourneyClock(service: service, interval: .milliseconds(Int64(interval * 1_000)), logger: logger))
            }
            return companions
        }
    }
}
