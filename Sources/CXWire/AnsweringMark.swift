import Synchronization

/// Which of an event loop's client connections is delivering an answer
/// right now, if any: one per loop of an ``RPCClient``'s pool.
///
/// Code on an event loop keeps calls in flight by starting the next one
/// from the last one's callback. Sent round-robin, the calls answered in
/// one read would leave over as many connections, each a write syscall of
/// its own; sent back on the connection that answered, they leave together
/// in one (the way a pipelined client keeps its window on one socket).
///
/// Only the first call a callback starts takes the mark: it replaces the
/// call just answered, so no connection ever carries more calls for it.
/// Any further calls (a fan-out) go round-robin as before, and cannot pile
/// onto one connection past the server's per-connection limit. Only the
/// loop's own thread marks, clears and takes its mark.
final class AnsweringMark: Sendable {
    private let index = Atomic<Int>(-1)

    /// The connection answering now, as its index in the loop's
    /// connections; clears the mark, so the next call goes round-robin.
    func take() -> Int? {
        let value = index.exchange(-1, ordering: .relaxed)
        return value >= 0 ? value : nil
    }

    /// One connection's handle on the mark.
    struct Slot: Sendable {
        let owner: AnsweringMark
        let index: Int

        func mark() { owner.index.store(index, ordering: .relaxed) }
        func clear() { owner.index.store(-1, ordering: .relaxed) }
    }
}
