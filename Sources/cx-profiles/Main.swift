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

    func run() async throws {
        try await ServiceRunner.run(.profiles, options: options) { router, resolved, logger in
            let service = try await ProfilesService.open(directory: resolved.dataDirectory)
            service.register(into: &router)
            return [
                SegmentClock(service: service, logger: logger),
                StoreMaintenance(store: service.store, logger: logger),
            ]
        }
    }
}
