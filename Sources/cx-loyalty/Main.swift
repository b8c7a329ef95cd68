import ArgumentParser
import CXLoyalty
import CXModel
import CXService
import CXWire
import Foundation
import ServiceLifecycle

@main
enum LoyaltyMain {
    static func main() async {
        ServiceRunner.runConcurrencyOnEventLoops()
        await LoyaltyCommand.main()
    }
}

struct LoyaltyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cx-loyalty",
        abstract: "The CX loyalty service.",
        discussion: """
            Serves the Loyalty methods of cx.loyalty.v1 (see proto-spec/cx/loyalty/v1/loyalty.proto) and the \
            built-in Health, Reflection and Echo, keeping its data in <data-dir>/loyalty.sqlite. Purchases, \
            tier changes, referrals and redemptions are told to profiles and journey through the outbox: a \
            peer that is down delays them, never loses them. Stops gracefully on SIGTERM or SIGINT: no new \
            calls, accepted calls finish, exit 0.
            """,
        version: CXVersion.current)

    @OptionGroup var options: ServiceOptions

    @Option(
        name: .customLong("profiles-addr"),
        help: ArgumentHelp(
            "Where the profiles service listens, host:port, or \"none\" not to send it traits.",
            discussion: "Default: $CX_PROFILES_ADDR, else 127.0.0.1:7101.", valueName: "host:port"))
    var profilesAddress: String?

    @Option(
        name: .customLong("journey-addr"),
        help: ArgumentHelp(
            "Where the journey service listens, host:port, or \"none\" not to send it events.",
            discussion: "Default: $CX_JOURNEY_ADDR, else 127.0.0.1:7103.", valueName: "host:port"))
    var journeyAddress: String?

    @Option(
        name: .customLong("batch-interval"),
        help: ArgumentHelp(
            "Seconds between runs of the tier evaluation and point expiry batches; 0 never runs them.",
            valueName: "seconds"))
    var batchInterval: Double = 3_600

    func validate() throws {
        guard batchInterval.isFinite, batchInterval == 0 || (1...604_800).contains(batchInterval) else {
            throw ValidationError("--batch-interval: \(batchInterval) must be 0, or 1 to 604800 seconds")
        }
    }

    func run() async throws {
        let peers = try PeerAddresses.clients([(.profiles, profilesAddress), (.journey, journeyAddress)], token: try options.peerToken())
        let interval = batchInterval
        try await ServiceRunner.run(.loyalty, options: options, sendsToPeers: !peers.isEmpty) { router, resolved, logger in
            let service = try await LoyaltyService.open(directory: resolved.dataDirectory, destinations: Set(peers.keys))
            service.register(into: &router)
            OutboxMethods.register(into: &router, store: service.store, server: "loyalty", destinations: Set(peers.keys.map(\.rawValue)))
            var companions: [any Service] = [
                OutboxRelay(store: service.store, peers: PeerAddresses.relayPeers(peers), logger: logger),
                StoreMaintenance(store: service.store, logger: logger),
            ]
            if interval > 0 {
                companions.append(LoyaltyClock(service: service, interval: .milliseconds(Int64(interval * 1_000)), logger: logger))
            }
            return companions
        }
    }
}
