import CXModel
import NIOCore

/// What the client writes into a connection's pipeline.
enum ClientOutbound: Sendable {
    /// Start call `id`; complete `response` with the server's answer, or
    /// fail it with an ``RPCError`` (deadline, connection lost).
    case call(id: UInt64, request: Cx_Wire_V1_Request, deadline: NIODeadline, response: EventLoopPromise<Cx_Wire_V1_Response>)
    /// The caller gave up on call `id` (its task was cancelled).
    case cancel(id: UInt64)
}

/// The client side of one connection: keeps the calls in flight by id,
/// matches responses to them in whatever order they come, fails each at its
/// deadline, and fails all of them if the connection ends.
final class ClientConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = Never
    typealias OutboundIn = ClientOutbound
    typealias OutboundOut = Cx_Wire_V1_Frame

    private struct Pending {
        let promise: EventLoopPromise<Cx_Wire_V1_Response>
        let timer: Scheduled<Void>
    }

    private let peer: String
    private let onGoAway: @Sendable (RPCError) -> Void
    private var pending: [UInt64: Pending] = [:]
    private var context: ChannelHandlerContext?
    private var closedError: RPCError?
    private var flushScheduled = false

    init(peer: String, onGoAway: @escaping @Sendable (RPCError) -> Void) {
        self.peer = peer
        self.onGoAway = onGoAway
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .call(let id, let request, let deadline, let response):
            if let closedError {
                response.fail(closedError)
                promise?.fail(closedError)
                return
            }
            let timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [weak self] in
                guard let self else { return }
                self.expire(id: id)
            }
            pending[id] = Pending(promise: response, timer: timer)
            var frame = Cx_Wire_V1_Frame()
            frame.callID = id
            frame.request = request
            context.write(wrapOutboundOut(frame), promise: promise)
        case .cancel(let id):
            guard let call = pending.removeValue(forKey: id) else {
                promise?.succeed()
                return
            }
            call.timer.cancel()
            call.promise.fail(RPCError(code: .cancelled, message: "call cancelled by the caller"))
            var frame = Cx_Wire_V1_Frame()
            frame.callID = id
            frame.cancel = Cx_Wire_V1_Cancel()
            context.write(wrapOutboundOut(frame), promise: promise)
        }
    }

    /// Writes that arrive in the same event-loop tick share one flush.
    func flush(context: ChannelHandlerContext) {
        guard !flushScheduled else { return }
        flushScheduled = true
        context.eventLoop.assumeIsolated().execute { [weak self] in
            guard let self, let context = self.context else { return }
            self.flushScheduled = false
            context.flush()
        }
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
            call.timer.cancel()
            call.promise.succeed(response)
        case .goAway(let goAway):
            onGoAway(RPCError(wireStatus: goAway.status))
        case .pong, .ping:
            break
        case .request, .cancel, .none:
            fail(context: context, RPCError(code: .internal, message: "\(peer) sent a frame only a client may send"))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        let error = closedError ?? RPCError(
            code: .unavailable, message: "connection to \(peer) closed before the call was answered")
        closedError = error
        let calls = pending
        pending.removeAll()
        for (_, call) in calls {
            call.timer.cancel()
            call.promise.fail(error)
        }
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

    private func expire(id: UInt64) {
        guard let call = pending.removeValue(forKey: id) else { return }
        call.promise.fail(RPCError(code: .deadlineExceeded, message: "no answer from \(peer) before the deadline"))
        guard let context else { return }
        var frame = Cx_Wire_V1_Frame()
        frame.callID = id
        frame.cancel = Cx_Wire_V1_Cancel()
        context.write(wrapOutboundOut(frame), promise: nil)
        flush(context: context)
    }
}
