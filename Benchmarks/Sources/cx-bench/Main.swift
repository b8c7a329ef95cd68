import ArgumentParser
import CXWire
import Foundation
import NIOCore
import NIOPosix

@main
enum Entry {
    static func main() async {
        lineBufferStandardOutput()
        // The CX service executables run Swift Concurrency on NIO's event
        // loops (see CXWire.EventLoopConcurrency); measure the same way,
        // unless CX_BENCH_EXECUTOR asks for Swift's own pool (`default`) or
        // NIO's own take-over (`nio`), which re-enqueues a task at each
        // nonisolated async function it enters or returns into.
        switch ProcessInfo.processInfo.environment["CX_BENCH_EXECUTOR"] {
        case "default": break
        case "nio": NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        default: EventLoopConcurrency.install()
        }
        await CXBench.main()
    }
}

struct CXBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cx-bench",
        abstract: "CX's benchmarks, each against a reference measured in the same run.",
        subcommands: [CompareBenchmark.self, WireBenchmark.self, StoreBenchmark.self, ProfilesBenchmark.self, LoyaltyBenchmark.self, JourneyBenchmark.self, FeedbackBenchmark.self, WakeBenchmark.self])
}
