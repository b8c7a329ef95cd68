import NIOCore

/// One timer for the earliest of many calls' deadlines.
///
/// Calls on a connection mostly share a timeout, so a new call rarely moves
/// the earliest deadline; a timer per call would cost a scheduling and a
/// cancellation on every call.
struct DeadlineTimer {
    private var armed: (deadline: NIODeadline, task: Scheduled<Void>)?

    /// Makes sure `fire` runs by `deadline`. `fire` must call ``fired()``.
    mutating func arm(for deadline: NIODeadline, on eventLoop: NIOIsolatedEventLoop, fire: @escaping () -> Void) {
        if let armed, armed.deadline <= deadline { return }
        armed?.task.cancel()
        armed = (deadline, eventLoop.scheduleTask(deadline: deadline, fire))
    }

    /// The timer went off; the next ``arm(for:on:fire:)`` schedules anew.
    mutating func fired() { armed = nil }

    mutating func cancel() {
        armed?.task.cancel()
        armed = nil
    }

    /// Removes from `calls` those whose deadline is not after `now`; returns
    /// them, and the earliest deadline of the calls left.
    static func takeExpired<Calls: CallsByID>(
        from calls: inout Calls, now: NIODeadline, deadline: (Calls.Call) -> NIODeadline
    ) -> (expired: [(id: UInt64, call: Calls.Call)], next: NIODeadline?) {
        var expired: [(UInt64, Calls.Call)] = []
        var next: NIODeadline?
        for (id, call) in calls.calls {
            let due = deadline(call)
            if due <= now {
                expired.append((id, call))
            } else if next.map({ due < $0 }) ?? true {
                next = due
            }
        }
        for (id, _) in expired { calls.removeCall(id) }
        return (expired, next)
    }
}
