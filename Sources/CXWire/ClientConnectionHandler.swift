import CXModel
import NIOCore

/// The client side of one connection, alone in its pipeline: splits the
/// byte stream into `Frame`s (its ``FrameStream``), keeps the calls in
/// flight by id, matches responses to them in whatever order they come,
/// fails each at its deadline, and fails all of them if the connection ends.
///
/// It asks for a flush after every frame; its ``FrameStream`` makes that
/// one flush per socket read (or per event-loop tick, outside reads).
///
/// Calls enter through ``startCall(id:frame:deadline:waiter:)`` on the
/// channel's event loop, not through the pipeline: the caller's task is
/// resumed (or its callback called) straight from `channelRead`, with no
/// promise or future between.
final class ClientConnectionHandler: ChannelInboundHandler, FrameStreamOwner {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Who waits for a call's answer: the OK response's payload, or an
    /// ``RPCError`` (the server's status, the deadline, the connection lost).
    enum Waiter: Sendable {
        /// A task, in ``RPCClient/call(_:_:options:)``.
        case task(UnsafeContinuation<ByteBuffer, any Error>)
        /// Code on the event loop, in ``RPCClient/call(_:_:options:on:completion:)``.
        case callback(any AnswerCallback)

        func resume(_ result: Result<ByteBuffer, RPCError>) {
            switch self {
            case .task(let continuation): continuation.resume(with: result.mapError { $0 as any Error })
            case .callback(let callback): callback.answered(result)
            }
        }

        func fail(_ error: RPCError) { resume(.failure(error)) }
    }

    /// Takes a call's answer on the event loop. A protocol, not a closure:
    /// a conforming struct of up to three words (the caller's completion and
    /// a reference) is stored inline in the ``Waiter``, where a closure
    /// around the caller's completion was an allocation per call.
    protocol AnswerCallback: Sendable {
        func answered(_ result: Result<ByteBuffer, RPCError>)
    }

    private struct Pending {
        let waiter: Waiter
        let deadline: NIODeadline
    }

    private let peer: String
    /// Marks this connection as the one answering while a waiter runs, so
    /// a call its callback starts goes out here (see ``AnsweringMark``).
    private let answering: AnsweringMark.Slot
    private let onGoAway: @Sendable (RPCError) -> Void
    private var pending = CallTable<Pending>()
    private(set) var context: ChannelHandlerContext?
    var stream: FrameStream
    /// Set once the connection is going or gone: new calls fail with it.
    private var closedError: RPCError?
    /// The server's GoAway: why calls unanswered at the close failed.
    private(set) var goAwayError: RPCError?
    /// Calls cancelled before their start reached this loop (the caller's
    /// cancel and start race from different threads); bounded.
    private var cancelledEarly: Set<UInt64> = []
    private var deadlineTimer = DeadlineTimer()

    init(peer: String, limits: WireLimits, answering: AnsweringMark.Slot, onGoAway: @escaping @Sendable (RPCError) -> Void) {
        self.peer = peer
        stream = FrameStream(limits: limits)
        self.answering = answering
        self.onGoAway = onGoAway
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        failAll(closedError ?? RPCError(code: .unavailable, message: "connection to \(peer) closed before the call was answered"))
    }

    /// Whether ``startCall(id:frame:deadline:waiter:)`` would send a call
    /// now rather than fail it at once.
    var takesCalls: Bool { context != nil && closedError == nil && goAwayError == nil }

    /// Sends call `id`, whose request `frame` is (see
    /// ``FastFrames/requestFrame(callID:method:payload:timeoutMicros:metadata:allocator:)``);
    /// `waiter` gets the server's answer, or an ``RPCError`` (deadline,
    /// connection lost). Event loop only.
    func startCall(id: UInt64, frame: ByteBuffer, deadline: NIODeadline, waiter: Waiter) {
        guard let context, closedError == nil, goAwayError == nil else {
            let error = closedError ?? RPCError(
                code: .unavailable,
                message: "connection to \(peer) is \(goAwayError.map { "going away (\($0))" } ?? "closed"); call not sent, safe to retry")
            waiter.fail(error)
            return
        }
        if !cancelledEarly.isEmpty && cancelledEarly.remove(id) != nil {
            waiter.fail(RPCError(code: .cancelled, message: "call cancelled by the caller"))
            return
        }
        pending.insert(Pending(waiter: waiter, deadline: deadline), for: id)
        armDeadlineTimer(for: deadline, context: context)
        write(frame, context: context)
        flush(context: context)
    }

    /// The caller gave up on call `id` (its task was cancelled). Event loop only.
    func cancelCall(id: UInt64) {
        guard let call = pending.removeValue(for: id) else {
            // Not started yet (or already answered): remember it for startCall.
            if cancelledEarly.count >= 1_024, let oldest = cancelledEarly.min() { cancelledEarly.remove(oldest) }
            cancelledEarly.insert(id)
            return
        }
        call.waiter.fail(RPCError(code: .cancelled, message: "call cancelled by the caller"))
        guard let context else { return }
        var frame = Cx_Wire_V1_Frame()
        frame.callID = id
        frame.cancel = Cx_Wire_V1_Cancel()
        send(frame, context: context)
        flush(context: context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        stream.receive(unwrapInboundIn(data))
        // Once the connection is failed (a bad frame), nothing more is read:
        // the stream stops, and the close makes it end.
        while true {
            let message: ByteBuffer
            do {
                guard let next = try stream.nextMessage() else { return }
                message = next
            } catch {
                fail(context: context, RPCError(code: .unavailable, message: "\(peer) sent a bad frame: \(error)"))
                return
            }
            frameRead(message, context: context)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushAtReadComplete(context: context)
        context.fireChannelReadComplete()
    }

    private func frameRead(_ message: ByteBuffer, context: ChannelHandlerContext) {
        if let (id, payload) = FastFrames.parseOKResponse(message) {
            guard let call = pending.removeValue(for: id) else { return }  // expired or cancelled
            deliver(.success(payload), to: call.waiter)
            return
        }
        // An error status, or any frame but an OK response.
        let frame: Cx_Wire_V1_Frame
        do {
            frame = try Cx_Wire_V1_Frame(buffer: message)
        } catch {
            fail(context: context, RPCError(code: .internal, message: "\(peer) sent a frame that is not a cx.wire.v1.Frame: \(error)"))
            return
        }
        switch frame.body {
        case .response(let response):
            guard let call = pending.removeValue(for: frame.callID) else { return }  // expired or cancelled
            if response.status.code == .ok {
                deliver(.success(ByteBuffer(bytes: response.payload)), to: call.waiter)
            } else {
                deliver(.failure(RPCError(wireStatus: response.status)), to: call.waiter)
            }
        case .goAway(let goAway):
            let error = RPCError(wireStatus: goAway.status)
            goAwayError = error
            onGoAway(error)
        case .ping(let ping):
            var pong = Cx_Wire_V1_Frame()
            pong.pong.data = ping.data
            send(pong, context: context)
            flush(context: context)
        case .pong:
            break
        case .request, .cancel, .none:
            fail(context: context, RPCError(code: .internal, message: "\(peer) sent a frame only a client may send"))
        }
    }

    /// Hands a call its answer, with this connection marked as the one
    /// answering meanwhile: a follow-up call started from a callback
    /// (``RPCClient/call(_:_:options:on:)``) goes out on this connection,
    /// and leaves with the others answered in the same read, in one write.
    private func deliver(_ result: Result<ByteBuffer, RPCError>, to waiter: Waiter) {
        // Only while this connection takes calls: a follow-up sent here must not fail at once.
        guard case .callback = waiter, closedError == nil, goAwayError == nil else {
            waiter.resume(result)
            return
        }
        answering.mark()
        waiter.resume(result)
        answering.clear()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let truncated = stream.end(), closedError == nil {
            closedError = RPCError(code: .unavailable, message: "\(peer) sent a bad frame: \(truncated)")
        }
        failAll(closedError ?? goAwayError ?? RPCError(code: .unavailable, message: "connection to \(peer) closed before the call was answered"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(context: context, RPCError(code: .unavailable, message: "connection to \(peer) failed: \(error)"))
    }

    private func fail(context: ChannelHandlerContext, _ error: RPCError) {
        if closedError == nil { closedError = error }
        context.close(promise: nil)
    }

    private func failAll(_ error: RPCError) {
        if closedError == nil { closedError = error }
        deadlineTimer.cancel()
        let calls = pending.calls
        pending.removeAll()
        for (_, call) in calls { call.waiter.fail(error) }
    }

    /// Writes a frame other than a request (those come framed already).
    private func send(_ frame: Cx_Wire_V1_Frame, context: ChannelHandlerContext) {
        // Cancel and Pong hold numbers only: swift-protobuf cannot fail to encode them.
        guard let framed = try? frame.framedBuffer() else { return }
        write(framed, context: context)
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
            call.waiter.fail(RPCError(code: .deadlineExceeded, message: "no answer from \(peer) before the deadline"))
            var frame = Cx_Wire_V1_Frame()
            frame.callID = id
            frame.cancel = Cx_Wire_V1_Cancel()
            send(frame, context: context)
        }
        if !expired.isEmpty { flush(context: context) }
        if let next { armDeadlineTimer(for: next, context: context) }
    }
}
