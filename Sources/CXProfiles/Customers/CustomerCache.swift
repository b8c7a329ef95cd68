import CXModel
import GRDB
import Synchronization

/// Customers recently read, by id, so GetCustomer answers from memory: no
/// database read, no thread hop, no inflate and decode.
///
/// Never stale, by two rules:
/// - Every write that changes or erases a stored customer removes its entry
///   when its transaction commits (``invalidateOnCommit(_:id:)``), before
///   the writer's caller is answered. So a read that follows an
///   acknowledged write misses and reads the new row.
/// - A read that missed may fill the entry only if no write to that id has
///   committed since it began: it takes a ``ticket(for:)`` before reading
///   the database and ``fill(_:with:ticket:)`` refuses the fill when the
///   id's stripe has moved on (a commit in between, whose snapshot the read
///   may not have seen). Stripes are 4,096 counters shared by hash, so the
///   memory stays fixed; ids that share a stripe only cost each other a fill.
///
/// New customers need no invalidation: a missing customer is never cached.
/// Bounded by ``capacity`` entries and evicted by CLOCK (second chance).
final class CustomerCache: Sendable {
    struct Ticket: Sendable {
        fileprivate let stripe: Int
        fileprivate let generation: UInt64
    }

    private struct Slot {
        var id: String
        var value: ProfilesDatabase.Stored
        var referenced: Bool
    }

    private struct State {
        var slots: [Slot?] = []
        var index: [String: Int] = [:]
        var free: [Int] = []
        var hand = 0
        var stripes = [UInt64](repeating: 0, count: CustomerCache.stripeCount)
        var hits = 0
        var misses = 0
    }

    static let stripeCount = 4_096
    /// Most customers held; 0 turns the cache off.
    let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int) {
        self.capacity = max(0, capacity)
    }

    private static func stripe(_ id: String) -> Int {
        Int(UInt(bitPattern: id.hashValue) % UInt(stripeCount))
    }

    /// The customer, live or erased, if cached.
    func get(_ id: String) -> ProfilesDatabase.Stored? {
        guard capacity > 0 else { return nil }
        return state.withLock { state in
            guard let slot = state.index[id] else {
                state.misses += 1
                return nil
            }
            state.hits += 1
            state.slots[slot]!.referenced = true
            return state.slots[slot]!.value
        }
    }

    /// Taken before reading `id` from the database; see ``fill(_:with:ticket:)``.
    func ticket(for id: String) -> Ticket {
        let stripe = Self.stripe(id)
        return Ticket(stripe: stripe, generation: state.withLock { $0.stripes[stripe] })
    }

    /// Caches what a read found for `id`, unless a write to it (or to an id
    /// sharing its stripe) has committed since `ticket` was taken.
    func fill(_ id: String, with value: ProfilesDatabase.Stored, ticket: Ticket) {
        guard capacity > 0 else { return }
        state.withLock { state in
            guard state.stripes[ticket.stripe] == ticket.generation, state.index[id] == nil else { return }
            let slot: Int
            if let reused = state.free.popLast() {
                slot = reused
            } else if state.slots.count < capacity {
                state.slots.append(nil)
                slot = state.slots.count - 1
            } else {
                slot = Self.evict(&state)
            }
            state.slots[slot] = Slot(id: id, value: value, referenced: false)
            state.index[id] = slot
        }
    }

    /// CLOCK: the first slot from the hand not referenced since the hand last
    /// passed, clearing marks on the way. Only called with every slot full.
    private static func evict(_ state: inout State) -> Int {
        while true {
            let slot = state.hand
            state.hand = (state.hand + 1) % state.slots.count
            if state.slots[slot]!.referenced {
                state.slots[slot]!.referenced = false
                continue
            }
            state.index[state.slots[slot]!.id] = nil
            return slot
        }
    }

    /// Forgets `id` and refuses fills begun before now.
    func invalidate(_ id: String) {
        let stripe = Self.stripe(id)
        state.withLock { state in
            state.stripes[stripe] &+= 1
            guard let slot = state.index.removeValue(forKey: id) else { return }
            state.slots[slot] = nil
            state.free.append(slot)
        }
    }

    /// Forgets `id` when the transaction `db` is in commits. Called by every
    /// write to a stored customer row, inside that transaction. (If the
    /// change is rolled back to a savepoint and the transaction still
    /// commits, the entry goes anyway: a miss, never a stale answer.)
    func invalidateOnCommit(_ db: Database, id: String) {
        guard capacity > 0 else { return }
        db.afterNextTransaction(onCommit: { [self] _ in invalidate(id) })
    }

    /// Reads so far that were answered from memory, and that were not.
    var statistics: (hits: Int, misses: Int, entries: Int) {
        state.withLock { ($0.hits, $0.misses, $0.index.count) }
    }
}
