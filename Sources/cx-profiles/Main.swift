import ArgumentParser
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
            keeping its data in <data-dir>/profiles.sqlite. Stops gracefully on SIGTERM or SIGINT: \
            no new calls, accepted calls finish, exit 0.
            """,
        version: CXVersion.current)

    @OptionGroup var options: ServiceOptions

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
        try await ServiceRunner.run(.profiles, options: options) { router, resolved, logger in
            let service = try await ProfilesService.open(directory: resolved.dataDirectory, cacheCapacity: cacheCapacity)
            service.register(into: &router)
            OutboxMethods.register(into: &router, store: service.store, server: "profiles", destinations: [])
            return [
                SegmentClock(service: service, logger: logger),
                StoreMaintenance(store: service.store, logger: logger),
            ]
        }
    }
}
