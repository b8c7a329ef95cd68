import CXModel
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import XCTest

@testable import CXWire

/// Methods only the tests serve: an echo that can be told to wait.
enum TestMethods {
    /// Waits the milliseconds written in `text`, then echoes.
    static let slow = MethodDescriptor<Cx_Wire_V1_EchoRequest, Cx_Wire_V1_EchoResponse>(service: "cx.test.v1.Test", method: "Slow")
    static let fail = MethodDescriptor<Cx_Wire_V1_EchoRequest, Cx_Wire_V1_EchoResponse>(service: "cx.test.v1.Test", method: "Fail")
    /// Like `fail`, but a synchronous handler (runs inline on the event loop).
    static let syncFail = MethodDescriptor<Cx_Wire_V1_EchoRequest, Cx_Wire_V1_EchoResponse>(service: "cx.test.v1.Test", method: "SyncFail")
    /// Answers with a payload of as many bytes as `text` says.
    static let big = MethodDescriptor<Cx_Wire_V1_EchoRequest, Cx_Wire_V1_EchoResponse>(service: "cx.test.v1.Test", method: "Big")
    /// Answers with the metadata it saw, as `key=value` lines, sorted.
    static let metadata = MethodDescriptor<Cx_Wire_V1_EchoRequest, Cx_Wire_V1_EchoResponse>(service: "cx.test.v1.Test", method: "Metadata")
    /// Answers with the caller's address: which connection the call came on.
    static let peer = MethodDescriptor<Cx_Wire_V1_EchoRequest, Cx_Wire_V1_EchoResponse>(service: "cx.test.v1.Test", method: "Peer")
}

/// Counts what the slow handler saw: how many ran to the end, how many were cancelled.
final class HandlerLog: Sendable {
    private let state = NIOLockedValueBox((finished: 0, cancelled: 0))
    var finished: Int { state.withLockedValue { $0.finished } }
    var cancelled: Int { state.withLockedValue { $0.cancelled } }
    func didFinish() { state.withLockedValue { $0.finished += 1 } }
    func wasCancelled() { state.withLockedValue { $0.cancelled += 1 } }
}

struct TestSecretError: Error { let secret = "password=hunter2" }

func makeTestRouter(log: HandlerLog) -> RPCRouter {
    var router = RPCRouter()
    router.register(TestMethods.slow) { request, _ in
        let milliseconds = Int(request.text) ?? 0
        do {
            try await Task.sleep(for: .milliseconds(milliseconds))
        } catch {
            log.wasCancelled()
            throw error
        }
        log.didFinish()
        var response = Cx_Wire_V1_EchoResponse()
        response.text = request.text
        response.payload = request.payload
        return response
    }
    router.register(TestMethods.fail) { request, _ in
        switch request.text {
        case "invalid": throw RPCError.invalidArgument(field: "text", "must not be \"invalid\"")
        default: throw TestSecretError()
        }
    }
    router.register(TestMethods.syncFail, synchronousHandler: { request, _ in
        switch request.text {
        case "invalid": throw RPCError.invalidArgument(field: "text", "must not be \"invalid\"")
        case "ok": return Cx_Wire_V1_EchoResponse.with { $0.text = "fine" }
        default: throw TestSecretError()
        }
    })
    router.register(TestMethods.big) { request, _ in
        var response = Cx_Wire_V1_EchoResponse()
        response.payload = Data(repeating: 0x62, count: Int(request.text) ?? 0)
        return response
    }
    router.register(TestMethods.metadata) { _, context in
        var response = Cx_Wire_V1_EchoResponse()
        response.text = context.metadata.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: "\n")
        return response
    }
    router.register(TestMethods.peer, synchronousHandler: { _, context in
        Cx_Wire_V1_EchoResponse.with { $0.text = context.peer }
    })
    return router
}

/// A started server on 127.0.0.1 and a free port, with the test methods.
func startServer(
    _ configure: (inout RPCServerConfiguration) -> Void = { _ in },
    log: HandlerLog = HandlerLog()
) async throws -> (RPCServer, Int) {
    var configuration = RPCServerConfiguration(name: "test", host: "127.0.0.1", port: 0)
    configure(&configuration)
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    let server = RPCServer(configuration: configuration, router: makeTestRouter(log: log), logger: logger)
    try await server.start()
    return (server, server.localAddress!.port!)
}

func echo(_ text: String) -> Cx_Wire_V1_EchoRequest {
    var request = Cx_Wire_V1_EchoRequest()
    request.text = text
    return request
}

/// A bare TCP connection that sends whatever bytes a test wants and keeps
/// what comes back, to play a misbehaving client.
final class RawConnection: Sendable {
    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let received = NIOLockedValueBox(ByteBuffer())
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var incoming = unwrapInboundIn(data)
            received.withLockedValue { _ = $0.writeBuffer(&incoming) }
        }
    }

    let channel: any Channel
    private let collector: Collector

    private init(channel: any Channel, collector: Collector) {
        self.channel = channel
        self.collector = collector
    }

    /// - Parameter autoRead: false leaves what the server sends unread in the
    ///   socket until ``startReading()``, like a client busy writing.
    static func connect(port: Int, autoRead: Bool = true) async throws -> RawConnection {
        let collector = Collector()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.autoRead, value: autoRead)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return RawConnection(channel: channel, collector: collector)
    }

    func startReading() async {
        try? await channel.setOption(.autoRead, value: true).get()
    }

    func send(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    func send(frame: Cx_Wire_V1_Frame, flags: UInt8 = 0) async throws {
        let message: [UInt8] = try frame.serializedBytes()
        var buffer = ByteBuffer()
        buffer.writeInteger(flags)
        buffer.writeInteger(UInt32(message.count))
        buffer.writeBytes(message)
        try await channel.writeAndFlush(buffer)
    }

    /// Waits until the server closes the connection.
    func waitForClose(timeout: Duration = .seconds(5)) async throws {
        let closed = channel.closeFuture
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await closed.get() }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw RPCError(code: .deadlineExceeded, message: "connection still open after \(timeout)")
            }
            try await group.next()
            group.cancelAll()
        }
    }

    /// Every whole frame received so far.
    func receivedFrames() throws -> [(flags: UInt8, frame: Cx_Wire_V1_Frame)] {
        var buffer = collector.received.withLockedValue { $0 }
        var frames: [(UInt8, Cx_Wire_V1_Frame)] = []
        while let flags = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
            let message = try FrameParser().nextMessage(from: &buffer)
        {
            frames.append((flags, try Cx_Wire_V1_Frame(buffer: message)))
        }
        return frames
    }

    /// Waits for `count` frames.
    func waitForFrames(_ count: Int, timeout: Duration = .seconds(5)) async throws -> [(flags: UInt8, frame: Cx_Wire_V1_Frame)] {
        let start = ContinuousClock.now
        while ContinuousClock.now - start < timeout {
            let frames = try receivedFrames()
            if frames.count >= count { return frames }
            try await Task.sleep(for: .milliseconds(5))
        }
        XCTFail("expected \(count) frames, got \(try receivedFrames().count)")
        return try receivedFrames()
    }

    func close() async { try? await channel.close() }
}

extension XCTestCase {
    /// Asserts `body` throws an ``RPCError`` with `code`; returns it.
    @discardableResult
    func assertRPCError<T>(
        _ code: RPCCode,
        file: StaticString = #filePath,
        line: UInt = #line,
        _ body: () async throws -> T
    ) async -> RPCError? {
        do {
            _ = try await body()
            XCTFail("expected \(code), the call succeeded", file: file, line: line)
        } catch let error as RPCError {
            XCTAssertEqual(error.code, code, "\(error)", file: file, line: line)
            return error
        } catch {
            XCTFail("expected RPCError \(code), got \(error)", file: file, line: line)
        }
        return nil
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A plain blocking socket: writes everything first and reads only when
/// asked, the way a simple client in any language behaves.
struct BlockingSocket {
    let fd: Int32

    init(port: Int) throws {
        #if canImport(Glibc)
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw RPCError(code: .unavailable, message: "connect failed: errno \(errno)") }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Sends as much of `bytes` as the peer takes; stops at the first error.
    func sendAll(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent <= 0 { return }
            offset += sent
        }
    }

    /// Everything until end-of-stream, a reset, or the 5 s timeout.
    func readAll() -> (bytes: [UInt8], reset: Bool) {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                out += chunk[..<count]
            } else {
                return (out, count < 0 && errno == ECONNRESET)
            }
        }
    }

    func close() { _ = Glibc.close(fd) }
}
