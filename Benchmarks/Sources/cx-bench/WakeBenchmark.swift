import ArgumentParser
import Foundation

/// How long it takes this machine to wake a sleeping thread: the hand-off
/// that group commit pays between a write's caller and the writer, and
/// between the writer and the flush thread, several times per commit.
///
/// On the 2-core Firecracker VM CX is measured on (cpuidle `haltpoll` with
/// `guest_halt_poll_ns=0`: an idle vCPU halts at once), a back-to-back round
/// trip between two threads took 48-51 µs (p50), against 7-8 µs under
/// `taskset -c 0`, where both threads share one core and no vCPU has to
/// wake, and about 12 µs with a pause before each trip. Group commit makes
/// several such hand-offs per commit, raw SQLite's single thread none: on
/// this machine they are most of the gap between the two (see
/// `CXStore/GroupCommit.swift`).
struct WakeBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wake",
        abstract: "Thread wake-up latency: two threads hand a turn back and forth through a condition variable.",
        discussion: """
            Prints the round trip (wake the other thread, wait until it wakes this one) as p50, p90 \
            and p99 over --trips round trips, back to back, then with a pause before each trip \
            (--pause-us). Run it with `taskset -c 0` to see the same hand-off on one core, \
            where no idle core has to wake.
            """)

    @Option(help: "Round trips per measurement.")
    var trips: Int = 20_000

    @Option(help: "Microseconds to sleep before each trip in the second measurement.")
    var pauseUs: Int = 200

    func validate() throws {
        guard (100...10_000_000).contains(trips) else { throw ValidationError("--trips: \(trips) must be 100 to 10000000") }
        guard (1...1_000_000).contains(pauseUs) else { throw ValidationError("--pause-us: \(pauseUs) must be 1 to 1000000") }
    }

    func run() throws {
        print("Thread wake-up round trips, \(ProcessInfo.processInfo.activeProcessorCount) cores, \(trips) trips each")
        report("back to back", Self.measure(trips: trips, pause: nil))
        report("after a \(pauseUs) µs pause", Self.measure(trips: trips, pause: pauseUs))
    }

    private func report(_ name: String, _ microseconds: [Double]) {
        let sorted = microseconds.sorted()
        func percentile(_ p: Double) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count) * p / 100))] }
        let label = name.padding(toLength: 24, withPad: " ", startingAt: 0)
        print(label + String(format: " p50 %6.1f µs  p90 %6.1f µs  p99 %6.1f µs", percentile(50), percentile(90), percentile(99)))
    }

    /// Round trips in microseconds: this thread gives the turn to the other
    /// one and waits to get it back.
    static func measure(trips: Int, pause: Int?) -> [Double] {
        final class Turn: @unchecked Sendable {
            let condition = NSCondition()
            var othersTurn = false  // guarded by condition
        }
        let turn = Turn()
        let done = DispatchSemaphore(value: 0)
        let other = Thread {
            for _ in 0..<trips {
                turn.condition.lock()
                while !turn.othersTurn { turn.condition.wait() }
                turn.othersTurn = false
                turn.condition.signal()
                turn.condition.unlock()
            }
            done.signal()
        }
        other.start()
        var times: [Double] = []
        times.reserveCapacity(trips)
        let clock = ContinuousClock()
        for _ in 0..<trips {
            if let pause { usleep(UInt32(pause)) }
            let started = clock.now
            turn.condition.lock()
            turn.othersTurn = true
            turn.condition.signal()
            while turn.othersTurn { turn.condition.wait() }
            turn.condition.unlock()
            times.append((clock.now - started) / .microseconds(1))
        }
        done.wait()
        return times
    }
}
