import ArgumentParser
import NIOPosix

/// Where the echo benchmarks' servers and clients run: by default all on
/// NIO's shared group (one loop per core), so a client connection and the
/// server's end of it land on the same loop or on different ones as the
/// round-robin of `next()` falls; with `wire --loops split`, the servers
/// on one loop and the clients on another, as a client process and a
/// server process of one thread each would be.
enum BenchLoops {
    enum Placement: String, CaseIterable {
        case shared, split
    }

    /// Set once, before any run starts.
    nonisolated(unsafe) static var placement = Placement.shared

    private static let serverGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private static let clientGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    static var server: MultiThreadedEventLoopGroup { placement == .split ? serverGroup : .singleton }
    static var client: MultiThreadedEventLoopGroup { placement == .split ? clientGroup : .singleton }
}

extension BenchLoops.Placement: ExpressibleByArgument {}
