import ArgumentParser
import CXService

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
            Serves the built-in Health, Reflection and Echo methods; the feedback methods arrive \
            with the feedback service itself. Stops gracefully on SIGTERM or SIGINT: no new calls, \
            accepted calls finish, exit 0.
            """,
        version: CXVersion.current)

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        try await ServiceRunner.run(.feedback, options: options)
    }
}
