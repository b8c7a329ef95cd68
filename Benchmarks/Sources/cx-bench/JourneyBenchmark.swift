import ArgumentParser
import CXJourney
import CXModel
import CXStore
import CXWire
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import SwiftProtobuf
import Synchronization

/// The journey service with many customers and events, over loopback RPC:
/// durable events per second ingested in batches and singly, GetJourney,
/// and the analytics read from aggregates, beside CXWire's Echo on the same
/// server and client.
struct JourneyBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "journey",
        abstract: "The journey service with --customers walking the journey through --events events: ingestion rate, RecordEvent, GetJourney and analytics latency, beside CXWire echo.",
        discussion: """
            One process runs a real journey server on 127.0.0.1 (its store in a temporary \
            directory, WAL, synchronous=FULL: an event is answered only once it is on disk; \
            stage changes queued in the outbox for profiles, as in production, the relay not \
            running) and its clients. In order:
              1. CXWire's built-in Echo at --level: the reference.
              2. ingestion: --events events over --customers customers through RecordEvents, \
            --batch events per call, at --level. Each customer walks the journey (visit, \
            first_purchase, purchase_confirmation, delivery, onboarding_done, goal_reached, \
            repeat_purchase, review; fewer reach each later stage) among many events that move \
            nobody (visit, email_open, app_open at website, app, email, store), at times over \
            the past 200 days, increasing per customer, each with its idempotency key. Events \
            go in rounds (every customer's next event, customers in a scattered order), so a \
            batch holds 500 different customers.
              3. RecordEvent of random existing customers at --level for --duration seconds \
            (occurred_at unset: now).
              4. GetJourney of random customers at --level for --duration seconds.
              5. Funnel (30 and 365 days), TouchpointActivity (30 days) and Stalled (every \
            stage, page 50), each called --repeats times one after another.
            Afterwards the store is checked: as many event rows as events acknowledged, and \
            the aggregates agree with the rows (customers per stage, events per touchpoint).
            """)

    @Option(help: "Customers (each has at least one event).")
    var customers = 100_000

    @Option(help: "Events ingested in batches.")
    var events = 2_000_000

    @Option(help: "Events per RecordEvents call (at most 1000).")
    var batch = 500

    @Option(help: "Connections x calls in flight per connection.")
    var level = "16x8"

    @Option(help: "Seconds measured per RecordEvent and GetJourney run.")
    var duration: Double = 10

    @Option(help: "Seconds of warm-up before each measured window.")
    var warmup: Double = 2

    @Option(help: "Calls of each analytics method, one after another.")
    var repeats = 50

    @Option(help: "Where the log is flushed: offWriter (a thread of its own) or inCommit (by the writer, in each commit); default: the journey service's own.")
    var flush: StoreOptions.Flush?

    @Option(help: "Keep the store here instead of a temporary directory that is removed afterwards.")
    var directory: String?

    @Flag(help: "Print JSON lines instead of a table.")
    var json = false

    func validate() throws {
        guard (1...10_000_000).contains(customers) else { throw ValidationError("--customers: \(customers) must be 1 to 10000000") }
        guard events >= customers, events <= 100_000_000 else {
            throw ValidationError("--events: \(events) must be at least --customers (\(customers)) and at most 100000000")
        }
        guard events / customers <= 1_000 else { throw ValidationError("--events: at most 1000 per customer") }
        guard (1...1_000).contains(batch) else { throw ValidationError("--batch: \(batch) must be 1 to 1000") }
        guard Concurrency(level) != nil else { throw ValidationError("--level: \"\(level)\" is not CONNECTIONSxINFLIGHT (at most 4096 calls in flight)") }
        guard duration > 0, duration <= 600 else { throw ValidationError("--duration: \(duration) must be in (0, 600]") }
        guard warmup >= 0, warmup <= 60 else { throw ValidationError("--warmup: \(warmup) must be in [0, 60]") }
        guard (1...10_000).contains(repeats) else { throw ValidationError("--repeats: \(repeats) must be 1 to 10000") }
    }

    func run() async throws {
        let concurrency = Concurrency(level)!
        let temporary = directory == nil
        let root = directory.map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("cx-bench-journey-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { if temporary { try? FileManager.default.removeItem(at: root) } }

        var logger = Logger(label: "cx-bench")
        logger.logLevel = .error
        var options = JourneyService.storeOptions
        if let flush { options.flush = flush }
        let service = try await JourneyService.open(directory: root, options: options, destinations: [.profiles])
        var router = RPCRouter()
        service.register(into: &router)
        let server = RPCServer(
            configuration: RPCServerConfiguration(name: "journey", host: "127.0.0.1", port: 0), router: router, logger: logger)
        try await server.start()
        let port = server.localAddress!.port!
        let report = Report(json: json)
        if !json {
            print("""
                journey service, \(customers) customers, \(events) events, store in \(root.path) (WAL, synchronous=FULL), \
                \(ProcessInfo.processInfo.activeProcessorCount) cores
                """)
            report.header()
        }
        // A batch call waits behind the ones in flight before it: give it
        // time enough that a slow store shows as latency, not as failures.
        let client = RPCClient(
            host: "127.0.0.1", port: port,
            configuration: RPCClientConfiguration(connections: concurrency.connections, defaultTimeout: .seconds(600)))

        // 1. Echo: the reference on the same server and client.
        var echoRequest = Cx_Wire_V1_EchoRequest()
        echoRequest.payload = Data(repeating: 0x61, count: 32)
        let echo = echoRequest
        let echoResult = try await ClosedLoop.run(
            concurrency: concurrency, window: Window(warmup: min(warmup, 1), duration: min(duration, 5))
        ) { _ in
            _ = try await client.call(Cx_Wire_V1_Echo.echo, echo)
        }
        report.line(
            "Echo \(concurrency)", String(format: "%.0f calls/s", echoResult.callsPerSecond),
            String(format: "p50 %.0f µs, p99 %.0f µs", echoResult.microseconds(atPercentile: 50), echoResult.microseconds(atPercentile: 99)),
            "reference", met: nil)

        // 2. Ingestion in batches.
        let workload = JourneyWorkload(customers: customers, events: events, now: Date().timeIntervalSince1970)
        let counters = Counters()
        let batchCursor = NIOLockedValueBox(0)
        let batchSize = batch
        let batches = (events + batch - 1) / batch
        let progress = Task {
            let start = now()
            var last = (time: start, events: 0)
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(5))
                if Task.isCancelled { break }
                let done = counters.recorded.load(ordering: .relaxed)
                let time = now()
                FileHandle.standardError.write(Data(String(
                    format: "ingesting: %ld/%ld events, %.0f events/s over the last %.0f s, %.0f overall\n",
                    done, workload.events, Double(done - last.events) / (Double(time - last.time) / 1e9),
                    Double(time - last.time) / 1e9, Double(done) / (Double(time - start) / 1e9)).utf8))
                last = (time, done)
            }
        }
        var before = service.store.groupCommitStatistics
        let ingestStart = now()
        let ingested = try await ClosedLoop.run(concurrency: concurrency, window: Window(warmup: 0, duration: 36_000)) { _ in
            let index = batchCursor.withLockedValue { value -> Int in
                defer { value += 1 }
                return value
            }
            guard index < batches else { throw CancellationError() }
            var request = Cx_Journey_V1_RecordEventsRequest()
            let range = (index * batchSize)..<min(workload.events, (index + 1) * batchSize)
            request.events.reserveCapacity(range.count)
            for global in range { request.events.append(workload.event(global)) }
            do {
                let response = try await client.call(Cx_Journey_V1_Journey.recordEvents, request)
                let refused = response.results.filter { $0.code != 0 }
                counters.recorded.add(Int(response.recorded), ordering: .relaxed)
                counters.refused.add(refused.count + max(0, range.count - response.results.count), ordering: .relaxed)
                if let first = refused.first { counters.remember("RecordEvents result \(first.code) \(first.reason): \(first.message)") }
            } catch {
                counters.failedCalls.add(1, ordering: .relaxed)
                counters.unknown.add(range.count, ordering: .relaxed)
                counters.remember("RecordEvents: \(error)")
                throw error
            }
        }
        progress.cancel()
        let ingestSeconds = Double(now() - ingestStart) / 1e9
        var after = service.store.groupCommitStatistics
        let recorded = counters.recorded.load(ordering: .relaxed)
        let refused = counters.refused.load(ordering: .relaxed)
        let eventRate = Double(recorded) / ingestSeconds
        let batchesPerCommit = Double(after.operations - before.operations) / Double(max(1, after.transactions - before.transactions))
        report.line(
            "RecordEvents \(concurrency) x\(batch)", String(format: "%.0f events/s", eventRate),
            String(
                format: "%ld events of %ld customers in %.1f s, %.1f batches/s; per call p50 %.0f ms, p99 %.0f ms; %.1f batches per commit; %ld events refused, %llu calls failed",
                recorded, customers, ingestSeconds, Double(ingested.calls) / ingestSeconds,
                ingested.microseconds(atPercentile: 50) / 1_000, ingested.microseconds(atPercentile: 99) / 1_000,
                batchesPerCommit, refused, ingested.errors) + "; store \(Self.storeSize(root)), RSS \(residentMegabytes()) MB",
            "≥ 20000/s", met: eventRate >= 20_000 && refused == 0 && ingested.errors == 0)

        // 3. Single events of existing customers, as they happen.
        let liveTypes: [(String, String)] = [
            ("visit", "website"), ("visit", "app"), ("visit", "store"), ("email_open", "email"), ("app_open", "app"),
            ("app_open", "app"), ("email_open", "email"), ("repeat_purchase", "store"), ("review", "website"),
        ]
        let live = Atomic<Int>(0)
        let total = customers
        before = service.store.groupCommitStatistics
        let singles = try await ClosedLoop.run(concurrency: concurrency, window: Window(warmup: warmup, duration: duration)) { random in
            let (type, touchpoint) = liveTypes[Int(random.next() % UInt64(liveTypes.count))]
            var request = Cx_Journey_V1_RecordEventRequest()
            request.event.customerID = JourneyWorkload.customerID(Int(random.next() % UInt64(total)))
            request.event.type = type
            request.event.touchpointID = touchpoint
            request.event.idempotencyKey = "bench-live-\(live.add(1, ordering: .relaxed).newValue)"
            do {
                _ = try await client.call(Cx_Journey_V1_Journey.recordEvent, request)
                counters.singles.add(1, ordering: .relaxed)
            } catch {
                counters.unknown.add(1, ordering: .relaxed)
                counters.remember("RecordEvent: \(error)")
                throw error
            }
        }
        after = service.store.groupCommitStatistics
        report.line(
            "RecordEvent \(concurrency)", String(format: "%.0f events/s", singles.callsPerSecond),
            String(
                format: "random existing customers; p50 %.0f µs, p99 %.0f µs, p99.9 %.0f µs; %.2f of Echo; %.0f events per commit; %llu errors",
                singles.microseconds(atPercentile: 50), singles.microseconds(atPercentile: 99), singles.microseconds(atPercentile: 99.9),
                singles.callsPerSecond / max(1, echoResult.callsPerSecond),
                Double(after.operations - before.operations) / Double(max(1, after.transactions - before.transactions)), singles.errors),
            "-", met: singles.errors == 0 ? nil : false)

        // 4. GetJourney of random customers.
        let journeys = try await ClosedLoop.run(concurrency: concurrency, window: Window(warmup: warmup, duration: duration)) { random in
            var request = Cx_Journey_V1_GetJourneyRequest()
            request.customerID = JourneyWorkload.customerID(Int(random.next() % UInt64(total)))
            _ = try await client.call(Cx_Journey_V1_Journey.getJourney, request)
        }
        report.line(
            "GetJourney \(concurrency)", String(format: "%.0f calls/s", journeys.callsPerSecond),
            String(
                format: "random customers, 20 recent events, history and open tasks; p50 %.0f µs, p99 %.0f µs; %.2f of Echo; %llu errors",
                journeys.microseconds(atPercentile: 50), journeys.microseconds(atPercentile: 99),
                journeys.callsPerSecond / max(1, echoResult.callsPerSecond), journeys.errors),
            "-", met: journeys.errors == 0 ? nil : false)

        // 5. Analytics, one call after another.
        let yearAgo = Google_Protobuf_Timestamp(date: Date().addingTimeInterval(-365 * 86_400))
        var funnel30 = Cx_Journey_V1_FunnelResponse()
        let funnel30Times = try await Self.sequential(repeats) {
            funnel30 = try await client.call(Cx_Journey_V1_Journey.funnel, Cx_Journey_V1_FunnelRequest())
        }
        report.line(
            "Funnel 30 days", funnel30Times.figure, funnel30Times.detail + "; " + Self.describe(funnel30), "< 50 ms",
            met: funnel30Times.p99 < 50)
        var funnel365 = Cx_Journey_V1_FunnelResponse()
        let funnel365Times = try await Self.sequential(repeats) {
            funnel365 = try await client.call(Cx_Journey_V1_Journey.funnel, .with { $0.from = yearAgo })
        }
        report.line(
            "Funnel 365 days", funnel365Times.figure, funnel365Times.detail + "; " + Self.describe(funnel365), "< 50 ms",
            met: funnel365Times.p99 < 50)
        var activity = Cx_Journey_V1_TouchpointActivityResponse()
        let activityTimes = try await Self.sequential(repeats) {
            activity = try await client.call(Cx_Journey_V1_Journey.touchpointActivity, Cx_Journey_V1_TouchpointActivityRequest())
        }
        report.line(
            "TouchpointActivity 30 days", activityTimes.figure,
            activityTimes.detail + "; " + activity.touchpoints.prefix(5).map { "\($0.touchpointID.isEmpty ? "(none)" : $0.touchpointID) \($0.events)" }
                .joined(separator: ", "),
            "-", met: nil)
        var stalled = Cx_Journey_V1_StalledResponse()
        let stalledTimes = try await Self.sequential(repeats) {
            stalled = try await client.call(Cx_Journey_V1_Journey.stalled, .with { $0.pageSize = 50 })
        }
        report.line(
            "Stalled all, page 50", stalledTimes.figure,
            stalledTimes.detail + "; stalled " + stalled.counts.map { "\($0.stage.shortName) \($0.stalled)" }.joined(separator: ", ")
                + "; \(stalled.customers.count) on the page",
            "-", met: nil)

        // 6. The store agrees with what was acknowledged, and with itself.
        let acknowledged = recorded + counters.singles.load(ordering: .relaxed)
        let unknown = counters.unknown.load(ordering: .relaxed)
        let checkStart = now()
        let (eventRows, customerRows, stageCounted, touchpointCounted) = try await service.store.read { db in
            (
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM event") ?? -1,
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM customer") ?? -1,
                try Int.fetchOne(db, sql: "SELECT COALESCE(SUM(customers), 0) FROM stage_count") ?? -1,
                try Int.fetchOne(db, sql: "SELECT COALESCE(SUM(events), 0) FROM touchpoint_day") ?? -1
            )
        }
        let countsAgree = unknown == 0 ? eventRows == acknowledged : (acknowledged...(acknowledged + unknown)).contains(eventRows)
        let consistent = countsAgree && customerRows == customers && stageCounted == customerRows && touchpointCounted == eventRows
        report.line(
            "store check", consistent ? "consistent" : "INCONSISTENT",
            "\(eventRows) event rows for \(acknowledged) acknowledged (\(unknown) in failed calls); \(customerRows) customers, "
                + "stage_count sums to \(stageCounted); touchpoint_day sums to \(touchpointCounted) events; "
                + String(format: "checked in %.1f s", Double(now() - checkStart) / 1e9),
            "equal", met: consistent)
        for message in counters.messages() { FileHandle.standardError.write(Data("first failure: \(message)\n".utf8)) }
        await client.close()
        server.close()
        try service.store.close()
    }

    /// Calls `body` `times` times one after another: the latencies in ms.
    static func sequential(_ times: Int, _ body: () async throws -> Void) async throws -> Sequential {
        var milliseconds: [Double] = []
        milliseconds.reserveCapacity(times)
        for _ in 0..<times {
            let start = now()
            try await body()
            milliseconds.append(Double(now() - start) / 1e6)
        }
        return Sequential(sorted: milliseconds.sorted())
    }

    struct Sequential {
        let sorted: [Double]
        func percentile(_ p: Double) -> Double { sorted[max(0, min(sorted.count - 1, Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1))] }
        var p99: Double { percentile(99) }
        var figure: String { String(format: "p99 %.2f ms", p99) }
        var detail: String {
            String(format: "%ld calls one at a time: p50 %.2f ms, p99 %.2f ms, max %.2f ms", sorted.count, percentile(50), p99, sorted.last ?? 0)
        }
    }

    static func describe(_ funnel: Cx_Journey_V1_FunnelResponse) -> String {
        "\(funnel.customers) customers; now/entered per stage: "
            + funnel.stages.map { "\($0.stage.shortName) \($0.customersNow)/\($0.entered)" }.joined(separator: ", ")
    }

    /// journey.sqlite with its WAL, in MB.
    static func storeSize(_ root: URL) -> String {
        let bytes = ["journey.sqlite", "journey.sqlite-wal"].compactMap { name in
            (try? FileManager.default.attributesOfItem(atPath: root.appendingPathComponent(name).path)[.size] as? NSNumber)?.int64Value
        }.reduce(0, +)
        return String(format: "%.0f MB", Double(bytes) / 1_048_576)
    }
}

/// What went right and wrong during a run, across every caller.
final class Counters: Sendable {
    let recorded = Atomic<Int>(0)
    let refused = Atomic<Int>(0)
    let failedCalls = Atomic<Int>(0)
    /// Events in calls that failed: recorded or not, nobody knows.
    let unknown = Atomic<Int>(0)
    let singles = Atomic<Int>(0)
    private let first = Mutex<[String]>([])

    func remember(_ message: String) {
        first.withLock { if $0.count < 3 { $0.append(message) } }
    }

    func messages() -> [String] { first.withLock { $0 } }
}

/// The events the benchmark ingests, the same on every run: each customer's
/// count (around the mean, at least one), how far along the journey they get,
/// and the order (round by round: every customer's next event, customers in
/// a scattered order). Event `g` is computed from these on demand.
struct JourneyWorkload: Sendable {
    let customers: Int
    let events: Int
    /// Customer of each event, in ingestion order.
    let order: [Int32]
    /// Index in `order` where each round begins.
    let roundStarts: [Int]
    /// Events per customer.
    let counts: [UInt16]
    /// Journey moves each customer makes (1 = visit only ... 8 = review).
    let depths: [UInt8]
    /// First event of each customer; the last is an hour before `now`.
    let begins: [Double]
    let end: Double

    /// The moves of the journey, in order, and where they happen.
    static let moves: [(type: String, touchpoints: [String])] = [
        ("visit", ["website", "website", "app", "store"]),
        ("first_purchase", ["website", "store", "app"]),
        ("purchase_confirmation", ["email"]),
        ("delivery", ["logistics", "store"]),
        ("onboarding_done", ["app", "website"]),
        ("goal_reached", ["app"]),
        ("repeat_purchase", ["website", "store", "app"]),
        ("review", ["website", "social", "app"]),
    ]
    /// Of those who made move k, how many make move k + 1.
    static let carryOn: [Double] = [0.6, 0.95, 0.9, 0.8, 0.7, 0.6, 0.45]
    /// Events that move nobody.
    static let others: [(String, String)] = [
        ("visit", "website"), ("visit", "app"), ("visit", "store"), ("email_open", "email"), ("email_open", "email"),
        ("app_open", "app"), ("app_open", "app"), ("app_open", "app"),
    ]
    static let products = ["phone", "laptop", "headphones", "watch", "tablet"]

    static func customerID(_ index: Int) -> String { "bench-\(index)" }

    init(customers: Int, events: Int, now: Double) {
        self.customers = customers
        self.events = events
        self.end = now - 3_600
        var random = SplitMix64(seed: 7)
        let mean = Double(events) / Double(customers)
        var counts = (0..<customers).map { _ in
            UInt16(max(1, min(1_000, (mean * Double.random(in: 0.3...1.7, using: &random)).rounded())))
        }
        var difference = events - counts.reduce(0) { $0 + Int($1) }
        var index = 0
        while difference != 0 {
            if difference > 0, counts[index] < 1_000 {
                counts[index] += 1
                difference -= 1
            } else if difference < 0, counts[index] > 1 {
                counts[index] -= 1
                difference += 1
            }
            index = (index + 1) % customers
        }
        self.counts = counts
        depths = (0..<customers).map { _ in
            var depth: UInt8 = 1
            while depth < 8, Double.random(in: 0..<1, using: &random) < Self.carryOn[Int(depth) - 1] { depth += 1 }
            return depth
        }
        // Customers arrive over the 200 days, most early on.
        let span = 200.0 * 86_400
        begins = (0..<customers).map { _ in
            let u = Double.random(in: 0..<1, using: &random)
            return now - span + u * u * (span - 10 * 86_400)
        }
        var order: [Int32] = []
        order.reserveCapacity(events)
        var roundStarts: [Int] = []
        let rounds = Int(counts.max() ?? 0)
        let scattered = (0..<customers).map { LoyaltyBenchmark.scattered($0, customers) }
        for round in 0..<rounds {
            roundStarts.append(order.count)
            for customer in scattered where Int(counts[customer]) > round { order.append(Int32(customer)) }
        }
        self.order = order
        self.roundStarts = roundStarts
    }

    /// The `global`th event to ingest.
    func event(_ global: Int) -> Cx_Journey_V1_Event {
        let customer = Int(order[global])
        var round = 0
        while round + 1 < roundStarts.count, roundStarts[round + 1] <= global { round += 1 }
        var random = SplitMix64(seed: UInt64(customer) << 16 | UInt64(round))
        let count = Int(counts[customer])
        let depth = min(Int(depths[customer]), count)
        // Move k is the customer's event floor(k * count / depth); the rest move nobody.
        let k = (round * depth + count - 1) / count
        let isMove = k < depth && k * count / depth == round
        var event = Cx_Journey_V1_Event()
        event.customerID = Self.customerID(customer)
        if isMove {
            let move = Self.moves[k]
            event.type = move.type
            event.touchpointID = move.touchpoints[Int(random.next() % UInt64(move.touchpoints.count))]
            if move.type == "first_purchase" || move.type == "repeat_purchase" {
                event.attributes["product"] = Self.products[Int(random.next() % UInt64(Self.products.count))]
                event.attributes["order_id"] = "order-\(customer)-\(round)"
            }
        } else {
            let other = Self.others[Int(random.next() % UInt64(Self.others.count))]
            event.type = other.0
            event.touchpointID = other.1
        }
        let begin = begins[customer]
        let jitter = Double(random.next() % 900) / 1_000
        event.occurredAt = Google_Protobuf_Timestamp(date: Date(timeIntervalSince1970: begin + (end - begin) * (Double(round) + jitter) / Double(count)))
        event.idempotencyKey = "bench-\(customer)-\(round)"
        return event
    }
}

extension Cx_Journey_V1_Stage {
    fileprivate var shortName: String {
        switch self {
        case .assessment: "assess"
        case .admission: "admit"
        case .affirmation: "affirm"
        case .activation: "activ"
        case .acclimation: "acclim"
        case .accomplishment: "accompl"
        case .acceptance: "accept"
        case .advocacy: "advoc"
        case .lost: "lost"
        default: "\(rawValue)"
        }
    }
}
