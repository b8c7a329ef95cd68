import ArgumentParser
import CXService

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
            Serves the built-in Health, Reflection and Echo methods; the loyalty methods arrive \
            with the loyalty service itself. Stops gracefully on SIGTERM or SIGINT: no new calls, \
            accepted calls finish, exit 0.
            """,
        version: CXVersion.current)

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        try await ServiceRunner.run(.loyalty, options: options)
    }
}
