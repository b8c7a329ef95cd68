import CXModel
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import NIOCore
import NIOPosix

/// grpc-swift-2's unary echo over HTTP/2 (plaintext, NIOPosix), with the same
/// Cx_Wire_V1_EchoRequest/Response and payload as CXWire's Echo, driven the
/// way grpc-swift-nio-transport's own performance worker drives it
/// (IntegrationTests/grpc-performance-tests, BenchmarkClient.swift): one
/// GRPCClient per connection, made once, its `runConnections()` in a task for
/// the whole run, warmed up with one call before the clock starts, and
/// `inFlight` tasks per client each calling in a loop; its tasks on Swift's
/// own pool (Dispatch), as in that worker, even though cx-bench hands Swift
/// Concurrency to NIO's event loops for CXWire (see Main.swift).
///
/// Why gRPC measures so far below CXWire here (2 cores, both ends in one
/// process), from what was tried:
/// - Not the harness shape. A GRPCClient per call (`withGRPCClient`) does make
///   it slow (~600 calls/s at 1x1 with p50 ~1.6 ms, ~2,000 at 16x8), and a
///   harness doing that would explain an earlier low figure; but one shared
///   client (one HTTP/2 connection) was no slower than a client per
///   connection, TCP_NODELAY is already on (NIO's bootstraps set it and the
///   transport keeps it), and max concurrent streams (raised to 4096 here from
///   nio-http2's 100) never binds at 8 per connection.
/// - Not the executor, on average: gRPC's tasks on Dispatch or on NIO's loops
///   (`--grpc-executor nio`) both give ~8,000-11,000 calls/s at 16x8 with both
///   cores busy. A few early runs gave 2,000-4,000 with the process getting
///   well under 2 cores; they could not be reproduced once `compare` printed
///   the cores each run used, so other load on the shared machine is the
///   likely cause: read those columns before trusting a figure.
/// - 1x1 latency: flush coalescing (on by default since
///   grpc-swift-nio-transport 2.8: every flush waits up to 100 µs, at each
///   end) adds ~250 µs, and a call puts a thread to sleep and wakes one ~19
///   times (tasks to event loops and back, at each end); on this VM each
///   switch costs tens of µs.
///   With one event loop for all of gRPC and no coalescing
///   (`--grpc-executor loop --grpc-flush-coalescing off`) 1x1 is ~3,900
///   calls/s at p50 ~245 µs, but 16x8 drops to one core's worth.
/// - 16x8 throughput is CPU: ~180-220 µs of CPU per call for both ends, spread
///   over nio-http2 (a child channel per stream), the NIOAsyncChannel
///   wrappers per stream, generic metadata lookups (~15% of samples in
///   swift_getGenericMetadata) and reference counting (~18%).
enum GRPCEcho {
    /// `cx.wire.v1.Echo/Echo`, by hand (no protoc plugin).
    static let method = GRPCCore.MethodDescriptor(
        fullyQualifiedService: Cx_Wire_V1_Echo.serviceName, method: "Echo", type: .unary)

    /// Answers Echo as CXWire's built-in Echo does: payload and text back.
    struct EchoService: RegistrableRPCService {
        func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
            router.registerHandler(
                forMethod: GRPCEcho.method,
                deserializer: ProtobufDeserializer<Cx_Wire_V1_EchoRequest>(),
                serializer: ProtobufSerializer<Cx_Wire_V1_EchoResponse>()
            ) { request, _ in
                let single = try await ServerRequest(stream: request)
                var response = Cx_Wire_V1_EchoResponse()
                response.payload = single.message.payload
                response.text = single.message.text
                return StreamingServerResponse(single: ServerResponse(message: response))
            }
        }
    }

    /// Where gRPC's tasks run.
    enum Executor: String, CaseIterable, Sendable {
        /// Swift's own pool (Dispatch), as in grpc-swift's performance worker
        /// and any program that does not hand Swift Concurrency to NIO.
        case dispatch
        /// cx-bench's global executor: NIO's event loops (see Main.swift).
        case nio
        /// One event loop of its own for all of gRPC: I/O of both ends and tasks.
        case loop
    }

    /// Runs jobs on one event loop.
    final class EventLoopTaskExecutor: TaskExecutor {
        let loop: any EventLoop
        init(_ loop: any EventLoop) { self.loop = loop }
        func enqueue(_ job: consuming ExecutorJob) {
            let job = UnownedJob(job)
            loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
        }
    }

    /// Runs jobs on Dispatch's global concurrent queue, that is Swift's own
    /// pool, which cx-bench otherwise replaces process-wide with NIO's loops.
    final class DispatchTaskExecutor: TaskExecutor {
        func enqueue(_ job: consuming ExecutorJob) {
            let job = UnownedJob(job)
            DispatchQueue.global().async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
        }
    }

    static let dispatchExecutor = DispatchTaskExecutor()

    static func run(concurrency: Concurrency, payloadSize: Int, window: Window, flushCoalescing: Bool, executor: Executor) async throws -> LoadResult {
        switch executor {
        case .nio:
            return try await measure(concurrency: concurrency, payloadSize: payloadSize, window: window, flushCoalescing: flushCoalescing, pinCallers: true, group: .singleton)
        case .loop:
            let own = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            defer { own.shutdownGracefully { _ in } }
            let executor = EventLoopTaskExecutor(own.next())
            return try await withTaskExecutorPreference(executor) {
                try await measure(concurrency: concurrency, payloadSize: payloadSize, window: window, flushCoalescing: flushCoalescing, pinCallers: false, group: own)
            }
        case .dispatch:
            // Child tasks inherit the preference: the server's, the clients'
            // and the callers' tasks all run on Dispatch; the I/O stays on NIO.
            return try await withTaskExecutorPreference(dispatchExecutor) {
                try await measure(concurrency: concurrency, payloadSize: payloadSize, window: window, flushCoalescing: flushCoalescing, pinCallers: false, group: .singleton)
            }
        }
    }

    private static func measure(concurrency: Concurrency, payloadSize: Int, window: Window, flushCoalescing: Bool, pinCallers: Bool, group: MultiThreadedEventLoopGroup) async throws -> LoadResult {
        let serverTransport = HTTP2ServerTransport.Posix(
            address: .ipv4(host: "127.0.0.1", port: 0),
            transportSecurity: .plaintext,
            config: .defaults { config in
                config.http2.maxConcurrentStreams = 4_096
                if !flushCoalescing { config.connection.flushCoalescing = nil }
            },
            eventLoopGroup: group)
        let server = GRPCServer(transport: serverTransport, services: [EchoService()])

        var echo = Cx_Wire_V1_EchoRequest()
        echo.payload = Data(repeating: 0x61, count: payloadSize)
        let request = ClientRequest(message: echo)

        return try await withThrowingTaskGroup(of: Void.self) { running in
            running.addTask { try await server.serve() }
            guard let port = try await serverTransport.listeningAddress.ipv4?.port else {
                throw CancellationError()
            }

            // One client, so one HTTP/2 connection, per connection of the level,
            // each pinned to the next event loop.
            var clients: [(client: GRPCClient<HTTP2ClientTransport.Posix>, loop: any EventLoop)] = []
            for _ in 0..<concurrency.connections {
                let loop = group.next()
                let transport = try HTTP2ClientTransport.Posix(
                    target: .ipv4(address: "127.0.0.1", port: port),
                    transportSecurity: .plaintext,
                    config: .defaults { config in
                        if !flushCoalescing { config.connection.flushCoalescing = nil }
                    },
                    eventLoopGroup: loop)
                let client = GRPCClient(transport: transport)
                running.addTask { try await client.runConnections() }
                clients.append((client, loop))
            }
            // Connect every connection before the clock starts.
            for (client, _) in clients { _ = try await call(client, request) }

            let total = await withTaskGroup(of: LoadResult.self) { callers in
                for (client, loop) in clients {
                    for _ in 0..<concurrency.inFlight {
                        callers.addTask {
                            if !pinCallers {
                                return await callInLoop(client: client, request: request, window: window)
                            }
                            // As in CXWireEcho: with Swift Concurrency on NIO's loops a
                            // task stays on the loop it was started from, so start each
                            // caller on its client's loop.
                            let worker = try? await loop.submit {
                                Task { await callInLoop(client: client, request: request, window: window) }
                            }.get()
                            return await worker?.value ?? LoadResult()
                        }
                    }
                }
                var total = LoadResult()
                for await result in callers { total.merge(result) }
                return total
            }

            for (client, _) in clients { client.beginGracefulShutdown() }
            server.beginGracefulShutdown()
            try await running.waitForAll()
            var result = total
            result.seconds = window.seconds
            return result
        }
    }

    static func call(_ client: GRPCClient<HTTP2ClientTransport.Posix>, _ request: ClientRequest<Cx_Wire_V1_EchoRequest>) async throws -> Cx_Wire_V1_EchoResponse {
        try await client.unary(
            request: request, descriptor: method,
            serializer: ProtobufSerializer<Cx_Wire_V1_EchoRequest>(),
            deserializer: ProtobufDeserializer<Cx_Wire_V1_EchoResponse>(),
            options: .defaults
        ) { response in try response.message }
    }

    /// Calls Echo back to back until the window is over.
    static func callInLoop(client: GRPCClient<HTTP2ClientTransport.Posix>, request: ClientRequest<Cx_Wire_V1_EchoRequest>, window: Window) async -> LoadResult {
        var result = LoadResult()
        while true {
            let sent = now()
            if window.isOver(sent) { break }
            do {
                _ = try await call(client, request)
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
