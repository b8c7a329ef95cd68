import CXModel
import CXWire
import Foundation
import Logging
import NIOCore
import NIOPosix

/// CXWire's unary Echo: an RPCServer and an RPCClient with `connections`
/// connections and `connections x inFlight` tasks each calling in a loop.
enum CXWireEcho {
    static func run(concurrency: Concurrency, payloadSize: Int, window: Window) async throws -> LoadResult {
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let server = RPCServer(
            configuration: RPCServerConfiguration(name: "bench", host: "127.0.0.1", port: 0),
            router: RPCRouter(), logger: logger)
        try await server.start()
        let client = RPCClient(
            host: "127.0.0.1", port: server.localAddress!.port!,
            configuration: RPCClientConfiguration(connections: concurrency.connections))
        var echo = Cx_Wire_V1_EchoRequest()
        echo.payload = Data(repeating: 0x61, count: payloadSize)
        let request = echo
        // Connect every connection before the clock starts.
        for _ in 0..<concurrency.connections { _ = try await client.call(Cx_Wire_V1_Echo.echo, request) }

        let total = await withTaskGroup(of: LoadResult.self) { group in
            for _ in 0..<(concurrency.connections * concurrency.inFlight) {
                group.addTask {
                    // With Swift Concurrency on NIO's loops, a task stays on the
                    // loop it was started from: start each caller from the next
                    // loop in turn, so callers spread over the loops as a
                    // service's handlers spread over its connections.
                    let loop = MultiThreadedEventLoopGroup.singleton.next()
                    let worker = try? await loop.submit { Task { await callInLoop(client: client, request: request, window: window) } }.get()
                    return await worker?.value ?? LoadResult()
                }
            }
            var total = LoadResult()
            for await result in group { total.merge(result) }
            return total
        }
        await client.close()
        server.close()
        try await server.waitUntilClosed()
        var result = total
        result.seconds = window.seconds
        return result
    }

    /// Calls Echo back to back until the window is over.
    static func callInLoop(client: RPCClient, request: Cx_Wire_V1_EchoRequest, window: Window) async -> LoadResult {
        var result = LoadResult()
        while true {
            let sent = now()
            if window.isOver(sent) { break }
            do {
                _ = try await client.call(Cx_Wire_V1_Echo.echo, request)
                let time = now()
                if window.contains(time) {
                    result.calls += 1
                    result.latency.record(time - sent)
                }
            } catch {
                result.errors += 1
            }
        }
        return result
    }
}
