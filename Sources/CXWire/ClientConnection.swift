import CXModel
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Synchronization

/// One connection of an ``RPCClient``'s pool: connects on first use,
/// reconnects after it is lost, and backs off after failed attempts.
final class ClientConnection: Sendable {
    private enum State {
        case idle(failures: Int)
        case connecting(EventLoopFuture<Ready>)
        case ready(Ready)
        /// Calls fail fast until `until`; then the next call tries again.
        case backingOff(until: NIODeadline, failures: Int, error: RPCError)
        case closed
    }

    /// A connected channel and its handler, which calls are handed to on the channel's loop.
    struct Ready: Sendable {
        let channel: any Channel
        let handler: NIOLoopBound<ClientConnectionHandler>
    }

    private enum Next {
        case use(Ready)
        case wait(EventLoopFuture<Ready>)
        case connect(failures: Int)
        case fail(RPCError)
    }

    let host: String
    let port: Int
    private let configuration: RPCClientConfiguration
    /// Every connection this object makes lives on this loop, so callers
    /// already on it can skip the thread hop (see ``RPCClient``).
    let eventLoop: any EventLoop
    private let state = NIOLockedValueBox<State>(.idle(failures: 0))
    private let callIDs = Atomic<UInt64>(0)

    /// This connection's place in its loop's ``AnsweringMark``.
    private let answering: AnsweringMark.Slot

    init(
        host: String, port: Int, configuration: RPCClientConfiguration, eventLoop: any EventLoop,
        answering: AnsweringMark.Slot
    ) {
        self.host = host
        self.answering = answering
        self.port = port
        self.peer = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        self.configuration = configuration
        self.eventLoop = eventLoop
    }

    /// `127.0.0.1:7101`, `[::1]:7101`
    let peer: String

    /// A fresh call id for this connection's calls.
    func nextCallID() -> UInt64 { callIDs.add(1, ordering: .relaxed).newValue }

    /// The connected channel, if there is one now.
    func readyNow() -> Ready? {
        state.withLockedValue { state in
            if case .ready(let ready) = state { return ready }
            return nil
        }
    }

    /// A connected channel, connecting first if needed.
    func ready() async throws(RPCError) -> Ready {
        if let ready = readyNow() { return ready }
        return try await wait(for: readyFuture())
    }

    /// Waits for a connect ``readyFuture()`` started; any error as an ``RPCError``.
    func wait(for future: EventLoopFuture<Ready>) async throws(RPCError) -> Ready {
        do {
            return try await future.get()
        } catch {
            throw unreachable(error)
        }
    }

    /// What a failed connect tells the caller: its ``RPCError``, or UNAVAILABLE naming the peer.
    func unreachable(_ error: any Error) -> RPCError {
        error as? RPCError ?? RPCError(code: .unavailable, message: "cannot reach \(peer): \(error)")
    }

    /// A connected channel, connecting first if needed, without a task:
    /// the connect starts before this returns.
    func readyFuture() -> EventLoopFuture<Ready> {
        let next: Next = state.withLockedValue { state in
            switch state {
            case .ready(let ready):
                return .use(ready)
            case .connecting(let future):
                return .wait(future)
            case .idle(let failures):
                return .connect(failures: failures)
            case .backingOff(let until, let failures, let error):
                if NIODeadline.now() >= until { return .connect(failures: failures) }
                let wait = ServerConnectionHandler.describe(.nanoseconds(max(0, (until - .now()).nanoseconds) / 1_000_000 * 1_000_000))
                return .fail(RPCError(code: error.code, message: "\(error.message) (next attempt in \(wait))", reason: error.reason))
            case .closed:
                return .fail(RPCError(code: .unavailable, message: "client for \(peer) is closed"))
            }
        }
        switch next {
        case .use(let ready):
            return eventLoop.makeSucceededFuture(ready)
        case .fail(let error):
            return eventLoop.makeFailedFuture(error)
        case .wait(let pending):
            return pending
        case .connect(let failures):
            return connect(failures: failures)
        }
    }

    private func connect(failures: Int) -> EventLoopFuture<Ready> {
        let peer = self.peer
        let limits = configuration.limits
        let answering = self.answering
        let promise = eventLoop.makePromise(of: Ready.self)
        // Whoever wins the race to set .connecting connects; others wait on it.
        let winner: EventLoopFuture<Ready> = state.withLockedValue { state in
            switch state {
            case .connecting(let existing): return existing
            case .ready(let ready): return ready.channel.eventLoop.makeSucceededFuture(ready)
            default:
                state = .connecting(promise.futureResult)
                return promise.futureResult
            }
        }
        guard winner === promise.futureResult else {
            promise.fail(RPCError(code: .unavailable, message: "superseded"))
            return winner
        }
        let bootstrap = ClientBootstrap(group: promise.futureResult.eventLoop)
            .connectTimeout(configuration.connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.maxMessagesPerRead, value: 16)
            .channelInitializer { channel in
                let id = ObjectIdentifier(channel)
                return channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(ClientConnectionHandler(peer: peer, limits: limits, answering: answering) { goAway in
                        // The server takes no new calls here: new calls go to a new
                        // connection, after a backoff if it refused us for load.
                        self.retire(channelID: id, goAway: goAway)
                    })
                }
            }
        bootstrap.connect(host: host, port: port).whenComplete { result in
            switch result {
            case .success(let channel):
                let id = ObjectIdentifier(channel)
                let handler: NIOLoopBound<ClientConnectionHandler>
                do {
                    handler = NIOLoopBound(
                        try channel.pipeline.syncOperations.handler(type: ClientConnectionHandler.self), eventLoop: channel.eventLoop)
                } catch {
                    channel.close(promise: nil)
                    promise.fail(RPCError(code: .internal, message: "connection to \(peer) has no call handler: \(error)"))
                    return
                }
                if let refusal = handler.value.goAwayError {
                    // Refused before we could use it (too many connections, say).
                    channel.close(promise: nil)
                    self.backOff(failures: failures + 1, error: refusal)
                    promise.fail(refusal)
                    return
                }
                let ready = Ready(channel: channel, handler: handler)
                let keep = self.state.withLockedValue { state -> Bool in
                    if case .closed = state { return false }
                    state = .ready(ready)
                    return true
                }
                guard keep else {
                    channel.close(promise: nil)
                    promise.fail(RPCError(code: .unavailable, message: "client for \(peer) is closed"))
                    return
                }
                channel.closeFuture.whenComplete { _ in self.retire(channelID: id, goAway: nil) }
                promise.succeed(ready)
            case .failure(let error):
                let rpcError = RPCError(code: .unavailable, message: "cannot reach \(peer): \(Self.describe(error))")
                self.backOff(failures: failures + 1, error: rpcError)
                promise.fail(rpcError)
            }
        }
        return promise.futureResult
    }

    /// Calls fail fast with `error` until the backoff for `failures` has passed.
    private func backOff(failures: Int, error: RPCError) {
        state.withLockedValue { state in
            if case .closed = state { return }
            state = .backingOff(
                until: .now() + configuration.backoff.delay(afterFailures: failures), failures: failures, error: error)
        }
    }

    /// Stops handing out `channelID` for new calls (it went away or closed).
    /// A GoAway for load (RESOURCE_EXHAUSTED) backs off before reconnecting,
    /// so a full server is not hammered with connections.
    private func retire(channelID: ObjectIdentifier, goAway: RPCError?) {
        state.withLockedValue { state in
            guard case .ready(let ready) = state, ObjectIdentifier(ready.channel) == channelID else { return }
            if let goAway, goAway.code == .resourceExhausted {
                state = .backingOff(
                    until: .now() + configuration.backoff.delay(afterFailures: 1), failures: 1, error: goAway)
            } else {
                state = .idle(failures: 0)
            }
        }
    }

    func close() async {
        let channel: (any Channel)? = state.withLockedValue { state in
            defer { state = .closed }
            if case .ready(let ready) = state { return ready.channel }
            return nil
        }
        try? await channel?.close()
    }

    private static func describe(_ error: any Error) -> String {
        var error = error
        if let connectError = error as? NIOConnectionError, let first = connectError.connectionErrors.first {
            error = first.error
        }
        if let ioError = error as? IOError {
            return String(cString: strerror(ioError.errnoCode)).lowercased()
        }
        return "\(error)"
    }
}
