/// A client connection's calls in flight, by call id.
///
/// A connection hands out its ids in sequence, so the ids in flight at any
/// time are close together and their low bits tell them apart: the table
/// is a power-of-two array of slots indexed by those bits, with linear
/// probing for the rare two that share them. Finding a call is an index and
/// a compare. A `Dictionary<UInt64, _>` hashes every id with SipHash; with
/// one insert and one removal per call, that was about 1.5% of the CPU time
/// of `cx-bench wire` at 16x8.
///
/// Grows at half full; removal shifts the slots after the removed one back
/// (no tombstones), so the table never fills with dead slots.
///
/// Only for ids this side chooses. A server keys its calls by the ids its
/// client chose, and a client choosing ids that share their low bits would
/// make every lookup a walk: the server keeps a `Dictionary`, whose seeded
/// hash no client can aim at.
struct CallTable<Value> {
    private struct Slot {
        /// 0 when empty: call id 0 is never a call's.
        var id: UInt64
        var value: Value?
    }

    private var slots: [Slot]
    private var mask: Int
    private(set) var count = 0

    init() {
        slots = Array(repeating: Slot(id: 0, value: nil), count: 16)
        mask = 15
    }

    var isEmpty: Bool { count == 0 }

    private func home(_ id: UInt64) -> Int { Int(truncatingIfNeeded: id) & mask }

    /// Adds call `id` (not 0, and not in the table).
    mutating func insert(_ value: Value, for id: UInt64) {
        precondition(id != 0, "call id 0 is reserved")
        if (count + 1) * 2 > slots.count { grow() }
        var index = home(id)
        while slots[index].id != 0 {
            precondition(slots[index].id != id, "call id \(id) is already in flight")
            index = (index + 1) & mask
        }
        slots[index] = Slot(id: id, value: value)
        count += 1
    }

    /// Removes call `id` and returns its value; nil when it is not here.
    mutating func removeValue(for id: UInt64) -> Value? {
        guard id != 0, count > 0 else { return nil }
        var index = home(id)
        while slots[index].id != id {
            if slots[index].id == 0 { return nil }
            index = (index + 1) & mask
        }
        let value = slots[index].value
        count -= 1
        // Shift back the slots after it that probed past it, so every slot
        // stays reachable from its home without a tombstone.
        var hole = index
        var next = (hole + 1) & mask
        while slots[next].id != 0 {
            let wanted = home(slots[next].id)
            // Move it into the hole unless its home lies cyclically in (hole, next].
            let stays = hole <= next ? (hole < wanted && wanted <= next) : (hole < wanted || wanted <= next)
            if !stays {
                slots[hole] = slots[next]
                hole = next
            }
            next = (next + 1) & mask
        }
        slots[hole] = Slot(id: 0, value: nil)
        return value
    }

    /// Every call, in no particular order.
    var calls: [(id: UInt64, value: Value)] {
        slots.compactMap { slot in slot.value.map { (slot.id, $0) } }
    }

    mutating func removeAll() {
        guard count > 0 else { return }
        for index in slots.indices { slots[index] = Slot(id: 0, value: nil) }
        count = 0
    }

    private mutating func grow() {
        let old = slots
        slots = Array(repeating: Slot(id: 0, value: nil), count: old.count * 2)
        mask = slots.count - 1
        count = 0
        for slot in old where slot.id != 0 { insert(slot.value!, for: slot.id) }
    }
}

/// A table of calls by id, as ``DeadlineTimer/takeExpired(from:now:deadline:)`` walks it.
protocol CallsByID {
    associatedtype Call
    /// Every call, in no particular order.
    var calls: [(id: UInt64, value: Call)] { get }
    mutating func removeCall(_ id: UInt64)
}

extension CallTable: CallsByID {
    mutating func removeCall(_ id: UInt64) { _ = removeValue(for: id) }
}

extension Dictionary: CallsByID where Key == UInt64 {
    var calls: [(id: UInt64, value: Value)] { map { ($0.key, $0.value) } }
    mutating func removeCall(_ id: UInt64) { self[id] = nil }
}
