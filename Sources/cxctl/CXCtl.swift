import ArgumentParser
import CXService

@main
struct CXCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cxctl",
        abstract: "Administer a CX platform: check health, see what a service serves, call any method.",
        discussion: """
            Services are found at $CX_PROFILES_ADDR, $CX_LOYALTY_ADDR, $CX_JOURNEY_ADDR and \
            $CX_FEEDBACK_ADDR, else in the config file, else at 127.0.0.1:7101 to 7104. --addr \
            overrides that for one command, and SERVICE may itself be a host:port. The bearer \
            token is --token, else $CX_TOKEN, else the config file's `token`. The config file is \
            $CX_CONFIG, else ~/.config/cx/cxctl.conf (lines `key = value`: token, profiles, \
            loyalty, journey, feedback); deploy/run-local.sh writes one for the platform it starts.

            Examples:
              cxctl health all
              cxctl demo                       fill a new platform with a small business
              cxctl customer c-1042            everything CX knows about one customer
              cxctl outbox                     what each service still has to tell its peers
              cxctl describe loyalty
              cxctl call profiles Echo --json '{"text": "سلام"}'
              echo '{}' | cxctl call profiles /cx.wire.v1.Health/Check --output json

            Exit status: 0 success; 1 a call failed or a service is not serving; 64 the \
            command line or its JSON is wrong.
            """,
        version: CXVersion.current,
        subcommands: [HealthCommand.self, DescribeCommand.self, CallCommand.self, ProfilesCommand.self, LoyaltyCommand.self, JourneyCommand.self, FeedbackCommand.self, CustomerCommand.self, DemoCommand.self, OutboxCommand.self]
    )
}
