import ArgumentParser
import Foundation
import NIOCore
import NIOPosix

@main
enum Entry {
    static func main() async {
        lineBufferStandardOutput()
        // The CX service executables run Swift Concurrency on NIO's event
        // loops (see CXService.ServiceRunner); measure CXWire the same way,
        // unless CX_BENCH_EXECUTOR=default asks for Swift's own pool.
        if ProcessInfo.processInfo.environment["CX_BENCH_EXECUTOR"] != "default" {
            NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
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
