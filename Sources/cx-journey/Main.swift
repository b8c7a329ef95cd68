import ArgumentParser
import CXService

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
            Serves the built-in Health, Reflection and Echo methods; the journey methods arrive \
            with the journey service itself. Stops gracefully on SIGTERM or SIGINT: no new calls, \
            accepted calls finish, exit 0.
            """,
        version: CXVersion.current)

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        try await ServiceRunner.run(.journey, options: options)
    }
}
