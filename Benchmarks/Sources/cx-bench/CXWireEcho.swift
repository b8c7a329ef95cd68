import CXModel
import CXWire
import Foundation
import Logging
import NIOCore
import NIOPosix

/// A started CXWire server on 127.0.0.1 and a free port, serving only the
/// built-in methods (Echo among them), logging errors only.
func startEchoServer() async throws -> RPCServer {
    var logger = Logger(label: "bench")
    logger.logLevel = .error
    let server = RPCServer(
        configuration: RPCServerConfiguration(name: "bench", host: "127.0.0.1", port: 0),
        router: RPCRouter(), group: BenchLoops.server, logger: logger)
    try await server.start()
    return server
}

/// CXWire's unary Echo: an RPCServer and an RPCClient with `connections`
/// connections and `connections x inFlight` tasks each calling in a loop.
enum CXWireEcho {
    static func run(concurrency: Concurrency, payloadSize: Int, window: Window) async throws -> LoadResult {
        let server = try await startEchoServer()
        let client = RPCClient(
            host: "127.0.0.1", port: server.localAddress!.port!,
            configuration: RPCClientConfiguration(connections: concurrency.connections))
        var echo = Cx_Wire_V1_EchoRequest()
        echo.payload = Data(repeating: 0x61, count: payloadSize)
        let request = echo
        // Connect every connection before the clock starts. One call per
        // connection did not: calls go round their own loop's connections,
        // and a server log of the accepts showed 12 of 16 connected.
        try await client.connect()

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

/// CXWire's client and server with the calls kept in flight on the event
/// loops through the client's callback API (`RPCClient.call(_:_:on:completion:)`), as
/// the bare echo's client keeps its own: no task per call. Each of the
/// `connections x inFlight` callers is a chain on one loop that starts its
/// next call when the last one completes.
enum CXWireLoopEcho {
    /// One caller: lives on its loop, counts its calls. Sendable unchecked:
    /// it is touched only on its loop, where the client calls back (its
    /// connections are on every loop, so it has one there).
    final class Caller: @unchecked Sendable {
        let client: RPCClient
        let request: Cx_Wire_V1_EchoRequest
        let eventLoop: any EventLoop
        let window: Window
        let done: EventLoopPromise<Void>
        var result = LoadResult()
        /// When the call in flight was sent.
        private var sent: UInt64 = 0
        /// Made once and passed to every call: a closure made per call (it
        /// would capture `sent`) is an allocation per call, which the bare
        /// client does not make either. Cleared when done, which ends the
        /// cycle through `self`.
        private var completion: (@Sendable (Result<Cx_Wire_V1_EchoResponse, RPCError>) -> Void)?

        init(client: RPCClient, request: Cx_Wire_V1_EchoRequest, eventLoop: any EventLoop, window: Window, done: EventLoopPromise<Void>) {
            self.client = client
            self.request = request
            self.eventLoop = eventLoop
            self.window = window
            self.done = done
        }

        func next() {
            sent = now()
            if window.isOver(sent) {
                completion = nil
                done.succeed()
                return
            }
            if completion == nil { completion = { outcome in self.answered(outcome) } }
            client.call(Cx_Wire_V1_Echo.echo, request, on: eventLoop, completion: completion!)
        }

        private func answered(_ outcome: Result<Cx_Wire_V1_EchoResponse, RPCError>) {
            let time = now()
            if window.contains(time) {
                switch outcome {
                case .success:
                    result.calls += 1
                    result.latency.record(time - sent)
                case .failure:
                    result.errors += 1
                }
            }
            next()
        }
    }

    static func run(concurrency: Concurrency, payloadSize: Int, window: Window) async throws -> LoadResult {
        let server = try await startEchoServer()
        let group = BenchLoops.client
        let client = RPCClient(
            host: "127.0.0.1", port: server.localAddress!.port!,
            configuration: RPCClientConfiguration(connections: concurrency.connections), group: group)
        var echo = Cx_Wire_V1_EchoRequest()
        echo.payload = Data(repeating: 0x61, count: payloadSize)
        let request = echo
        // Connect every connection before the clock starts. One call per
        // connection did not: calls go round their own loop's connections,
        // and a server log of the accepts showed 12 of 16 connected.
        try await client.connect()

        var callers: [(NIOLoopBound<Caller>, EventLoopFuture<Void>)] = []
        for _ in 0..<(concurrency.connections * concurrency.inFlight) {
            let eventLoop = group.next()
            let done = eventLoop.makePromise(of: Void.self)
            let caller = try await eventLoop.submit {
                let caller = Caller(client: client, request: request, eventLoop: eventLoop, window: window, done: done)
                caller.next()
                return NIOLoopBound(caller, eventLoop: eventLoop)
            }.get()
            callers.append((caller, done.futureResult))
        }
        var total = LoadResult()
        for (caller, done) in callers {
            try await done.get()
            total.merge(try await caller.eventLoop.submit { caller.value.result }.get())
        }
        await client.close()
        server.close()
        try await server.waitUntilClosed()
        total.seconds = window.seconds
        return total
    }
}
