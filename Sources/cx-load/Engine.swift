import ArgumentParser
import CXModel
import CXWire
import Foundation
import Histogram
import Synchronization

/// When an open loop's calls are due: a constant rate, a rate rising in
/// steps, or a linear ramp.
struct Schedule: Sendable {
    enum Shape: String, ExpressibleByArgument, CaseIterable, Sendable {
        case constant, step, ramp
    }

    let shape: Shape
    /// Calls per second at the end (the only rate of a constant schedule).
    let rate: Double
    /// Calls per second at the start (step and ramp).
    let startRate: Double
    /// Steps of a step schedule.
    let steps: Int
    /// Seconds the steps or the ramp are spread over (nil only for constant).
    let duration: Double?

    /// The same rate throughout: what warm-up runs at.
    static func constant(_ rate: Double) -> Schedule {
        Schedule(shape: .constant, rate: rate, startRate: rate, steps: 1, duration: nil)
    }

    func stepRate(_ step: Int) -> Double {
        steps <= 1 ? rate : startRate + (rate - startRate) * Double(step) / Double(steps - 1)
    }

    /// Seconds after the start at which call `k` (from 0) is due; nil when
    /// the schedule has no such call.
    func offset(_ k: Int) -> Double? {
        let k = Double(k)
        switch shape {
        case .constant:
            return k / rate
        case .step:
            guard let duration else { return nil }
            let length = duration / Double(steps)
            var before = 0.0
            for step in 0..<steps {
                let rate = stepRate(step)
                let inStep = rate * length
                if rate > 0, k < before + inStep { return Double(step) * length + (k - before) / rate }
                before += inStep
            }
            return nil
        case .ramp:
            // Calls due by t: startRate·t + (rate - startRate)·t²/(2·duration) = k.
            guard let duration else { return nil }
            let a = (rate - startRate) / (2 * duration)
            let b = startRate
            if abs(a) < 1e-12 { return b > 0 ? k / b : nil }
            let discriminant = b * b + 4 * a * k
            guard discriminant >= 0 else { return nil }
            return (-b + discriminant.squareRoot()) / (2 * a)
        }
    }

    /// The rate due `seconds` after the start, for the progress line.
    func rate(at seconds: Double) -> Double {
        switch shape {
        case .constant: return rate
        case .step:
            guard let duration else { return rate }
            return stepRate(min(steps - 1, max(0, Int(seconds / (duration / Double(steps))))))
        case .ramp:
            guard let duration else { return rate }
            return startRate + (rate - startRate) * min(1, max(0, seconds / duration))
        }
    }

    var description: String {
        func per(_ rate: Double) -> String { "\(Format.number(rate))/s" }
        switch shape {
        case .constant: return "open loop at \(per(rate))"
        case .step: return "open loop in \(steps) steps from \(per(startRate)) to \(per(rate))"
        case .ramp: return "open loop ramping from \(per(startRate)) to \(per(rate))"
        }
    }
}

/// One stretch of calls: warm-up or measurement.
struct Phase: Sendable {
    var name: String
    /// Seconds; nil = until `count` calls.
    var duration: Double?
    /// Calls; nil = until `duration` is over.
    var count: Int?
    /// nil = closed loop.
    var schedule: Schedule?
}

/// What a phase came to.
struct PhaseOutcome: Sendable {
    var tally: Tally
    /// From the phase's start to its last call's end.
    var seconds: Double
    /// Open loop: calls due that were never sent (the workers fell behind).
    var unsent = 0
}

/// The calls a phase may still make, handed out one at a time to whichever
/// worker is free; in an open loop each comes with the moment it is due.
final class Tickets: Sendable {
    private let next = Atomic<Int>(0)
    let start: UInt64
    let phase: Phase

    init(phase: Phase, start: UInt64) {
        self.phase = phase
        self.start = start
    }

    /// The next call's number and, in an open loop, when it should start (ns); nil when the phase is over.
    /// An open loop stops at its duration like a closed one: calls due but
    /// not yet sent by then are not sent (``unsent()`` counts them).
    func take() -> (index: Int, due: UInt64?)? {
        if let duration = phase.duration, nowNanoseconds() >= start + UInt64(duration * 1e9) { return nil }
        let index = next.add(1, ordering: .relaxed).oldValue
        if let count = phase.count, index >= count { return nil }
        if let schedule = phase.schedule {
            guard let offset = schedule.offset(index) else { return nil }
            if let duration = phase.duration, offset >= duration { return nil }
            issued.add(1, ordering: .relaxed)
            return (index, start + UInt64(offset * 1e9))
        }
        issued.add(1, ordering: .relaxed)
        return (index, nil)
    }

    private let issued = Atomic<Int>(0)

    /// Open loop: calls the schedule made due within the phase that were
    /// never sent because every worker was still waiting for an answer.
    func unsent() -> Int {
        guard let schedule = phase.schedule else { return 0 }
        func due(_ k: Int) -> Bool {
            if let count = phase.count, k >= count { return false }
            guard let offset = schedule.offset(k) else { return false }
            return phase.duration.map { offset < $0 } ?? true
        }
        // Calls due are 0..<n for the n found by bisection (offsets only grow).
        var low = 0
        var high = 1
        while due(high) && high < Int.max / 4 { high *= 2 }
        while low < high {
            let middle = (low + high) / 2
            if due(middle) { low = middle + 1 } else { high = middle }
        }
        return max(0, low - issued.load(ordering: .relaxed))
    }
}

/// Runs phases of a scenario over `connections x inFlight` workers.
struct Engine: Sendable {
    let scenario: Scenario
    let fixture: Fixture
    /// Per connection: a client for each service the scenario calls.
    let connections: [[CXServiceName: RPCClient]]
    let inFlight: Int
    let options: CallOptions
    /// Numbers every call of the run (warm-up included), for unique ids.
    let sequence = Sequence()
    let progress: Bool

    final class Sequence: Sendable {
        private let value = Atomic<Int>(0)
        func next() -> Int { value.add(1, ordering: .relaxed).oldValue }
    }

    func run(_ phase: Phase) async -> PhaseOutcome {
        let stats = connections.map { _ in ConnectionStats() }
        let start = nowNanoseconds()
        let tickets = Tickets(phase: phase, start: start)
        let reporter = progress ? Task { await Self.showProgress(phase: phase, stats: stats, start: start) } : nil
        let last = await withTaskGroup(of: UInt64.self) { group in
            for (index, clients) in connections.enumerated() {
                for slot in 0..<inFlight {
                    let worker = index * inFlight + slot
                    group.addTask {
                        await work(worker: worker, clients: clients, stats: stats[index], tickets: tickets)
                    }
                }
            }
            var last = start
            for await end in group { last = max(last, end) }
            return last
        }
        reporter?.cancel()
        _ = await reporter?.value
        var total = Tally()
        for connection in stats { total.merge(connection.tally.withLock { $0 }) }
        return PhaseOutcome(tally: total, seconds: Double(last &- start) / 1e9, unsent: tickets.unsent())
    }

    /// One worker: takes tickets until the phase is over; returns when its last call ended.
    private func work(worker: Int, clients: [CXServiceName: RPCClient], stats: ConnectionStats, tickets: Tickets) async -> UInt64 {
        let caller = Caller(
            clients: clients, options: options, stats: stats, run: fixture.run,
            random: SplitMix64(loadSeed: UInt64(fixture.run.seed) &* 1_000_003 &+ UInt64(worker) &+ UInt64(bitPattern: Int64(nowNanoseconds() % 1_000_000))))
        var session = SessionState()
        while let ticket = tickets.take() {
            if let due = ticket.due {
                let now = nowNanoseconds()
                if due > now {
                    do { try await Task.sleep(nanoseconds: due - now) } catch { break }
                }
            }
            caller.begin(sequence: sequence.next(), intendedStart: ticket.due)
            let operation = scenario.pick(&caller.random)
            do {
                try await operation.run(caller, fixture, &session)
            } catch {
                // Recorded by the caller; the session has reset what it needed to.
            }
        }
        return caller.completed
    }

    /// Once a second on standard error, rewritten in place: rate, errors, p99 so far.
    private static func showProgress(phase: Phase, stats: [ConnectionStats], start: UInt64) async {
        var previous = 0
        var previousTime = start
        while !Task.isCancelled {
            do { try await Task.sleep(nanoseconds: 1_000_000_000) } catch { break }
            var total = Tally()
            for connection in stats { total.merge(connection.tally.withLock { $0 }) }
            let now = nowNanoseconds()
            let elapsed = Double(now &- start) / 1e9
            let rate = Double(total.calls - previous) / max(1e-9, Double(now &- previousTime) / 1e9)
            previous = total.calls
            previousTime = now
            var line = "\(phase.name) \(String(format: "%.0f", elapsed))"
            if let duration = phase.duration { line += "/\(Format.number(duration)) s" } else { line += " s" }
            if let count = phase.count { line += "  \(Format.grouped(total.calls))/\(Format.grouped(count)) calls" }
            line += "  \(Format.grouped(Int(rate.rounded())))/s"
            if let schedule = phase.schedule { line += " (due \(Format.grouped(Int(schedule.rate(at: elapsed).rounded())))/s)" }
            line += "  errors \(Format.grouped(total.errors))"
            if total.ok > 0 { line += "  p99 \(Format.milliseconds(total.latency.valueAtPercentile(99)))" }
            FileHandle.standardError.write(Data("\r\(line)\u{1B}[K".utf8))
        }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
