import CXModel
import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// Calls the methods of one CX server.
///
/// ```swift
/// let client = RPCClient(host: "127.0.0.1", port: 7101)
/// let health = try await client.call(Cx_Wire_V1_Health.check, .init())
/// ```
///
/// Keeps a small pool of connections (``RPCClientConfiguration/connections``),
/// each carrying many calls at once. Connects lazily, reconnects with backoff,
/// and every failure reaches the caller as an ``RPCError``: `UNAVAILABLE` when
/// the peer cannot be reached, `DEADLINE_EXCEEDED` past the call's timeout,
/// `CANCELLED` when the calling task is cancelled, or the status the server
/// answered with.
public final class RPCClient: Sendable {
    public let host: String
    public let port: Int
    public let configuration: RPCClientConfiguration
    private let pool: [ClientConnection]
    /// The pool's connections grouped by event loop: a caller running on a
    /// loop (Swift Concurrency on NIO's loops) uses a connection of its own
    /// loop, so writing the request and resuming on the answer hop no thread.
    private let poolByLoop: [LoopConnections]
    private let nextConnection = Atomic<Int>(0)

    public init(
        host: String,
        port: Int,
        configuration: RPCClientConfiguration = RPCClientConfiguration(),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.host = host
        self.port = port
        self.configuration = configuration
        // Connections go round the group's loops; those of one loop share its mark.
        let loops = (0..<max(1, configuration.connections)).map { _ in group.next() }
        var marks: [(loop: any EventLoop, mark: AnsweringMark, count: Int)] = []
        var pool: [ClientConnection] = []
        for loop in loops {
            let slot: AnsweringMark.Slot
            if let index = marks.firstIndex(where: { $0.loop === loop }) {
                slot = AnsweringMark.Slot(owner: marks[index].mark, index: marks[index].count)
                marks[index].count += 1
            } else {
                slot = AnsweringMark.Slot(owner: AnsweringMark(), index: 0)
                marks.append((loop, slot.owner, 1))
            }
            pool.append(ClientConnection(host: host, port: port, configuration: configuration, eventLoop: loop, answering: slot))
        }
        self.pool = pool
        poolByLoop = marks.map { entry in
            LoopConnections(loop: entry.loop, connections: pool.filter { $0.eventLoop === entry.loop }, answering: entry.mark)
        }
    }

    /// A client for `"host:port"` (`[::1]:7101` for IPv6).
    ///
    /// - Throws: ``RPCError`` `INVALID_ARGUMENT` naming the address when it
    ///   is not of that form.
    public convenience init(
        address: String,
        configuration: RPCClientConfiguration = RPCClientConfiguration(),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) throws {
        let (host, port) = try Self.parse(address: address)
        self.init(host: host, port: port, configuration: configuration, group: group)
    }

    /// Splits `"host:port"` or `"[v6]:port"`.
    public static func parse(address: String) throws -> (host: String, port: Int) {
        let invalid = RPCError.invalidArgument(field: "address", "\"\(address)\" is not host:port (for example 127.0.0.1:7101)")
        guard let colon = address.lastIndex(of: ":") else { throw invalid }
        var host = String(address[..<colon])
        guard let port = Int(address[address.index(after: colon)...]), (1...65_535).contains(port), !host.isEmpty else {
            throw invalid
        }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host, port)
    }

    /// Calls `method` with `request` and returns its response.
    ///
    /// - Throws: ``RPCError``, always.
    public func call<Request, Response>(
        _ method: MethodDescriptor<Request, Response>,
        _ request: Request,
        options: CallOptions = CallOptions()
    ) async throws -> Response {
        let payload = try Self.encode(request)
        let answer = try await call(method: method.fullName, payload: consume payload, options: options)
        return try Self.decode(Response.self, from: answer, peer: "\(host):\(port)")
    }

    /// Calls a method by its full name with an encoded request; returns the
    /// encoded response. For tools that choose the method at run time.
    ///
    /// - Throws: ``RPCError``, always.
    public func call(method: String, payload: Data, options: CallOptions = CallOptions()) async throws -> Data {
        let answer = try await call(method: method, payload: ByteBuffer(bytes: payload), options: options)
        return Data(answer.readableBytesView)
    }

    /// Calls `method` with `request` from an event loop, with no task: for
    /// code that lives on NIO's loops (a load generator keeping thousands of
    /// calls in flight, a channel handler). The future completes on the
    /// event loop of the connection the call went out on, which is `eventLoop`'s
    /// own when this client has a connection there.
    ///
    /// It fails with an ``RPCError``, as ``call(_:_:options:)`` throws; a
    /// call started this way cannot be cancelled, only time out.
    public func call<Request, Response>(
        _ method: MethodDescriptor<Request, Response>,
        _ request: Request,
        options: CallOptions = CallOptions(),
        on eventLoop: any EventLoop
    ) -> EventLoopFuture<Response> {
        let promise = eventLoop.makePromise(of: Response.self)
        call(method, request, options: options, on: eventLoop) { result in
            switch result {
            case .success(let response): promise.succeed(response)
            case .failure(let error): promise.fail(error)
            }
        }
        return promise.futureResult
    }

    /// Calls `method` with `request` from an event loop and hands the
    /// outcome to `completion`: the future API above without its future,
    /// for code that starts its next call from the last one's answer
    /// (`cx-bench wire`'s loop callers). A promise, its future and the
    /// callback list between them took about a tenth of such a caller's
    /// CPU per call.
    ///
    /// `completion` runs once, on the event loop of the connection the call
    /// went out on (`eventLoop`'s own when this client has a connection
    /// there), and never before this returns: a call that fails at once
    /// (too large, connection gone) is answered from a task on `eventLoop`,
    /// so a completion that calls again cannot recurse without bound. The
    /// error is always an ``RPCError``; the call cannot be cancelled, only
    /// time out.
    public func call<Request, Response>(
        _ method: MethodDescriptor<Request, Response>,
        _ request: Request,
        options: CallOptions = CallOptions(),
        on eventLoop: any EventLoop,
        completion: @escaping @Sendable (Result<Response, RPCError>) -> Void
    ) {
        let frame: (id: UInt64, ByteBuffer, NIODeadline)
        let connection: ClientConnection
        do {
            let payload = try Self.encode(request)
            connection = self.connection(preferring: eventLoop)
            frame = try self.frame(method: method.fullName, payload: consume payload, options: options, connection: connection)
        } catch {
            eventLoop.execute { completion(.failure(error)) }
            return
        }
        let waiter = ClientConnectionHandler.Waiter.callback(DecodingCallback(completion: completion, connection: connection))
        if let ready = connection.readyNow(), ready.channel.eventLoop.inEventLoop, ready.handler.value.takesCalls {
            ready.handler.value.startCall(id: frame.id, frame: frame.1, deadline: frame.2, waiter: waiter)
            return
        }
        // Not connected yet, called off the connection's loop, or the connection is closing (the
        // call fails there, after this returns): once connected, on its loop.
        connection.readyFuture().whenComplete { outcome in
            switch outcome {
            case .success(let ready):
                ready.channel.eventLoop.execute {
                    ready.handler.value.startCall(id: frame.id, frame: frame.1, deadline: frame.2, waiter: waiter)
                }
            case .failure(let error):
                // The future may have failed already (a connect backing off), so this may run inline.
                eventLoop.execute { completion(.failure(connection.unreachable(error))) }
            }
        }
    }

    /// Connects every connection of the pool now, all at once, instead of
    /// each at its first call: a service can learn at startup that a peer
    /// is unreachable, and its first calls do not wait for connects.
    ///
    /// Every connect starts before this suspends, so the server accepts
    /// them back to back and hands them to its loops in turn (8 and 8 of
    /// 16 over two loops in every run checked).
    ///
    /// - Throws: ``RPCError`` UNAVAILABLE naming the peer when a
    ///   connection cannot be made (the others stay connected).
    public func connect() async throws(RPCError) {
        let connecting = pool.map { $0.readyFuture() }
        for (connection, future) in zip(pool, connecting) {
            _ = try await connection.wait(for: future)
        }
    }

    /// The core of every call: the OK response's payload, or the error.
    func call(method: String, payload: consuming ByteBuffer, options: CallOptions) async throws -> ByteBuffer {
        if Task.isCancelled { throw RPCError(code: .cancelled, message: "call cancelled by the caller") }
        let connection = connection(preferring: nil)
        let (id, frame, deadline) = try frame(method: method, payload: consume payload, options: options, connection: connection)
        let ready = try await connection.ready()
        let eventLoop = ready.channel.eventLoop
        let handler = ready.handler
        return try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { continuation in
                if eventLoop.inEventLoop {
                    handler.value.startCall(id: id, frame: frame, deadline: deadline, waiter: .task(continuation))
                } else {
                    eventLoop.execute {
                        handler.value.startCall(id: id, frame: frame, deadline: deadline, waiter: .task(continuation))
                    }
                }
            }
        } onCancel: {
            eventLoop.execute { handler.value.cancelCall(id: id) }
        }
    }

    /// The connection for the next call: one on the caller's event loop
    /// when there is one (Swift Concurrency on NIO's loops, or `eventLoop`),
    /// so writing the request and taking the answer hop no thread.
    ///
    /// The first call started on the loop while one of its connections is
    /// handing out an answer goes out on that connection (see ``AnsweringMark``).
    private func connection(preferring eventLoop: (any EventLoop)?) -> ClientConnection {
        let local = poolByLoop.first { entry in
            if let eventLoop { entry.loop === eventLoop } else { entry.loop.inEventLoop }
        }
        if let local {
            // Only on the loop's own thread: its mark is set while that thread hands out an answer.
            if local.loop.inEventLoop, let answering = local.answering.take() {
                return local.connections[answering]
            }
            return local.next()
        }
        return pool[nextConnection.add(1, ordering: .relaxed).newValue % pool.count]
    }

    /// Checks the request's size and writes its frame, with a new call id
    /// of `connection`'s.
    ///
    /// `payload` is consumed: when it was serialized with room in front
    /// (``RPCClient/encode(_:)``) and nothing else holds it, the envelope is
    /// written into that room and the payload is not copied.
    private func frame(
        method: String, payload: consuming ByteBuffer, options: CallOptions, connection: ClientConnection
    ) throws(RPCError) -> (id: UInt64, frame: ByteBuffer, deadline: NIODeadline) {
        // The limit covers the whole frame; the envelope around the payload
        // is the method, the metadata and a few dozen bytes of framing.
        let envelope = method.utf8.count + options.metadata.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count + 8 }
            + configuration.metadata.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count + 8 } + 64
        if payload.readableBytes + envelope > configuration.limits.maxMessageSize {
            throw RPCError(
                code: .resourceExhausted,
                message: "request of \(payload.readableBytes) bytes is over the \(configuration.limits.maxMessageSize)-byte message limit (the frame's envelope counts too); nothing was sent")
        }
        let timeout = options.timeout ?? configuration.defaultTimeout
        let metadata = configuration.metadata.isEmpty
            ? options.metadata : configuration.metadata.merging(options.metadata) { _, call in call }
        let id = connection.nextCallID()
        var payload = consume payload
        let frame = FastFrames.requestFrame(
            callID: id, method: method, payload: &payload, timeoutMicros: UInt64(max(1, timeout.nanoseconds / 1_000)),
            metadata: metadata, allocator: Self.allocator)
        return (id, frame, NIODeadline.now() + timeout)
    }

    private static let allocator = ByteBufferAllocator()

    private static func encode<Request: CXMessage>(_ request: Request) throws(RPCError) -> ByteBuffer {
        do {
            return try request.serializedRequestBuffer()
        } catch {
            throw RPCError(code: .invalidArgument, message: "request: cannot be encoded as \(Request.protoMessageName): \(error)")
        }
    }

    fileprivate static func decode<Response: CXMessage>(
        _ type: Response.Type, from payload: ByteBuffer, peer: @autoclosure () -> String
    ) throws(RPCError) -> Response {
        do {
            return try Response(buffer: payload)
        } catch {
            throw RPCError(code: .internal, message: "response from \(peer()) is not a valid \(Response.protoMessageName): \(error)")
        }
    }

    /// Closes every connection; calls in flight fail with UNAVAILABLE.
    public func close() async {
        for connection in pool { await connection.close() }
    }
}

/// A callback-API call's waiter: decodes the answer into the caller's
/// response type and hands it over. Three words, kept inline in the waiter.
private struct DecodingCallback<Response: CXMessage>: ClientConnectionHandler.AnswerCallback {
    let completion: @Sendable (Result<Response, RPCError>) -> Void
    /// Names the peer when an answer does not decode.
    let connection: ClientConnection

    func answered(_ result: Result<ByteBuffer, RPCError>) {
        switch result {
        case .success(let answer):
            do throws(RPCError) {
                completion(.success(try RPCClient.decode(Response.self, from: answer, peer: "\(connection.host):\(connection.port)")))
            } catch {
                completion(.failure(error))
            }
        case .failure(let error):
            completion(.failure(error))
        }
    }
}

/// An ``RPCClient``'s connections on one event loop, in the order of their
/// ``AnsweringMark`` slots, and the turn of its calls.
private final class LoopConnections: Sendable {
    let loop: any EventLoop
    let connections: [ClientConnection]
    let answering: AnsweringMark
    /// A count of this loop's own: with one counter for the whole client,
    /// each loop saw every other value when two loops called in step, and
    /// its calls went to half of its connections.
    private let turn = Atomic<Int>(0)

    init(loop: any EventLoop, connections: [ClientConnection], answering: AnsweringMark) {
        self.loop = loop
        self.connections = connections
        self.answering = answering
    }

    /// The next connection in turn.
    func next() -> ClientConnection {
        connections[turn.add(1, ordering: .relaxed).newValue % connections.count]
    }
}
