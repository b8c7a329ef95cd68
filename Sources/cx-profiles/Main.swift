import ArgumentParser
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
            Serves the built-in Health, Reflection and Echo methods; the profiles methods arrive \
            with the profiles service itself. Stops gracefully on SIGTERM or SIGINT: no new calls, \
            accepted calls finish, exit 0.
            """,
        version: CXVersion.current)

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        try await ServiceRunner.run(.profiles, options: options)
    }
}
