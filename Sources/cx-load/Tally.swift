import CXModel
import CXWire
import Foundation
import Histogram
import Synchronization

/// Latencies are recorded in microseconds, from 1 µs to an hour, to three
/// significant digits (a value is off by at most 0.1%).
enum Latency {
    static let highest: UInt64 = 3_600_000_000

    static func histogram(digits: SignificantDigits = .three) -> Histogram<UInt64> {
        Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: highest, numberOfSignificantValueDigits: digits)
    }

    static func clamp(_ microseconds: UInt64) -> UInt64 { min(max(microseconds, 1), highest) }
}

/// What one method's calls came to.
struct MethodTally: Sendable {
    var service: String
    var ok = 0
    var errors = 0
    /// Successful calls only; two digits are enough per method.
    var latency = Latency.histogram(digits: .two)

    init(service: String) { self.service = service }

    mutating func merge(_ other: MethodTally) {
        ok += other.ok
        errors += other.errors
        latency.add(other.latency)
    }
}

/// Everything a phase's calls came to: kept per connection while the
/// calls run, added up for the progress line and the report.
struct Tally: Sendable {
    /// Latency of successful calls (µs); an open loop's are measured from
    /// when each call should have been sent.
    var latency = Latency.histogram()
    var ok = 0
    var errors = 0
    var errorsByCode: [String: Int] = [:]
    var methods: [String: MethodTally] = [:]
    /// What the calls wrote, by name ("purchases", "events_recorded"), so a
    /// run can be checked against what the services recorded.
    var counters: [String: Int] = [:]
    /// The first few failures in words, for the operator.
    var firstErrors: [String] = []

    var calls: Int { ok + errors }

    mutating func merge(_ other: Tally) {
        latency.add(other.latency)
        ok += other.ok
        errors += other.errors
        errorsByCode.merge(other.errorsByCode, uniquingKeysWith: +)
        for (name, method) in other.methods { methods[name, default: MethodTally(service: method.service)].merge(method) }
        counters.merge(other.counters, uniquingKeysWith: +)
        for message in other.firstErrors where firstErrors.count < 5 && !firstErrors.contains(message) { firstErrors.append(message) }
    }
}

/// One connection's tally; its callers record into it, the progress line
/// reads it once a second.
final class ConnectionStats: Sendable {
    let tally = Mutex(Tally())
}

func nowNanoseconds() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

/// How one worker makes its calls: the clients of its connection, the
/// ticket it is serving, and where it records what happened. Used by one
/// task only.
final class Caller {
    let clients: [CXServiceName: RPCClient]
    let options: CallOptions
    let stats: ConnectionStats
    let run: RunIdentity
    /// The run-wide number of the call being made: ids made from it never repeat in a run.
    private(set) var sequence = 0
    var random: SplitMix64
    /// When the current call should have started (open loop), else nil.
    private var intendedStart: UInt64?
    /// When this worker's last call ended (ns), for the phase's elapsed time.
    private(set) var completed: UInt64 = 0

    init(clients: [CXServiceName: RPCClient], options: CallOptions, stats: ConnectionStats, run: RunIdentity, random: SplitMix64) {
        self.clients = clients
        self.options = options
        self.stats = stats
        self.run = run
        self.random = random
    }

    func begin(sequence: Int, intendedStart: UInt64?) {
        self.sequence = sequence
        self.intendedStart = intendedStart
    }

    /// A unique id for something this call writes: `load-<run>-<kind><sequence>`.
    func uniqueID(_ kind: String) -> String { "load-\(run.runID)-\(kind)\(sequence)" }

    /// Calls `method` on `service`, timing it and recording the outcome.
    func call<Request, Response>(
        _ service: CXServiceName, _ method: MethodDescriptor<Request, Response>, _ request: Request
    ) async throws -> Response {
        guard let client = clients[service] else {
            throw RPCError(code: .internal, message: "cx-load: no connection to \(service.rawValue)")
        }
        let start = intendedStart ?? nowNanoseconds()
        intendedStart = nil
        do {
            let response = try await client.call(method, request, options: options)
            let end = nowNanoseconds()
            completed = end
            let micros = Latency.clamp((end &- start) / 1_000)
            stats.tally.withLock { tally in
                tally.ok += 1
                tally.latency.recordClamped(micros)
                tally.methods[method.method, default: MethodTally(service: service.rawValue)].ok += 1
                tally.methods[method.method]!.latency.recordClamped(micros)
            }
            return response
        } catch {
            completed = nowNanoseconds()
            let rpc = error as? RPCError ?? RPCError(code: .unknown, message: "\(error)")
            let code = rpc.reason.isEmpty ? rpc.code.name : "\(rpc.code.name) (\(rpc.reason))"
            stats.tally.withLock { tally in
                tally.errors += 1
                tally.errorsByCode[rpc.code.name, default: 0] += 1
                tally.methods[method.method, default: MethodTally(service: service.rawValue)].errors += 1
                if tally.firstErrors.count < 5 {
                    let message = "\(method.method) on \(service.rawValue): \(code): \(rpc.message)"
                    if !tally.firstErrors.contains(message) { tally.firstErrors.append(message) }
                }
            }
            throw rpc
        }
    }

    /// Adds to a named counter of what the run wrote.
    func count(_ name: String, _ amount: Int = 1) {
        stats.tally.withLock { $0.counters[name, default: 0] += amount }
    }

    func chance(_ percent: Int) -> Bool { Int(random.next() % 100) < percent }

    func pick<T>(_ items: [T]) -> T { items[Int(random.next() % UInt64(items.count))] }

    func below(_ bound: Int) -> Int { Int(random.next() % UInt64(max(1, bound))) }
}

extension Histogram<UInt64> {
    mutating func recordClamped(_ value: UInt64) {
        _ = record(Latency.clamp(value))
    }
}

extension SplitMix64 {
    /// cx-load's generators: the seed scrambled first, so neighbouring
    /// seeds (a run's seed plus a worker or customer index) start far apart.
    init(loadSeed seed: UInt64) { self.init(seed: seed &* 0x2545_F491_4F6C_DD1D &+ 0x9E37_79B9) }
}

/// Which run this is, and which seeded data it loads.
struct RunIdentity: Sendable {
    /// Unique per run: the writes of two runs never share an id or key.
    let runID: String
    let seed: Int
    let customers: Int

    /// A seeded customer's id: the same for every run with this seed.
    func customerID(_ index: Int) -> String { "load-\(seed)-\(index)" }

    /// Base-36 milliseconds since 1970 and 4 random characters: short,
    /// ordered by time, and valid in every CX id.
    static func makeRunID() -> String {
        let milliseconds = UInt64(Date().timeIntervalSince1970 * 1_000)
        var random = SystemRandomNumberGenerator()
        let suffix = String(random.next() % 1_679_616, radix: 36)
        return String(milliseconds, radix: 36) + String(repeating: "0", count: 4 - suffix.count) + suffix
    }
}
