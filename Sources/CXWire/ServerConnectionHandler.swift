import CXModel
import Foundation
import Logging
import NIOCore

/// Asks a connection to stop taking new calls, answer the ones it has, then close.
struct ServerDrainEvent: Sendable {}

/// The server side of one connection, alone in its pipeline: splits the
/// byte stream into `Frame`s (its ``FrameStream``), runs each request's
/// handler inline or as its own task, answers in whatever order handlers
/// finish, enforces deadlines and the per-connection call limit, and closes
/// the connection on a protocol violation, after idleness, or once drained.
///
/// It asks for a flush after every frame; its ``FrameStream`` makes that
/// one flush per socket read (or per event-loop tick, outside reads).
///
/// Lives on the channel's event loop; handler tasks come back to it with
/// their results through `NIOLoopBound`.
final class ServerConnectionHandler: ChannelInboundHandler, FrameStreamOwner {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private struct Call {
        var task: Task<Void, Never>?
        let deadline: NIODeadline
        let timeout: TimeAmount
        /// Tells this call from a later one that reuses its id after it was
        /// cancelled or expired while its handler ran on.
        let generation: UInt64
    }
    private var nextGeneration: UInt64 = 0

    private let router: RPCRouter
    private let configuration: RPCServerConfiguration
    private let stats: ServerStats
    private let logger: Logger
    /// Set when the connection was accepted over the connection limit.
    private let rejection: RPCError?

    private(set) var context: ChannelHandlerContext?
    var stream: FrameStream
    private var calls: [UInt64: Call] = [:]
    private var peer = "unknown"
    private var draining = false
    private var goAwaySent = false
    private var closing = false
    private var deadlineTimer = DeadlineTimer()
    /// When bytes last arrived; with no calls in flight for the idle
    /// timeout after them, the connection is closed. Every frame of one
    /// socket read takes it for its deadline too, instead of reading the
    /// clock per frame.
    private var lastRead = NIODeadline.now()
    private var idleCheck: Scheduled<Void>?
    /// The method of this connection's last routed call and its route: the
    /// next call of the same method skips making its name and the router's
    /// hash lookup (see ``FastFrames/parseRequest(_:knownMethod:)``).
    private var lastMethod = ""
    private var lastRoute: RPCRouter.Route?

    init(router: RPCRouter, configuration: RPCServerConfiguration, stats: ServerStats, logger: Logger, rejection: RPCError?) {
        self.router = router
        self.configuration = configuration
        self.stats = stats
        self.logger = logger
        self.rejection = rejection
        stream = FrameStream(limits: configuration.limits)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        peer = context.channel.remoteAddress.map(Self.describe) ?? "unknown"
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        if let rejection {
            logger.warning("refusing connection", metadata: ["peer": "\(peer)", "reason": "\(rejection.message)"])
            goAway(rejection, context: context)
        } else {
            scheduleIdleCheck(context: context)
        }
        context.fireChannelActive()
    }

    /// A periodic check (a quarter of the idle timeout), not a timer reset
    /// per frame: reading stays cheap.
    private func scheduleIdleCheck(context: ChannelHandlerContext) {
        guard let idle = configuration.idleTimeout else { return }
        let period = TimeAmount.nanoseconds(max(idle.nanoseconds / 4, 10_000_000))
        idleCheck = context.eventLoop.assumeIsolated().scheduleTask(in: period) {
            guard let context = self.context, !self.closing else { return }
            if self.calls.isEmpty && NIODeadline.now() - self.lastRead >= idle {
                self.goAway(RPCError(code: .unavailable, message: "connection idle; closing"), context: context)
            } else {
                self.scheduleIdleCheck(context: context)
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let truncated = stream.end() {
            logger.debug("client closed inside a frame", metadata: ["peer": "\(peer)", "error": "\(truncated)"])
        }
        for (_, call) in calls { call.task?.cancel() }
        idleCheck?.cancel()
        idleCheck = nil
        deadlineTimer.cancel()
        stats.callsFinished(calls.count)
        calls.removeAll()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }  // what follows a GoAway is not read, nor kept
        stream.receive(unwrapInboundIn(data))
        lastRead = .now()
        // `closing` is checked again after each frame: one may end the
        // connection (a protocol violation), and what follows is not read.
        while !closing {
            let message: ByteBuffer
            do {
                guard let next = try stream.nextMessage() else { return }
                message = next
            } catch {
                protocolViolation(error, context: context)
                return
            }
            frameRead(message, context: context)
        }
    }

    private func frameRead(_ message: ByteBuffer, context: ChannelHandlerContext) {
        if let request = FastFrames.parseRequest(message, knownMethod: lastMethod) {
            guard request.callID != 0 else {
                protocolViolation(FrameError.malformedEnvelope("call id 0 is reserved for connection frames"), context: context)
                return
            }
            startCall(
                id: request.callID, method: request.method, payload: request.payload, timeoutMicros: request.timeoutMicros,
                metadata: request.metadata, context: context)
            return
        }
        // Any other frame, or a request in a layout the fast path leaves to swift-protobuf.
        let frame: Cx_Wire_V1_Frame
        do {
            frame = try Cx_Wire_V1_Frame(buffer: message)
        } catch {
            protocolViolation(FrameError.malformedEnvelope("\(error)"), context: context)
            return
        }
        switch frame.body {
        case .request(let request):
            guard frame.callID != 0 else {
                protocolViolation(FrameError.malformedEnvelope("call id 0 is reserved for connection frames"), context: context)
                return
            }
            startCall(
                id: frame.callID, method: request.method, payload: ByteBuffer(bytes: request.payload),
                timeoutMicros: request.timeoutMicros, metadata: request.metadata, context: context)
        case .cancel:
            cancelCall(id: frame.callID)
        case .ping(let ping):
            var pong = Cx_Wire_V1_Frame()
            pong.pong.data = ping.data
            send(pong, context: context)
            flush(context: context)
        case .pong:
            break  // an answer to nothing we sent; harmless
        case .response, .goAway, .none:
            // A client never sends these; the stream is not what we think it is.
            protocolViolation(
                FrameError.malformedEnvelope("a client may send request, cancel, ping or pong; got \(Self.kind(of: frame))"),
                context: context)
        }
    }

    /// Back-pressure: while the client does not read its answers and they
    /// pile up past the channel's high-water mark, stop reading its requests.
    func channelWritabilityChanged(context: ChannelHandlerContext) {
        context.channel.setOption(.autoRead, value: context.channel.isWritable).whenFailure { _ in }
        context.fireChannelWritabilityChanged()
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushAtReadComplete(context: context)
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if closing { return }  // we are closing; what is left in the stream no longer matters
        logger.debug("connection error", metadata: ["peer": "\(peer)", "error": "\(error)"])
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case is ServerDrainEvent:
            guard !draining else { return }
            draining = true
            if calls.isEmpty {
                goAway(RPCError(code: .unavailable, message: "server is shutting down"), context: context)
            } else {
                // Tell the client now so it sends new calls elsewhere; close once the last call is answered.
                var frame = Cx_Wire_V1_Frame()
                frame.goAway.status = RPCError(code: .unavailable, message: "server is shutting down").wireStatus
                send(frame, context: context)
                flush(context: context)
                goAwaySent = true
            }
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    // MARK: Calls

    private func startCall(
        id: UInt64, method: String, payload: ByteBuffer, timeoutMicros: UInt64, metadata: [String: String],
        context: ChannelHandlerContext
    ) {
        if !calls.isEmpty && calls[id] != nil {
            protocolViolation(
                FrameError.malformedEnvelope("call id \(id) is already in flight on this connection"), context: context)
            return
        }
        if draining {
            respondError(id: id, status: RPCError(code: .unavailable, message: "server is shutting down; call not run, safe to retry"), context: context)
            return
        }
        if calls.count >= configuration.maxConcurrentCallsPerConnection {
            respondError(
                id: id,
                status: RPCError(
                    code: .resourceExhausted,
                    message: "connection has \(calls.count) calls in flight, the limit is \(configuration.maxConcurrentCallsPerConnection); call not run"),
                context: context)
            return
        }
        var metadata = metadata
        if metadata.keys.contains(where: { key in key.utf8.contains { $0 >= 0x41 && $0 <= 0x5a } }) {
            metadata = Dictionary(metadata.map { ($0.key.lowercased(), $0.value) }) { first, _ in first }
        }
        let route: RPCRouter.Route?
        if let known = lastRoute, method == lastMethod {
            route = known
        } else {
            route = router.route(for: method)
            if let route {
                lastMethod = method
                lastRoute = route
            }
        }
        if let accessControl = configuration.accessControl,
            let refusal = accessControl.check(
                method: method, access: route?.descriptor.access ?? .read, metadata: metadata,
                server: configuration.name)
        {
            respondError(id: id, status: refusal, context: context)
            return
        }
        guard let route else {
            respondError(
                id: id,
                status: RPCError(
                    code: .unimplemented,
                    message: "method \"\(method)\" is not served by \(configuration.name); the Reflection service lists what is"),
                context: context)
            return
        }

        let timeout: TimeAmount
        if timeoutMicros == 0 {
            timeout = min(configuration.defaultTimeout, configuration.maxTimeout)
        } else {
            timeout = min(.microseconds(Int64(clamping: timeoutMicros)), configuration.maxTimeout)
        }
        let deadline = lastRead + timeout
        let serverContext = ServerContext(
            callID: id, method: method, metadata: metadata, deadline: deadline, peer: peer,
            logger: logger)

        let handle: @Sendable (ByteBuffer, ServerContext) async throws -> ByteBuffer
        switch route.handler {
        case .sync(let synchronous):
            // Over before anyone could ask: not counted in flight (nor
            // counted at all, two atomic operations on a line every loop
            // shares).
            let response: ByteBuffer
            do {
                response = try synchronous(payload, serverContext)
            } catch {
                respondError(id: id, status: Self.status(for: error, callID: id, logger: serverContext.logger), context: context)
                return
            }
            respondOK(id: id, payload: consume response, context: context)
            return
        case .async(let asynchronous):
            handle = asynchronous
        }
        stats.callStarted()

        let eventLoop = context.eventLoop
        let loopBound = NIOLoopBound(self, eventLoop: eventLoop)
        nextGeneration += 1
        let generation = nextGeneration
        calls[id] = Call(task: nil, deadline: deadline, timeout: timeout, generation: generation)
        // The handler starts on this event loop thread and runs until it
        // first suspends. A handler that never suspends (echo, a cache hit)
        // is answered right here, with no thread hop either way; one that
        // does suspend resumes on the global executor and hops back once.
        let task = Task.immediate {
            let result: Result<ByteBuffer, any Error>
            do {
                result = .success(try await handle(payload, serverContext))
            } catch {
                result = .failure(error)
            }
            if eventLoop.inEventLoop {
                loopBound.value.finishCall(id: id, generation: generation, result: result, context: serverContext)
            } else {
                eventLoop.execute { loopBound.value.finishCall(id: id, generation: generation, result: result, context: serverContext) }
            }
        }
        guard calls[id] != nil else { return }  // answered already
        calls[id]?.task = task
        armDeadlineTimer(for: deadline, context: context)
    }

    private func armDeadlineTimer(for deadline: NIODeadline, context: ChannelHandlerContext) {
        deadlineTimer.arm(for: deadline, on: context.eventLoop.assumeIsolated()) {
            self.deadlineTimer.fired()
            self.expireDueCalls()
        }
    }

    /// Answers DEADLINE_EXCEEDED to every call whose deadline has passed,
    /// cancels their handlers, and re-arms the timer for the next deadline.
    private func expireDueCalls() {
        guard let context else { return }
        let (expired, next) = DeadlineTimer.takeExpired(from: &calls, now: .now(), deadline: \.deadline)
        for (id, call) in expired {
            call.task?.cancel()
            stats.callsFinished(1)
            respondError(
                id: id,
                status: RPCError(
                    code: .deadlineExceeded,
                    message: "deadline of \(Self.describe(call.timeout)) passed before the call finished"),
                context: context)
        }
        if let next { armDeadlineTimer(for: next, context: context) }
        if draining && calls.isEmpty {
            goAway(RPCError(code: .unavailable, message: "server is shutting down"), context: context)
        }
    }

    private func finishCall(id: UInt64, generation: UInt64, result: Result<ByteBuffer, any Error>, context serverContext: ServerContext) {
        // Gone when the deadline fired, the client cancelled, or the connection closed first.
        guard calls[id]?.generation == generation, context != nil else { return }
        calls[id] = nil
        stats.callsFinished(1)
        answer(id: id, result: result, context: serverContext)
        guard let context else { return }
        if draining && calls.isEmpty {
            goAway(RPCError(code: .unavailable, message: "server is shutting down"), context: context)
        }
    }

    /// Sends a handler's outcome: its response, or the status its error stands for.
    private func answer(id: UInt64, result: consuming Result<ByteBuffer, any Error>, context serverContext: ServerContext) {
        guard let context else { return }
        switch consume result {
        case .success(let payload):
            respondOK(id: id, payload: payload, context: context)
        case .failure(let error):
            respondError(id: id, status: Self.status(for: error, callID: id, logger: serverContext.logger), context: context)
        }
    }

    private func cancelCall(id: UInt64) {
        guard let call = calls.removeValue(forKey: id) else { return }
        call.task?.cancel()
        stats.callsFinished(1)
        if draining && calls.isEmpty, let context {
            goAway(RPCError(code: .unavailable, message: "server is shutting down"), context: context)
        }
    }

    /// The status a handler's error is answered with. Errors that are not
    /// ``RPCErrorConvertible`` are logged in full and answered INTERNAL.
    static func status(for error: any Error, callID: UInt64, logger: Logger) -> RPCError {
        if let convertible = error as? any RPCErrorConvertible {
            return convertible.rpcError
        }
        if error is CancellationError {
            return RPCError(code: .cancelled, message: "call cancelled")
        }
        logger.error("handler failed", metadata: ["error": "\(String(reflecting: error))"])
        return RPCError(code: .internal, message: "internal error; the server's log has the details under call_id \(callID)")
    }

    /// Answers OK with `payload`, or RESOURCE_EXHAUSTED when it is over the message limit.
    /// `payload` is consumed: held nowhere else, its envelope is written
    /// into the room in front of it (see ``FastFrames/responseFrame(callID:payload:)``).
    private func respondOK(id: UInt64, payload: consuming ByteBuffer, context: ChannelHandlerContext) {
        guard payload.readableBytes + Self.responseEnvelope <= configuration.limits.maxMessageSize else {
            logger.error("response over the message limit", metadata: [
                "call_id": "\(id)", "bytes": "\(payload.readableBytes)", "limit": "\(configuration.limits.maxMessageSize)",
            ])
            respondError(
                id: id,
                status: RPCError(
                    code: .resourceExhausted,
                    message: "response of \(payload.readableBytes) bytes is over the \(configuration.limits.maxMessageSize)-byte message limit; ask for less (a smaller page)"),
                context: context)
            return
        }
        write(FastFrames.responseFrame(callID: id, payload: &payload), context: context)
        flush(context: context)
    }

    private func respondError(id: UInt64, status: RPCError, context: ChannelHandlerContext) {
        var frame = Cx_Wire_V1_Frame()
        frame.callID = id
        frame.response.status = status.wireStatus
        send(frame, context: context)
        flush(context: context)
    }

    /// Writes a frame other than an OK response (those take ``FastFrames``).
    private func send(_ frame: Cx_Wire_V1_Frame, context: ChannelHandlerContext, promise: EventLoopPromise<Void>? = nil) {
        do {
            write(try frame.framedBuffer(), context: context, promise: promise)
        } catch {
            // Only a message swift-protobuf cannot encode gets here: none of ours.
            logger.error("cannot encode a frame", metadata: ["peer": "\(peer)", "error": "\(error)"])
            promise?.fail(error)
        }
    }

    private func protocolViolation(_ error: FrameError, context: ChannelHandlerContext) {
        logger.warning("closing connection: protocol violation", metadata: ["peer": "\(peer)", "error": "\(error)"])
        let code: RPCCode = switch error {
        case .messageTooLarge, .inflatedTooLarge: .resourceExhausted
        default: .invalidArgument
        }
        goAway(RPCError(code: code, message: error.description, reason: "PROTOCOL_VIOLATION"), context: context)
    }

    /// Sends GoAway, then shuts down the sending side once it is written and
    /// closes fully when the client does (or after a linger period).
    ///
    /// Closing outright could lose what was just sent: if the client's bytes
    /// are still unread here, the kernel answers the close with a reset, and
    /// the client's kernel drops the GoAway and any answers it had not read.
    /// Calls still in flight are cancelled.
    private func goAway(_ error: RPCError, context: ChannelHandlerContext) {
        guard !closing else { return }
        closing = true
        for (_, call) in calls { call.task?.cancel() }
        stats.callsFinished(calls.count)
        calls.removeAll()
        let written: EventLoopFuture<Void>
        if draining && goAwaySent {
            written = context.eventLoop.makeSucceededVoidFuture()  // the client was told when draining began
            // The last answers go out now, not at the end of the tick: the
            // sending side is shut down as soon as this returns.
            writeGathered(context: context)
            context.flush()
        } else {
            var frame = Cx_Wire_V1_Frame()
            frame.goAway.status = error.wireStatus
            let promise = context.eventLoop.makePromise(of: Void.self)
            send(frame, context: context, promise: promise)
            flush(context: context)
            written = promise.futureResult
        }
        written.assumeIsolated().whenComplete { _ in
            guard let context = self.context else { return }
            context.close(mode: .output, promise: nil)
            context.eventLoop.assumeIsolated().scheduleTask(in: Self.closeLinger) {
                self.context?.close(promise: nil)
            }
        }
    }

    /// Room a Response frame takes around its payload (call id, status,
    /// tags and lengths), so a payload within it of the limit is refused
    /// here rather than breaking the client's connection.
    static let responseEnvelope = 32

    /// How long a connection that was sent GoAway waits for the client to close.
    static let closeLinger = TimeAmount.seconds(2)

    // MARK: Descriptions

    static func describe(_ address: SocketAddress) -> String {
        if let ip = address.ipAddress, let port = address.port {
            return address.protocol == .inet6 ? "[\(ip)]:\(port)" : "\(ip):\(port)"
        }
        return address.description
    }

    static func describe(_ amount: TimeAmount) -> String {
        let micros = amount.nanoseconds / 1_000
        if micros % 1_000_000 == 0 { return "\(micros / 1_000_000)s" }
        if micros % 1_000 == 0 { return "\(micros / 1_000)ms" }
        return "\(micros)µs"
    }

    static func kind(of frame: Cx_Wire_V1_Frame) -> String {
        switch frame.body {
        case .request: "request"
        case .response: "response"
        case .cancel: "cancel"
        case .ping: "ping"
        case .pong: "pong"
        case .goAway: "go_away"
        case .none: "an empty frame"
        }
    }
}
