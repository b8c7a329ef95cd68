import CXModel
import NIOCore

/// The client side of one connection: keeps the calls in flight by id,
/// matches responses to them in whatever order they come, fails each at its
/// deadline, and fails all of them if the connection ends.
///
/// It flushes after every frame; ``FlushCoalescer`` makes that one
/// flush per event-loop tick.
///
/// Calls enter through ``startCall(id:request:deadline:continuation:)`` on
/// the channel's event loop, not through the pipeline: the caller's task is
/// resumed straight from `channelRead`, with no promise or future between.
final class ClientConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = Cx_Wire_V1_Frame
    typealias Continuation = UnsafeContinuation<Cx_Wire_V1_Response, any Error>

    private struct Pending {
        let continuation: Continuation
        let deadline: NIODeadline
    }

    private let peer: String
    private let onGoAway: @Sendable (RPCError) -> Void
    private var pending: [UInt64: Pending] = [:]
    private var context: ChannelHandlerContext?
    /// Set once the connection is going or gone: new calls fail with it.
    private var closedError: RPCError?
    /// The server's GoAway: why calls unanswered at the close failed.
    private(set) var goAwayError: RPCError?
    /// Calls cancelled before their start reached this loop (the caller's
    /// cancel and start race from different threads); bounded.
    private var cancelledEarly: Set<UInt64> = []
    private var deadlineTimer = DeadlineTimer()

    init(peer: String, onGoAway: @escaping @Sendable (RPCError) -> Void) {
        self.peer = peer
        self.onGoAway = onGoAway
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        failAll(closedError ?? RPCError(code: .unavailable, message: "connection to \(peer) closed before the call was answered"))
    }

    /// Sends call `id`; `continuation` is resumed with the server's answer,
    /// or with an ``RPCError`` (deadline, connection lost). Event loop only.
    func startCall(id: UInt64, request: Cx_Wire_V1_Request, deadline: NIODeadline, continuation: Continuation) {
        guard let context, closedError == nil, goAwayError == nil else {
            let error = closedError ?? RPCError(
                code: .unavailable,
                message: "connection to \(peer) is \(goAwayError.map { "going away (\($0))" } ?? "closed"); call not sent, safe to retry")
            continuation.resume(throwing: error)
            return
        }
        if cancelledEarly.remove(id) != nil {
            continuation.resume(throwing: RPCError(code: .cancelled, message: "call cancelled by the caller"))
            return
        }
        pending[id] = Pending(continuation: continuation, deadline: deadline)
        armDeadlineTimer(for: deadline, context: context)
        var frame = Cx_Wire_V1_Frame()
        frame.callID = id
        frame.request = request
        context.write(wrapOutboundOut(frame), promise: nil)
        context.flush()
    }

    /// The caller gave up on call `id` (its task was cancelled). Event loop only.
    func cancelCall(id: UInt64) {
        guard let call = pending.removeValue(forKey: id) else {
            // Not started yet (or already answered): remember it for startCall.
            if cancelledEarly.count >= 1_024, let oldest = cancelledEarly.min() { cancelledEarly.remove(oldest) }
            cancelledEarly.insert(id)
            return
        }
        call.continuation.resume(throwing: RPCError(code: .cancelled, message: "call cancelled by the caller"))
        guard let context else { return }
        var frame = Cx_Wire_V1_Frame()
        frame.callID = id
        frame.cancel = Cx_Wire_V1_Cancel()
        context.write(wrapOutboundOut(frame), promise: nil)
        context.flush()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame: Cx_Wire_V1_Frame
        do {
            frame = try Cx_Wire_V1_Frame(buffer: unwrapInboundIn(data))
        } catch {
            fail(context: context, RPCError(code: .internal, message: "\(peer) sent a frame that is not a cx.wire.v1.Frame: \(error)"))
            return
        }
        switch frame.body {
        case .response(let response):
            guard let call = pending.removeValue(forKey: frame.callID) else { return }  // expired or cancelled
            call.continuation.resume(returning: response)
        case .goAway(let goAway):
            let error = RPCError(wireStatus: goAway.status)
            goAwayError = error
            onGoAway(error)
        case .ping(let ping):
            var pong = Cx_Wire_V1_Frame()
            pong.pong.data = ping.data
            context.write(wrapOutboundOut(pong), promise: nil)
            context.flush()
        case .pong:
            break
        case .request, .cancel, .none:
            fail(context: context, RPCError(code: .internal, message: "\(peer) sent a frame only a client may send"))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(closedError ?? goAwayError ?? RPCError(code: .unavailable, message: "connection to \(peer) closed before the call was answered"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let message = (error as? FrameError).map { "\(peer) sent a bad frame: \($0)" } ?? "connection to \(peer) failed: \(error)"
        fail(context: context, RPCError(code: .unavailable, message: message))
    }

    private func fail(context: ChannelHandlerContext, _ error: RPCError) {
        if closedError == nil { closedError = error }
        context.close(promise: nil)
    }

    private func failAll(_ error: RPCError) {
        if closedError == nil { closedError = error }
        deadlineTimer.cancel()
        let calls = pending
        pending.removeAll()
        for (_, call) in calls { call.continuation.resume(throwing: error) }
    }

    private func armDeadlineTimer(for deadline: NIODeadline, context: ChannelHandlerContext) {
        deadlineTimer.arm(for: deadline, on: context.eventLoop.assumeIsolated()) {
            self.deadlineTimer.fired()
            self.expireDueCalls()
        }
    }

    /// Fails every call past its deadline, tells the server to stop working
    /// on them, and re-arms the timer for the next deadline.
    private func expireDueCalls() {
        guard let context else { return }
        let (expired, next) = DeadlineTimer.takeExpired(from: &pending, now: .now(), deadline: \.deadline)
        for (id, call) in expired {
            call.continuation.resume(throwing: RPCError(code: .deadlineExceeded, message: "no answer from \(peer) before the deadline"))
            var frame = Cx_Wire_V1_Frame()
            frame.callID = id
            frame.cancel = Cx_Wire_V1_Cancel()
            context.write(wrapOutboundOut(frame), promise: nil)
        }
        if !expired.isEmpty { context.flush() }
        if let next { armDeadlineTimer(for: next, context: context) }
    }
}
