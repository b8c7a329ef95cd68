import CXModel
import NIOCore
import NIOPosix
import XCTest

@testable import CXWire

final class RPCClientTests: XCTestCase {
    func testUnreachablePeerIsUnavailableWithAClearMessage() async throws {
        // Bind and close to get a port nobody listens on.
        let (server, port) = try await startServer()
        server.close()
        try await server.waitUntilClosed()
        let client = RPCClient(host: "127.0.0.1", port: port, configuration: .init(connections: 1))
        let error = await assertRPCError(.unavailable) { try await client.call(Cx_Wire_V1_Echo.echo, echo("x")) }
        XCTAssertEqual(error?.message.hasPrefix("cannot reach 127.0.0.1:\(port): connection refused"), true, "\(String(describing: error))")
        // Inside the backoff window the next call fails fast and says when it tries again.
        let again = await assertRPCError(.unavailable) { try await client.call(Cx_Wire_V1_Echo.echo, echo("x")) }
        XCTAssertEqual(again?.message.contains("next attempt in"), true, "\(String(describing: again))")
        await client.close()
    }

    func testConnectOpensEveryConnectionBeforeAnyCall() async throws {
        let (server, port) = try await startServer()
        let client = RPCClient(host: "127.0.0.1", port: port, configuration: .init(connections: 4))
        try await client.connect()
        // The health check itself rides one of the four: no connection is opened for it.
        let health = try await client.call(Cx_Wire_V1_Health.check, Cx_Wire_V1_HealthCheckRequest())
        XCTAssertEqual(health.connections, 4)
        try await client.connect()  // connected already: nothing more is opened
        let again = try await client.call(Cx_Wire_V1_Health.check, Cx_Wire_V1_HealthCheckRequest())
        XCTAssertEqual(again.connections, 4)
        await client.close()
        server.close()
    }

    func testConnectToAPeerThatIsNotThereSaysWhichPeer() async throws {
        let (server, port) = try await startServer()
        server.close()
        try await server.waitUntilClosed()
        let client = RPCClient(host: "127.0.0.1", port: port, configuration: .init(connections: 2))
        let error = await assertRPCError(.unavailable) { try await client.connect() }
        XCTAssertEqual(error?.message.hasPrefix("cannot reach 127.0.0.1:\(port)"), true, "\(String(describing: error))")
        await client.close()
    }

    func testClientReconnectsAfterTheServerComesBack() async throws {
        let (first, port) = try await startServer()
        let client = RPCClient(
            host: "127.0.0.1", port: port,
            configuration: .init(connections: 1, backoff: .init(initial: .milliseconds(20), maximum: .milliseconds(50))))
        let firstAnswer = try await client.call(Cx_Wire_V1_Echo.echo, echo("a")).text
        XCTAssertEqual(firstAnswer, "a")
        first.close()
        try await first.waitUntilClosed()
        await assertRPCError(.unavailable) { try await client.call(Cx_Wire_V1_Echo.echo, echo("b")) }

        let (second, _) = try await startServer { $0.port = port }
        var answer: String?
        for _ in 0..<100 where answer == nil {
            answer = try? await client.call(Cx_Wire_V1_Echo.echo, echo("c")).text
            if answer == nil { try await Task.sleep(for: .milliseconds(20)) }
        }
        XCTAssertEqual(answer, "c")
        await client.close()
        second.close()
    }

    func testCancellingTheCallingTaskCancelsTheHandler() async throws {
        let log = HandlerLog()
        let (server, port) = try await startServer(log: log)
        let client = RPCClient(host: "127.0.0.1", port: port, configuration: .init(connections: 1))
        let call = Task { try await client.call(TestMethods.slow, echo("5000")) }
        try await Task.sleep(for: .milliseconds(100))
        call.cancel()
        do {
            _ = try await call.value
            XCTFail("cancelled call succeeded")
        } catch let error as RPCError {
            XCTAssertEqual(error.code, .cancelled)
        }
        for _ in 0..<100 where log.cancelled == 0 { try await Task.sleep(for: .milliseconds(10)) }
        XCTAssertEqual(log.cancelled, 1)
        // The connection is still good.
        let answer = try await client.call(Cx_Wire_V1_Echo.echo, echo("ok")).text
        XCTAssertEqual(answer, "ok")
        await client.close()
        server.close()
    }

    func testClientDeadlineHoldsWhenTheServerNeverAnswers() async throws {
        // A listener that accepts and reads but never answers.
        let silent = try await startSilentListener()
        let client = RPCClient(host: "127.0.0.1", port: silent.localAddress!.port!)
        let started = ContinuousClock.now
        await assertRPCError(.deadlineExceeded) {
            try await client.call(Cx_Wire_V1_Echo.echo, echo("x"), options: .init(timeout: .milliseconds(150)))
        }
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(2))
        await client.close()
        try await silent.close()
    }

    func testCallsFromAnEventLoopWithoutATask() async throws {
        let log = HandlerLog()
        let (server, port) = try await startServer(log: log)
        let group = MultiThreadedEventLoopGroup.singleton
        let client = RPCClient(host: "127.0.0.1", port: port, configuration: .init(connections: 2), group: group)
        let loop = group.next()
        // The first call finds no connection yet and makes one.
        let first = client.call(Cx_Wire_V1_Echo.echo, echo("first"), on: loop)
        XCTAssertTrue(first.eventLoop === loop)
        let firstText = try await first.get().text
        XCTAssertEqual(firstText, "first")
        // Many at once from the loop itself, each answered with its own text.
        let texts = try await loop.flatSubmit {
            EventLoopFuture.whenAllSucceed((0..<300).map { client.call(Cx_Wire_V1_Echo.echo, echo("\($0)"), on: loop) }, on: loop)
        }.get().map(\.text)
        XCTAssertEqual(texts, (0..<300).map(String.init))
        // A status comes back as the RPCError it stands for.
        await assertRPCError(.invalidArgument) { try await client.call(TestMethods.fail, echo("invalid"), on: loop).get() }
        // A call past its deadline fails, and the server stops working on it.
        await assertRPCError(.deadlineExceeded) {
            try await client.call(TestMethods.slow, echo("5000"), options: .init(timeout: .milliseconds(100)), on: loop).get()
        }
        for _ in 0..<100 where log.cancelled == 0 { try await Task.sleep(for: .milliseconds(10)) }
        XCTAssertEqual(log.cancelled, 1)
        // From a thread that is no event loop, too.
        let fromTask = try await client.call(Cx_Wire_V1_Echo.echo, echo("task"), on: group.next()).get().text
        XCTAssertEqual(fromTask, "task")
        server.close()
        try await server.waitUntilClosed()
        await assertRPCError(.unavailable) { try await client.call(Cx_Wire_V1_Echo.echo, echo("gone"), on: loop).get() }
        await client.close()
    }

    /// A chain of `count` callback calls on `loop`, each started from the
    /// last one's completion, as `cx-bench wire`'s loop callers run.
    private final class Chain: @unchecked Sendable {  // touched on its loop only
        var texts: [String] = []
        var codes: [RPCCode] = []
        var offLoop = 0
        /// Completions that ran before the `call` that started them returned.
        var early = 0
        var returned = true
    }

    private func chain(
        _ client: RPCClient, on loop: any EventLoop, count: Int, _ request: @escaping @Sendable (Int) -> Cx_Wire_V1_EchoRequest
    ) async throws -> Chain {
        let chain = Chain()
        let done = loop.makePromise(of: Void.self)
        @Sendable func step(_ index: Int) {
            guard index < count else { return done.succeed() }
            chain.returned = false
            client.call(Cx_Wire_V1_Echo.echo, request(index), on: loop) { result in
                if !loop.inEventLoop { chain.offLoop += 1 }
                if !chain.returned { chain.early += 1 }
                switch result {
                case .success(let response): chain.texts.append(response.text)
                case .failure(let error): chain.codes.append(error.code)
                }
                step(index + 1)
            }
            chain.returned = true
        }
        loop.execute { step(0) }
        try await done.futureResult.get()
        return chain
    }

    func testCallbackCallsAnswerOnTheLoopNeverBeforeReturningAndChainWithoutRecursing() async throws {
        let (server, port) = try await startServer()
        let group = MultiThreadedEventLoopGroup.singleton
        let loop = group.next()
        var configuration = RPCClientConfiguration(connections: 2)
        configuration.limits.maxMessageSize = 1_024
        configuration.backoff.initial = .seconds(30)  // once the server is gone, every call fails at once
        let client = RPCClient(host: "127.0.0.1", port: port, configuration: configuration, group: group)

        let answered = try await chain(client, on: loop, count: 500) { index in .with { $0.text = "پیام \(index)" } }
        XCTAssertEqual(answered.texts, (0..<500).map { "پیام \($0)" })
        XCTAssertEqual(answered.codes, [])
        XCTAssertEqual(answered.offLoop, 0)

        // Refused before anything is sent: still answered after `call` returns,
        // so 20,000 in a chain do not grow the stack.
        let tooLarge = try await chain(client, on: loop, count: 20_000) { _ in .with { $0.payload = Data(count: 2_048) } }
        XCTAssertEqual(tooLarge.codes, Array(repeating: .resourceExhausted, count: 20_000))
        XCTAssertEqual(tooLarge.early, 0)
        XCTAssertEqual(tooLarge.offLoop, 0)

        server.close()
        try await server.waitUntilClosed()
        let gone = try await chain(client, on: loop, count: 2_000) { _ in .with { $0.text = "gone" } }
        XCTAssertEqual(gone.codes, Array(repeating: .unavailable, count: 2_000))
        XCTAssertEqual(gone.early, 0)
        await client.close()
    }

    func testCallsFromTwoLoopsInStepUseEveryConnectionOfEach() async throws {
        // Two loops, two connections each. Calls alternate between the loops;
        // each loop's calls must still take its two connections in turn.
        let (server, port) = try await startServer()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let client = RPCClient(host: "127.0.0.1", port: port, configuration: .init(connections: 4), group: group)
        let loops = [group.next(), group.next()]
        var peers: [Set<String>] = [[], []]
        for _ in 0..<8 {
            for (index, loop) in loops.enumerated() {
                peers[index].insert(try await client.call(TestMethods.peer, echo(""), on: loop).get().text)
            }
        }
        XCTAssertEqual(peers.map(\.count), [2, 2], "\(peers)")
        await client.close()
        server.close()
        try await group.shutdownGracefully()
    }

    func testACallStartedFromAnAnswerGoesOutOnTheConnectionThatAnswered() async throws {
        let (server, port) = try await startServer()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let client = RPCClient(host: "127.0.0.1", port: port, configuration: .init(connections: 4), group: group)
        let loop = group.next()
        // Calls started from nowhere in particular go round the four connections.
        let spread = try await loop.flatSubmit {
            EventLoopFuture.whenAllSucceed((0..<8).map { _ in client.call(TestMethods.peer, echo(""), on: loop) }, on: loop)
        }.get().map(\.text)
        XCTAssertEqual(Set(spread).count, 4, "\(spread)")
        // A chain, each call started from the last one's answer, stays on the connection that answered.
        @Sendable func chain(_ peers: [String]) -> EventLoopFuture<[String]> {
            client.call(TestMethods.peer, echo(""), on: loop).flatMap { answer in
                peers.count == 9 ? loop.makeSucceededFuture(peers + [answer.text]) : chain(peers + [answer.text])
            }
        }
        let chained = try await loop.flatSubmit { chain([]) }.get()
        XCTAssertEqual(chained.count, 10)
        XCTAssertEqual(Set(chained).count, 1, "each call should go out on the connection the last answer came on: \(chained)")
        // A fan-out from one answer: only the first call takes its connection, the rest spread.
        let fanOut = try await loop.flatSubmit {
            client.call(TestMethods.peer, echo(""), on: loop).flatMap { answer in
                EventLoopFuture.whenAllSucceed((0..<4).map { _ in client.call(TestMethods.peer, echo(""), on: loop) }, on: loop)
                    .map { [answer.text] + $0.map(\.text) }
            }
        }.get()
        XCTAssertEqual(fanOut[1], fanOut[0], "\(fanOut)")
        XCTAssertEqual(Set(fanOut[2...]).count, 3, "the fan-out's other calls should go round the connections: \(fanOut)")
        await client.close()
        server.close()
        try await server.waitUntilClosed()
        try await group.shutdownGracefully()
    }

    func testParseAddress() throws {
        XCTAssertEqual(try RPCClient.parse(address: "127.0.0.1:7101").port, 7101)
        XCTAssertEqual(try RPCClient.parse(address: "[::1]:7102").host, "::1")
        for bad in ["", "localhost", "host:", ":80", "host:99999", "host:abc"] {
            XCTAssertThrowsError(try RPCClient.parse(address: bad), bad) { error in
                XCTAssertEqual((error as? RPCError)?.fieldViolations.first?.field, "address")
            }
        }
    }
}

/// A listener that accepts connections and reads, but never answers.
private func startSilentListener() async throws -> any Channel {
    try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .childChannelInitializer { channel in channel.eventLoop.makeSucceededVoidFuture() }
        .bind(host: "127.0.0.1", port: 0).get()
}
