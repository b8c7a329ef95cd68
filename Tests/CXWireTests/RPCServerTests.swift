import CXModel
import NIOCore
import XCTest

@testable import CXWire

final class RPCServerTests: XCTestCase {
    func testThousandConcurrentCallsOverFourConnectionsAreAllAnsweredCorrectly() async throws {
        let (server, port) = try await startServer()
        let client = RPCClient(host: "127.0.0.1", port: port, configuration: .init(connections: 4))
        let answers = try await withThrowingTaskGroup(of: (Int, String).self) { group in
            for index in 0..<1_000 {
                group.addTask {
                    // Some calls wait a little so answers come back out of order.
                    let response = try await client.call(TestMethods.slow, echo(index % 7 == 0 ? "3" : "0"))
                    let payloadEcho = try await client.call(Cx_Wire_V1_Echo.echo, echo("call \(index) سلام"))
                    XCTAssertEqual(response.text, index % 7 == 0 ? "3" : "0")
                    return (index, payloadEcho.text)
                }
            }
            var answers: [Int: String] = [:]
            for try await (index, text) in group { answers[index] = text }
            return answers
        }
        XCTAssertEqual(answers.count, 1_000)
        for (index, text) in answers { XCTAssertEqual(text, "call \(index) سلام") }
        let health = try await client.call(Cx_Wire_V1_Health.check, .init())
        XCTAssertEqual(health.connections, 4)
        await client.close()
        server.close()
        try await server.waitUntilClosed()
    }

    func testCallPastItsDeadlineIsCancelledWhileOthersOnTheConnectionSucceed() async throws {
        let log = HandlerLog()
        let (server, port) = try await startServer(log: log)
        let client = RPCClient(host: "127.0.0.1", port: port, configuration: .init(connections: 1))
        let late = Task { () -> RPCError? in
            do {
                _ = try await client.call(TestMethods.slow, echo("5000"), options: .init(timeout: .milliseconds(200)))
                return nil
            } catch {
                return error as? RPCError
            }
        }
        var quick: [String] = []
        for index in 0..<20 {
            quick.append(try await client.call(Cx_Wire_V1_Echo.echo, echo("\(index)")).text)
        }
        XCTAssertEqual(quick, (0..<20).map(String.init))
        let lateError = await late.value
        XCTAssertEqual(lateError?.code, .deadlineExceeded)
        XCTAssertTrue(lateError?.message.contains("deadline") ?? false, "\(String(describing: lateError))")
        // The handler's task was cancelled, not left running to 5 s.
        for _ in 0..<100 where log.cancelled == 0 { try await Task.sleep(for: .milliseconds(10)) }
        XCTAssertEqual(log.cancelled, 1)
        XCTAssertEqual(log.finished, 0)
        await client.close()
        server.close()
    }

    func testServerDeadlineAppliesWhenTheClientWaitsLonger() async throws {
        let log = HandlerLog()
        let (server, port) = try await startServer(log: log)
        let raw = try await RawConnection.connect(port: port)
        var frame = Cx_Wire_V1_Frame()
        frame.callID = 9
        frame.request.method = TestMethods.slow.fullName
        frame.request.payload = try echo("5000").serializedBytes()
        frame.request.timeoutMicros = 100_000
        try await raw.send(frame: frame)
        let frames = try await raw.waitForFrames(1)
        XCTAssertEqual(frames[0].frame.callID, 9)
        XCTAssertEqual(frames[0].frame.response.status.code, .deadlineExceeded)
        await raw.close()
        server.close()
    }

    func testGarbageClosesThatConnectionOnlyAndSaysWhy() async throws {
        let (server, port) = try await startServer()
        let client = RPCClient(host: "127.0.0.1", port: port, configuration: .init(connections: 1))
        _ = try await client.call(Cx_Wire_V1_Echo.echo, echo("before"))

        let garbage = try await RawConnection.connect(port: port)
        try await garbage.send(Array("GET / HTTP/1.1\r\nHost: cx\r\n\r\n".utf8))
        try await garbage.waitForClose()
        let frames = try garbage.receivedFrames()
        XCTAssertEqual(frames.count, 1)
        XCTAssertEqual(frames.first?.frame.goAway.status.reason, "PROTOCOL_VIOLATION")

        // A frame whose message is not a Frame envelope.
        let nonsense = try await RawConnection.connect(port: port)
        try await nonsense.send([0, 0, 0, 0, 3, 0xff, 0xff, 0xff])
        try await nonsense.waitForClose()
        XCTAssertEqual(try nonsense.receivedFrames().first?.frame.goAway.status.code, .invalidArgument)

        // An oversized frame: refused from its header.
        let huge = try await RawConnection.connect(port: port)
        try await huge.send([0, 0x7f, 0xff, 0xff, 0xff])
        try await huge.waitForClose()
        XCTAssertEqual(try huge.receivedFrames().first?.frame.goAway.status.code, .resourceExhausted)

        for index in 0..<50 {
            let response = try await client.call(Cx_Wire_V1_Echo.echo, echo("after \(index)"))
            XCTAssertEqual(response.text, "after \(index)")
        }
        await client.close()
        server.close()
    }

    func testGracefulShutdownFinishesAcceptedCallsAndRefusesNewOnes() async throws {
        let log = HandlerLog()
        let (server, port) = try await startServer(log: log)
        let client = RPCClient(host: "127.0.0.1", port: port, configuration: .init(connections: 2))
        let inFlight = Task {
            try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<10 { group.addTask { try await client.call(TestMethods.slow, echo("400")).text } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
        }
        // Wait until the server has accepted all ten.
        for _ in 0..<200 {
            let health = try await client.call(Cx_Wire_V1_Health.check, .init())
            if health.callsInFlight >= 10 { break }
            try await Task.sleep(for: .milliseconds(5))
        }
        server.beginGracefulShutdown()
        let drained = Task { try await server.waitUntilClosed() }

        let answers = try await inFlight.value
        XCTAssertEqual(answers, Array(repeating: "400", count: 10))
        XCTAssertEqual(log.finished, 10)
        XCTAssertEqual(log.cancelled, 0)
        try await drained.value

        // Closed now: a new call cannot reach it.
        await assertRPCError(.unavailable) { try await client.call(Cx_Wire_V1_Echo.echo, echo("late")) }
        await client.close()
    }

    func testRequestAfterGoAwayIsAnsweredUnavailableWithoutRunning() async throws {
        let log = HandlerLog()
        let (server, port) = try await startServer(log: log)
        let raw = try await RawConnection.connect(port: port)
        var slow = Cx_Wire_V1_Frame()
        slow.callID = 1
        slow.request.method = TestMethods.slow.fullName
        slow.request.payload = try echo("300").serializedBytes()
        try await raw.send(frame: slow)
        try await Task.sleep(for: .milliseconds(100))  // call 1 is running (it takes 300 ms)
        server.beginGracefulShutdown()
        _ = try await raw.waitForFrames(1)  // the GoAway
        var late = slow
        late.callID = 2
        try await raw.send(frame: late)
        try await raw.waitForClose()
        let frames = try raw.receivedFrames().map(\.frame)
        XCTAssertTrue(frames.contains { $0.goAway.status.code == .unavailable })
        XCTAssertEqual(frames.first { $0.callID == 2 }?.response.status.code, .unavailable)
        XCTAssertEqual(frames.first { $0.callID == 1 }?.response.status.code, .ok)
        XCTAssertEqual(log.finished, 1)
        try await server.waitUntilClosed()
    }

    func testErrorsReachTheClientAsStatusesWithoutInternals() async throws {
        let (server, port) = try await startServer()
        let client = RPCClient(host: "127.0.0.1", port: port)
        let invalid = await assertRPCError(.invalidArgument) { try await client.call(TestMethods.fail, echo("invalid")) }
        XCTAssertEqual(invalid?.fieldViolations, [.init(field: "text", description: "must not be \"invalid\"")])
        XCTAssertEqual(invalid?.message, "text: must not be \"invalid\"")

        let internalError = await assertRPCError(.internal) { try await client.call(TestMethods.fail, echo("boom")) }
        XCTAssertFalse(internalError?.message.contains("hunter2") ?? true)

        // The same from a synchronous handler, which runs without a task.
        let syncOK = try await client.call(TestMethods.syncFail, echo("ok"))
        XCTAssertEqual(syncOK.text, "fine")
        let syncInvalid = await assertRPCError(.invalidArgument) { try await client.call(TestMethods.syncFail, echo("invalid")) }
        XCTAssertEqual(syncInvalid?.fieldViolations.first?.field, "text")
        let syncInternal = await assertRPCError(.internal) { try await client.call(TestMethods.syncFail, echo("boom")) }
        XCTAssertFalse(syncInternal?.message.contains("hunter2") ?? true)

        let unknown = MethodDescriptor<Cx_Wire_V1_EchoRequest, Cx_Wire_V1_EchoResponse>(service: "cx.test.v1.Test", method: "Nope")
        let unimplemented = await assertRPCError(.unimplemented) { try await client.call(unknown, echo("")) }
        XCTAssertTrue(unimplemented?.message.contains("/cx.test.v1.Test/Nope") ?? false)

        // A payload that is not the request message.
        let malformed = await assertRPCError(.invalidArgument) {
            try await client.call(method: TestMethods.slow.fullName, payload: Data([0xff, 0xff, 0xff]))
        }
        XCTAssertEqual(malformed?.reason, "MALFORMED_REQUEST")
        await client.close()
        server.close()
    }

    func testHealthAndReflectionDescribeTheServer() async throws {
        let (server, port) = try await startServer { $0.name = "profiles"; $0.version = "9.9.9" }
        let client = RPCClient(host: "127.0.0.1", port: port)
        let health = try await client.call(Cx_Wire_V1_Health.check, .init())
        XCTAssertEqual(health.status, .serving)
        XCTAssertEqual(health.server, "profiles")
        XCTAssertEqual(health.version, "9.9.9")
        let methods = try await client.call(Cx_Wire_V1_Reflection.listMethods, .init())
        XCTAssertEqual(methods.server, "profiles")
        XCTAssertEqual(methods.methods.map(\.name), [
            "/cx.test.v1.Test/Big", "/cx.test.v1.Test/Fail", "/cx.test.v1.Test/Metadata", "/cx.test.v1.Test/Peer", "/cx.test.v1.Test/Slow",
            "/cx.test.v1.Test/SyncFail", "/cx.wire.v1.Echo/Echo", "/cx.wire.v1.Health/Check",
            "/cx.wire.v1.Reflection/ListMethods",
        ])
        XCTAssertEqual(methods.methods.first { $0.name == "/cx.wire.v1.Health/Check" }?.responseType, "cx.wire.v1.HealthCheckResponse")
        await client.close()
        server.close()
    }

    func testConnectionOverTheLimitIsRefusedAndOthersKeepWorking() async throws {
        let (server, port) = try await startServer { $0.maxConnections = 1 }
        let first = RPCClient(host: "127.0.0.1", port: port, configuration: .init(connections: 1))
        _ = try await first.call(Cx_Wire_V1_Echo.echo, echo("in"))
        let second = try await RawConnection.connect(port: port)
        try await second.waitForClose()
        XCTAssertEqual(try second.receivedFrames().first?.frame.goAway.status.code, .resourceExhausted)
        let answer = try await first.call(Cx_Wire_V1_Echo.echo, echo("still")).text
        XCTAssertEqual(answer, "still")
        await first.close()
        server.close()
    }

    func testAClientRefusedForLoadBacksOffInsteadOfReconnectingAtOnce() async throws {
        let (server, port) = try await startServer { $0.maxConnections = 1 }
        let holder = RPCClient(host: "127.0.0.1", port: port, configuration: .init(connections: 1))
        _ = try await holder.call(Cx_Wire_V1_Echo.echo, echo("hold"))
        let refused = RPCClient(
            host: "127.0.0.1", port: port,
            configuration: .init(connections: 1, backoff: .init(initial: .seconds(5), maximum: .seconds(5))))
        // The first call may be refused for load (or find the connection gone).
        do {
            _ = try await refused.call(Cx_Wire_V1_Echo.echo, echo("first"))
            XCTFail("a connection over the limit carried a call")
        } catch let error as RPCError {
            XCTAssertTrue([.resourceExhausted, .unavailable].contains(error.code), "\(error)")
        }
        try await Task.sleep(for: .milliseconds(100))
        // Within the backoff the next call fails at once, without a new connection.
        let connectionsBefore = try await holder.call(Cx_Wire_V1_Health.check, .init()).connections
        let second = await assertRPCError(.resourceExhausted) { try await refused.call(Cx_Wire_V1_Echo.echo, echo("second")) }
        XCTAssertTrue(second?.message.contains("next attempt in") ?? false, "\(String(describing: second))")
        XCTAssertEqual(connectionsBefore, 1)
        await refused.close()
        await holder.close()
        server.close()
    }

    func testCallsBeyondThePerConnectionLimitAreRefusedNotRun() async throws {
        let log = HandlerLog()
        let (server, port) = try await startServer({ $0.maxConcurrentCallsPerConnection = 4 }, log: log)
        let client = RPCClient(host: "127.0.0.1", port: port, configuration: .init(connections: 1))
        let codes = await withTaskGroup(of: RPCCode.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    do {
                        _ = try await client.call(TestMethods.slow, echo("300"))
                        return .ok
                    } catch {
                        return (error as? RPCError)?.code ?? .unknown
                    }
                }
            }
            return await group.reduce(into: [RPCCode]()) { $0.append($1) }
        }
        XCTAssertEqual(codes.filter { $0 == .ok }.count, 4)
        XCTAssertEqual(codes.filter { $0 == .resourceExhausted }.count, 4)
        XCTAssertEqual(log.finished, 4)
        await client.close()
        server.close()
    }

    func testIdleConnectionIsClosedAndTheClientReconnects() async throws {
        let (server, port) = try await startServer { $0.idleTimeout = .milliseconds(150) }
        let raw = try await RawConnection.connect(port: port)
        try await raw.waitForClose(timeout: .seconds(3))
        XCTAssertEqual(try raw.receivedFrames().first?.frame.goAway.status.code, .unavailable)

        let client = RPCClient(host: "127.0.0.1", port: port, configuration: .init(connections: 1))
        _ = try await client.call(Cx_Wire_V1_Echo.echo, echo("one"))
        try await Task.sleep(for: .milliseconds(400))
        let answer = try await client.call(Cx_Wire_V1_Echo.echo, echo("two")).text
        XCTAssertEqual(answer, "two")
        await client.close()
        server.close()
    }

    func testARequestWithAFieldFromANewerPeerIsStillAnswered() async throws {
        // Requests in the layout CX writes take the hand-written reader; one
        // with a field this server does not know goes through swift-protobuf.
        let (server, port) = try await startServer()
        let raw = try await RawConnection.connect(port: port)
        var frame = Cx_Wire_V1_Frame()
        frame.callID = 3
        frame.request.method = Cx_Wire_V1_Echo.echo.fullName
        frame.request.payload = try echo("سلام").serializedBytes()
        let message: [UInt8] = try frame.serializedBytes() + [0x40, 0x01]  // field 8, a varint
        try await raw.send([0, 0, 0, 0, UInt8(message.count)] + message)
        let frames = try await raw.waitForFrames(1)
        XCTAssertEqual(frames[0].frame.callID, 3)
        XCTAssertEqual(frames[0].frame.response.status.code, .ok)
        XCTAssertEqual(try Cx_Wire_V1_EchoResponse(serializedBytes: frames[0].frame.response.payload).text, "سلام")
        await raw.close()
        server.close()
    }

    func testEachCallIsRoutedByItsOwnMethodWhenMethodsAlternateOnAConnection() async throws {
        // The server keeps a connection's last method and route; a call of
        // another method, one of a method it does not serve, and a method
        // whose name differs only in its last byte must each go their own way.
        let (server, port) = try await startServer()
        let raw = try await RawConnection.connect(port: port)
        let calls: [(method: String, text: String)] = [
            (Cx_Wire_V1_Echo.echo.fullName, "یک"), (TestMethods.peer.fullName, ""), (Cx_Wire_V1_Echo.echo.fullName, "two"),
            ("cx.test.v1.Test/Nope", ""), (Cx_Wire_V1_Echo.echo.fullName, "سه"), (TestMethods.syncFail.fullName, "ok"),
            (String(Cx_Wire_V1_Echo.echo.fullName.dropLast()) + "x", ""), (Cx_Wire_V1_Echo.echo.fullName, "four"),
        ]
        var all = ByteBuffer()
        for (index, call) in calls.enumerated() {
            var frame = Cx_Wire_V1_Frame()
            frame.callID = UInt64(index + 1)
            frame.request.method = call.method
            frame.request.payload = try echo(call.text).serializedBytes()
            FrameParser.writeFrame(message: try frame.serializedBuffer(), compressionThreshold: nil, into: &all)
        }
        // Once in a single write (so in one read), then frame by frame.
        try await raw.send(Array(all.readableBytesView))
        var one = all
        while let message = try FrameParser().nextMessage(from: &one) {
            var frame = try Cx_Wire_V1_Frame(buffer: message)
            frame.callID += 100
            try await raw.send(frame: frame)
        }
        let frames = try await raw.waitForFrames(2 * calls.count)
        let answers = Dictionary(uniqueKeysWithValues: frames.map { ($0.frame.callID, $0.frame.response) })
        for base: UInt64 in [0, 100] {
            func text(_ id: UInt64) throws -> String {
                let response = try XCTUnwrap(answers[base + id], "call \(base + id)")
                XCTAssertEqual(response.status.code, .ok, "call \(base + id)")
                return try Cx_Wire_V1_EchoResponse(serializedBytes: response.payload).text
            }
            XCTAssertEqual(try text(1), "یک")
            XCTAssertTrue(try text(2).hasPrefix("127.0.0.1:"), "the peer method answers with the caller's address")
            XCTAssertEqual(try text(3), "two")
            XCTAssertEqual(answers[base + 4]?.status.code, .unimplemented)
            XCTAssertEqual(try text(5), "سه")
            XCTAssertEqual(try text(6), "fine")
            XCTAssertEqual(answers[base + 7]?.status.code, .unimplemented)
            XCTAssertEqual(try text(8), "four")
        }
        await raw.close()
        server.close()
    }

    func testPingIsAnsweredWithPong() async throws {
        let (server, port) = try await startServer()
        let raw = try await RawConnection.connect(port: port)
        var ping = Cx_Wire_V1_Frame()
        ping.ping.data = 42
        try await raw.send(frame: ping)
        let frames = try await raw.waitForFrames(1)
        XCTAssertEqual(frames[0].frame.pong.data, 42)
        await raw.close()
        server.close()
    }

    func testLargeMessagesTravelCompressedBothWays() async throws {
        let (server, port) = try await startServer()
        let raw = try await RawConnection.connect(port: port)
        let text = String(repeating: "مشتری وفادار ", count: 2_000)
        var request = Cx_Wire_V1_Frame()
        request.callID = 3
        request.request.method = Cx_Wire_V1_Echo.echo.fullName
        request.request.payload = try echo(text).serializedBytes()
        var message = ByteBuffer(bytes: try request.serializedBytes() as [UInt8])
        var framed = ByteBuffer()
        FrameParser.writeFrame(message: message, compressionThreshold: 1, into: &framed)
        XCTAssertEqual(framed.getInteger(at: 0, as: UInt8.self), 1)
        try await raw.channel.writeAndFlush(framed)
        let frames = try await raw.waitForFrames(1)
        XCTAssertEqual(frames[0].flags, 1, "a large answer is compressed")
        XCTAssertEqual(try Cx_Wire_V1_EchoResponse(serializedBytes: frames[0].frame.response.payload).text, text)
        message.clear()
        await raw.close()
        server.close()
    }
}

final class RPCServerProtocolEdgeTests: XCTestCase {
    private func request(id: UInt64, method: String = Cx_Wire_V1_Echo.echo.fullName, text: String = "x") throws -> Cx_Wire_V1_Frame {
        var frame = Cx_Wire_V1_Frame()
        frame.callID = id
        frame.request.method = method
        frame.request.payload = try echo(text).serializedBytes()
        return frame
    }

    func testAClientThatDoesNotReadIsThrottledAndLosesNothing() async throws {
        let (server, port) = try await startServer()
        let raw = try await RawConnection.connect(port: port, autoRead: false)
        let count = 600
        let text = String(repeating: "x", count: 4_000)
        // Written without waiting: ~2.4 MB the server answers into a socket nobody reads.
        let writes = (1...count).map { id in
            var frame = Cx_Wire_V1_Frame()
            frame.callID = UInt64(id)
            frame.request.method = Cx_Wire_V1_Echo.echo.fullName
            frame.request.payload = try! echo(text).serializedBytes()
            let message: [UInt8] = try! frame.serializedBytes()
            var buffer = ByteBuffer()
            buffer.writeInteger(UInt8(0))
            buffer.writeInteger(UInt32(message.count))
            buffer.writeBytes(message)
            return raw.channel.writeAndFlush(buffer)
        }
        try await Task.sleep(for: .milliseconds(300))
        await raw.startReading()
        for write in writes { try await write.get() }
        let frames = try await raw.waitForFrames(count, timeout: .seconds(20))
        XCTAssertEqual(Set(frames.map(\.frame.callID)), Set((1...count).map(UInt64.init)))
        XCTAssertTrue(frames.allSatisfy { $0.frame.response.status.code == .ok })
        await raw.close()
        server.close()
    }

    func testCallIDZeroIsAProtocolViolation() async throws {
        let (server, port) = try await startServer()
        let raw = try await RawConnection.connect(port: port)
        try await raw.send(frame: try request(id: 0))
        try await raw.waitForClose()
        let goAway = try raw.receivedFrames().first?.frame.goAway
        XCTAssertEqual(goAway?.status.reason, "PROTOCOL_VIOLATION")
        XCTAssertTrue(goAway?.status.message.contains("call id 0") ?? false)
        server.close()
    }

    func testDuplicateInFlightCallIDIsAProtocolViolation() async throws {
        let (server, port) = try await startServer()
        let raw = try await RawConnection.connect(port: port)
        try await raw.send(frame: try request(id: 5, method: TestMethods.slow.fullName, text: "1000"))
        try await raw.send(frame: try request(id: 5, method: TestMethods.slow.fullName, text: "1000"))
        try await raw.waitForClose()
        XCTAssertEqual(try raw.receivedFrames().last?.frame.goAway.status.reason, "PROTOCOL_VIOLATION")
        server.close()
    }

    func testUnaskedPongIsIgnored() async throws {
        let (server, port) = try await startServer()
        let raw = try await RawConnection.connect(port: port)
        var pong = Cx_Wire_V1_Frame()
        pong.pong.data = 1
        try await raw.send(frame: pong)
        try await raw.send(frame: try request(id: 1, text: "still here"))
        let frames = try await raw.waitForFrames(1)
        XCTAssertEqual(try Cx_Wire_V1_EchoResponse(serializedBytes: frames[0].frame.response.payload).text, "still here")
        await raw.close()
        server.close()
    }

    func testResponseOverTheLimitIsRefusedNotSent() async throws {
        let (server, port) = try await startServer { $0.limits.maxMessageSize = 4_096 }
        let client = RPCClient(host: "127.0.0.1", port: port, configuration: .init(limits: .init(maxMessageSize: 1 << 20)))
        let error = await assertRPCError(.resourceExhausted) { try await client.call(TestMethods.big, echo("10000")) }
        XCTAssertTrue(error?.message.contains("over the 4096-byte message limit") ?? false, "\(String(describing: error))")
        // The connection is fine afterwards.
        let small = try await client.call(TestMethods.big, echo("100"))
        XCTAssertEqual(small.payload.count, 100)
        await client.close()
        server.close()
    }

    func testClientRefusesARequestOverItsLimitBeforeSending() async throws {
        let (server, port) = try await startServer()
        let client = RPCClient(host: "127.0.0.1", port: port, configuration: .init(limits: .init(maxMessageSize: 1_024)))
        var big = Cx_Wire_V1_EchoRequest()
        big.payload = Data(count: 2_000)
        await assertRPCError(.resourceExhausted) { try await client.call(Cx_Wire_V1_Echo.echo, big) }
        await client.close()
        server.close()
    }

    func testMetadataKeysReachTheHandlerLowercased() async throws {
        let (server, port) = try await startServer()
        let client = RPCClient(host: "127.0.0.1", port: port, configuration: .init(metadata: ["Authorization": "Bearer t"]))
        let seen = try await client.call(TestMethods.metadata, echo(""), options: .init(metadata: ["TraceParent": "00-abc", "x-id": "7"]))
        XCTAssertEqual(seen.text, "authorization=Bearer t\ntraceparent=00-abc\nx-id=7")
        await client.close()
        server.close()
    }

    func testGoAwayIsNotLostWhenTheClientHasSentMoreThanWasRead() async throws {
        // Closing right after the GoAway would reset a connection whose bytes
        // are still unread, and the reset makes the client's kernel discard
        // the GoAway before the client reads it.
        let (server, port) = try await startServer()
        for attempt in 0..<5 {
            let socket = try BlockingSocket(port: port)
            var junk: [UInt8] = [0x02, 0, 0, 0, 1, 0]  // reserved flag bit: a violation in the first frame
            junk += [UInt8](repeating: 0x55, count: 256 << 10)
            socket.sendAll(junk)
            try await Task.sleep(for: .milliseconds(50))  // the server answers and ends the connection meanwhile
            let (bytes, reset) = socket.readAll()
            socket.close()
            XCTAssertFalse(reset, "attempt \(attempt): connection reset")
            var buffer = ByteBuffer(bytes: bytes)
            let message = try FrameParser().nextMessage(from: &buffer)
            XCTAssertEqual(try message.map { try Cx_Wire_V1_Frame(buffer: $0) }?.goAway.status.reason, "PROTOCOL_VIOLATION", "attempt \(attempt)")
        }
        server.close()
    }
}
