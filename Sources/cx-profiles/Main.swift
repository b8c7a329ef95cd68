import ArgumentParser
import CXModel
import CXProfiles
import CXService

@main
enum ProfilesMain {
    static func main() async {
        ServiceRunner.runConcurrencyOnEventLoops()
        await ProfilesCommand.main()
    }
}

struct ProfilesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cx-profiles",
        abstract: "The CX profiles service.",
        discussion: """
            Serves the Customers, Segments, Personas and Value methods of cx.profiles.v1 (see \
            proto-spec/cx/profiles/v1/profiles.proto) and the built-in Health, Reflection and Echo, \
            keeping its data in <data-dir>/profiles.sqlite. A customer erased by DeleteCustomer is \
            passed on to loyalty, journey and feedback through the outbox, to erase their records \
            too. Stops gracefully on SIGTERM or SIGINT: no new calls, accepted calls finish, exit 0.
            """,
        version: CXVersion.current)

    @OptionGroup var options: ServiceOptions

    @Option(
        name: .customLong("loyalty-addr"),
        help: ArgumentHelp(
            "Where the loyalty service listens, host:port, or \"none\" not to tell it of erasures.",
            discussion: "Default: $CX_LOYALTY_ADDR, else 127.0.0.1:7102.", valueName: "host:port"))
    var loyaltyAddress: String?

    @Option(
        name: .customLong("journey-addr"),
        help: ArgumentHelp(
            "Where the journey service listens, host:port, or \"none\" not to tell it of erasures.",
            discussion: "Default: $CX_JOURNEY_ADDR, else 127.0.0.1:7103.", valueName: "host:port"))
    var journeyAddress: String?

    @Option(
        name: .customLong("feedback-addr"),
        help: ArgumentHelp(
            "Where the feedback service listens, host:port, or \"none\" not to tell it of erasures.",
            discussion: "Default: $CX_FEEDBACK_ADDR, else 127.0.0.1:7104.", valueName: "host:port"))
    var feedbackAddress: String?

    @Option(
        name: .customLong("customer-cache"),
        help: ArgumentHelp(
            "Customers GetCustomer keeps in memory (about 1 KiB each); 0 turns the cache off.",
            valueName: "count"))
    var customerCache = ProfilesService.defaultCacheCapacity

    func validate() throws {
        guard (0...50_000_000).contains(customerCache) else {
            throw ValidationError("--customer-cache: \(customerCache) must be 0 to 50000000")
        }
    }

    func run() async throws {
        let cacheCapacity = customerCache
        let peers = try PeerAddresses.clients(
            [(.loyalty, loyaltyAddress), (.journey, journeyAddress), (.feedback, feedbackAddress)], token: try options.peerToken())
        try await ServiceRunner.run(.profiles, options: options, sendsToPeers: !peers.isEmpty) { router, resolved, logger in
            let service = try await ProfilesService.open(
                directory: resolved.dataDirectory, cacheCapacity: cacheCapacity, destinations: Set(peers.keys))
            service.register(into: &router)
            OutboxMethods.register(into: &router, store: service.store, server: "profiles", destinations: Set(peers.keys.map(\.rawValue)))
            return [
                SegmentClock(service: service, logger: logger),
                OutboxRelay(store: service.store, peers: PeerAddresses.relayPeers(peers), logger: logger),
                StoreMaintenance(store: service.store, logger: logger),
            ]
        }
    }
}
