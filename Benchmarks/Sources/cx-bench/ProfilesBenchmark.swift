import ArgumentParser
import CXModel
import CXProfiles
import CXStore
import CXWire
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SwiftProtobuf

/// The profiles service with many customers loaded, over loopback RPC, each
/// figure beside the reference or target the profiles issue names.
struct ProfilesBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profiles",
        abstract: "The profiles service with --customers loaded: import rate, GetCustomer vs CXWire echo, segment count, re-evaluation per trait update.",
        discussion: """
            One process runs a real profiles server on 127.0.0.1 (its store in a temporary \
            directory, WAL, synchronous=FULL) and its clients. In order:
              1. import: --customers synthetic customers (Persian and Latin names, emails, \
            phones, cities) through ImportCustomers, --batch rows per call, --importers calls \
            at a time, no segments defined.
              2. reads: CXWire's built-in Echo, then GetCustomer of random loaded customers, \
            each for --duration seconds at --level on the same server and client.
              3. UpdateTraits one call at a time (--updates calls) with no segments, then \
            --segments segments are defined, every one reading the traits the update \
            changes, and the same number of calls again; the difference is what \
            re-evaluating the segments costs one update.
              4. CountSegment of a 3-condition segment, --counts times.
            """)

    @Option(help: "Customers to load.")
    var customers = 100_000

    @Option(help: "Rows per ImportCustomers call (at most \(ProfilesService.maxImportRows)).")
    var batch = 1_000

    @Option(help: "ImportCustomers calls in flight at once.")
    var importers = 2

    @Option(help: "Connections x calls in flight per connection for Echo and GetCustomer.")
    var level = "16x8"

    @Option(help: "Seconds measured per read run.")
    var duration: Double = 5

    @Option(help: "Seconds of warm-up before each measured read window.")
    var warmup: Double = 1

    @Option(help: "Segments defined before the second UpdateTraits run.")
    var segments = 50

    @Option(help: "UpdateTraits calls in each of the two runs.")
    var updates = 2_000

    @Option(help: "CountSegment calls timed.")
    var counts = 50

    @Option(help: "Keep the store here instead of a temporary directory that is removed afterwards.")
    var directory: String?

    @Flag(help: "Print JSON lines instead of a table.")
    var json = false

    func validate() throws {
        guard (1...10_000_000).contains(customers) else { throw ValidationError("--customers: \(customers) must be 1 to 10000000") }
        guard (1...ProfilesService.maxImportRows).contains(batch) else {
            throw ValidationError("--batch: \(batch) must be 1 to \(ProfilesService.maxImportRows)")
        }
        guard (1...64).contains(importers) else { throw ValidationError("--importers: \(importers) must be 1 to 64") }
        guard Concurrency(level) != nil else { throw ValidationError("--level: \"\(level)\" is not CONNECTIONSxINFLIGHT (at most 4096 calls in flight)") }
        guard duration > 0, duration <= 600 else { throw ValidationError("--duration: \(duration) must be in (0, 600]") }
        guard warmup >= 0, warmup <= 60 else { throw ValidationError("--warmup: \(warmup) must be in [0, 60]") }
        guard (1...1_000).contains(segments) else { throw ValidationError("--segments: \(segments) must be 1 to 1000") }
        guard (1...1_000_000).contains(updates), updates * 2 <= customers else {
            throw ValidationError("--updates: \(updates) must be at least 1 and at most half of --customers (\(customers / 2))")
        }
        guard (1...100_000).contains(counts) else { throw ValidationError("--counts: \(counts) must be 1 to 100000") }
    }

    func run() async throws {
        let concurrency = Concurrency(level)!
        let temporary = directory == nil
        let root = directory.map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("cx-bench-profiles-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { if temporary { try? FileManager.default.removeItem(at: root) } }

        var logger = Logger(label: "cx-bench")
        logger.logLevel = .error
        let service = try await ProfilesService.open(directory: root)
        var router = RPCRouter()
        service.register(into: &router)
        let server = RPCServer(
            configuration: RPCServerConfiguration(name: "profiles", host: "127.0.0.1", port: 0), router: router, logger: logger)
        try await server.start()
        let port = server.localAddress!.port!
        let report = Report(json: json)
        if !json {
            print("""
                profiles service, \(customers) customers, store in \(root.path) (WAL, synchronous=FULL), \
                \(ProcessInfo.processInfo.activeProcessorCount) cores
                """)
            report.header()
        }

        // 1. Import.
        let batches = SyntheticCustomers.batches(count: customers, batchSize: batch)
        let importClient = RPCClient(host: "127.0.0.1", port: port, configuration: RPCClientConfiguration(connections: importers))
        let imported = try await Self.importAll(batches, client: importClient, callers: importers, total: customers, progress: !json)
        await importClient.close()
        let rssAfterImport = residentMegabytes()
        report.line(
            "import", String(format: "%.0f customers/s", imported.rate),
            "\(imported.created) created, \(imported.failed) failed in \(String(format: "%.1f", imported.seconds)) s; RSS \(rssAfterImport) MiB",
            "≥ 20000/s", met: imported.rate >= 20_000 && imported.failed == 0)

        // 2. Echo, then GetCustomer, on one client and server.
        let client = RPCClient(host: "127.0.0.1", port: port, configuration: RPCClientConfiguration(connections: concurrency.connections))
        var echoRequest = Cx_Wire_V1_EchoRequest()
        echoRequest.payload = Data(repeating: 0x61, count: 32)
        let echo = echoRequest
        for _ in 0..<concurrency.connections { _ = try await client.call(Cx_Wire_V1_Echo.echo, echo) }
        let echoResult = try await ClosedLoop.run(concurrency: concurrency, window: Window(warmup: warmup, duration: duration)) { _ in
            _ = try await client.call(Cx_Wire_V1_Echo.echo, echo)
        }
        report.line(
            "Echo \(concurrency)", String(format: "%.0f calls/s", echoResult.callsPerSecond),
            String(format: "p99 %.0f µs", echoResult.microseconds(atPercentile: 99)), "reference", met: nil)
        // Every customer read once, 16x8 as well: the cold figure, and the
        // cache warm for the measured run (as in a service that has been up).
        let count = customers
        let cursor = NIOLockedValueBox(0)
        let coldStart = now()
        let cold = try await ClosedLoop.run(concurrency: concurrency, window: Window(warmup: 0, duration: 3_600)) { _ in
            let index = cursor.withLockedValue { value -> Int in
                defer { value += 1 }
                return value
            }
            guard index < count else { throw CancellationError() }
            var request = Cx_Profiles_V1_GetCustomerRequest()
            request.customerID = SyntheticCustomers.id(index)
            _ = try await client.call(Cx_Profiles_V1_Customers.getCustomer, request)
        }
        let coldSeconds = Double(now() - coldStart) / 1e9
        report.line(
            "GetCustomer \(concurrency), cold", String(format: "%.0f calls/s", Double(cold.calls) / coldSeconds),
            String(format: "p99 %.0f µs; each customer read once, from the database", cold.microseconds(atPercentile: 99)),
            "-", met: nil)
        let getResult = try await ClosedLoop.run(concurrency: concurrency, window: Window(warmup: warmup, duration: duration)) { random in
            var request = Cx_Profiles_V1_GetCustomerRequest()
            request.customerID = SyntheticCustomers.id(Int(random.next() % UInt64(count)))
            _ = try await client.call(Cx_Profiles_V1_Customers.getCustomer, request)
        }
        let cache = service.cacheStatistics
        report.line(
            "customer cache", "\(cache.entries) entries",
            "\(cache.hits) hits, \(cache.misses) misses; process RSS \(residentMegabytes()) MiB", "-", met: nil)
        let ratio = echoResult.callsPerSecond > 0 ? getResult.callsPerSecond / echoResult.callsPerSecond : 0
        report.line(
            "GetCustomer \(concurrency)", String(format: "%.0f calls/s", getResult.callsPerSecond),
            String(format: "p99 %.0f µs, %.2f of Echo, ", getResult.microseconds(atPercentile: 99), ratio) + "\(getResult.errors) errors",
            "≥ 0.50 of Echo", met: ratio >= 0.5 && getResult.errors == 0)

        // 3. UpdateTraits without segments, then with them.
        let bare = try await Self.updateTraits(client: client, customers: 0..<updates, tag: "bare")
        report.line(
            "UpdateTraits, 0 segments", String(format: "p50 %.0f µs", bare.microseconds(atPercentile: 50)),
            String(format: "mean %.0f µs, p99 %.0f µs", bare.latency.mean / 1_000, bare.microseconds(atPercentile: 99)),
            "reference", met: nil)
        let defined = try await Self.defineSegments(segments, client: client)
        report.line(
            "DefineSegment", String(format: "%.0f ms mean", defined.latency.mean / 1e6),
            String(format: "max %.0f ms", Double(defined.latency.max) / 1e6) + ", each populated over \(customers) customers",
            "-", met: nil)
        let loaded = try await Self.updateTraits(client: client, customers: updates..<(2 * updates), tag: "segments")
        let added = (loaded.latency.mean - bare.latency.mean) / 1_000
        report.line(
            "UpdateTraits, \(segments) segments", String(format: "p50 %.0f µs", loaded.microseconds(atPercentile: 50)),
            String(format: "mean %.0f µs, p99 %.0f µs; re-evaluation adds %.0f µs mean", loaded.latency.mean / 1_000,
                   loaded.microseconds(atPercentile: 99), added),
            "< 1000 µs added", met: added < 1_000)

        // 4. CountSegment of a 3-condition segment.
        var segment = Cx_Profiles_V1_DefineSegmentRequest()
        segment.segment.name = "Women in Tehran or Mashhad who consented"
        segment.segment.rule = #"city in ["تهران", "مشهد"] and gender == "female" and marketing_consent"#
        let threeConditions = try await client.call(Cx_Profiles_V1_Segments.defineSegment, segment).segment
        var countResult = LoadResult()
        var members: Int64 = 0
        for _ in 0..<counts {
            var request = Cx_Profiles_V1_CountSegmentRequest()
            request.segmentID = threeConditions.id
            let start = now()
            members = try await client.call(Cx_Profiles_V1_Segments.countSegment, request).count
            countResult.latency.record(now() - start)
            countResult.calls += 1
        }
        let countMilliseconds = Double(countResult.latency.max) / 1e6
        report.line(
            "CountSegment, 3 conditions", String(format: "%.2f ms max", countMilliseconds),
            String(format: "p50 %.2f ms", countResult.microseconds(atPercentile: 50) / 1_000) + " over \(counts) calls; \(members) members",
            "< 50 ms", met: countMilliseconds < 50)

        await client.close()
        server.close()
        try await server.waitUntilClosed()
        try service.store.close()
    }

    struct ImportResult {
        var created = 0
        var failed = 0
        var seconds = 0.0
        var rate: Double { seconds > 0 ? Double(created) / seconds : 0 }
    }

    /// Sends every batch, `callers` at a time; the clock runs from the first
    /// call to the last answer.
    static func importAll(
        _ batches: [Cx_Profiles_V1_ImportCustomersRequest], client: RPCClient, callers: Int, total: Int, progress: Bool
    ) async throws -> ImportResult {
        let next = NIOLockedValueBox(0)
        let done = NIOLockedValueBox((created: 0, failed: 0))
        let start = now()
        let bar = progress ? ProgressLine(total: total, label: "importing") : nil
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<callers {
                group.addTask {
                    while true {
                        let index = next.withLockedValue { value -> Int in
                            defer { value += 1 }
                            return value
                        }
                        guard index < batches.count else { return }
                        let response = try await client.call(Cx_Profiles_V1_Customers.importCustomers, batches[index])
                        let sum = done.withLockedValue { value -> Int in
                            value.created += Int(response.created)
                            value.failed += Int(response.failed)
                            return value.created + value.failed
                        }
                        bar?.show(sum)
                    }
                }
            }
            try await group.waitForAll()
        }
        let seconds = Double(now() - start) / 1e9
        bar?.finish()
        let counts = done.withLockedValue { $0 }
        return ImportResult(created: counts.created, failed: counts.failed, seconds: seconds)
    }

    /// One UpdateTraits per customer in `customers`, one call at a time:
    /// lifetime spend, purchase count and last purchase, as loyalty pushes them.
    static func updateTraits(client: RPCClient, customers: Range<Int>, tag: String) async throws -> LoadResult {
        var result = LoadResult()
        let occurred = Google_Protobuf_Timestamp(date: Date())
        for index in customers {
            var request = Cx_Profiles_V1_UpdateTraitsRequest()
            request.customerID = SyntheticCustomers.id(index)
            request.eventID = "bench-\(tag)-\(index)"
            request.source = "loyalty"
            request.occurredAt = occurred
            request.traits.lifetimeSpend.minorUnits = Int64(index % 97) * 1_000_000
            request.traits.lifetimeSpend.currency = "IRR"
            request.traits.purchaseCount = Int64(index % 13)
            request.traits.lastPurchaseAt = Google_Protobuf_Timestamp(date: Date(timeIntervalSinceNow: -Double(index % 60) * 86_400))
            request.updateMask = ["lifetime_spend", "purchase_count", "last_purchase_at"]
            let start = now()
            let response = try await client.call(Cx_Profiles_V1_Customers.updateTraits, request)
            result.latency.record(now() - start)
            if response.outcome == .applied { result.calls += 1 } else { result.errors += 1 }
        }
        return result
    }

    /// Defines `count` segments, every one reading a trait that
    /// ``updateTraits(client:customers:tag:)`` changes, so an update re-evaluates them all.
    static func defineSegments(_ count: Int, client: RPCClient) async throws -> LoadResult {
        var result = LoadResult()
        let cities = SyntheticCustomers.cities
        for index in 0..<count {
            let rule: String
            switch index % 5 {
            case 0: rule = "traits.lifetime_spend >= \(index * 1_000_000) and country == \"IR\""
            case 1: rule = "traits.purchase_count > \(index % 13) and city == \"\(cities[index % cities.count])\""
            case 2: rule = "traits.last_purchase_at >= now - \(index + 1)d and marketing_consent"
            case 3: rule = "(traits.lifetime_spend > \(index * 500_000) or traits.purchase_count >= 5) and gender == \"female\""
            default: rule = "traits.purchase_count >= 1 and preferred_channels contains \"sms\" and not (city == \"\(cities[index % cities.count])\")"
            }
            var request = Cx_Profiles_V1_DefineSegmentRequest()
            request.segment.name = "bench segment \(index)"
            request.segment.rule = rule
            let start = now()
            _ = try await client.call(Cx_Profiles_V1_Segments.defineSegment, request)
            result.latency.record(now() - start)
            result.calls += 1
        }
        return result
    }
}

/// `connections x inFlight` tasks, each calling `body` back to back until the
/// window is over (or `body` throws CancellationError), spread over NIO's
/// loops as a service's callers would be.
enum ClosedLoop {
    static func run(
        concurrency: Concurrency, window: Window, _ body: @escaping @Sendable (inout SplitMix64) async throws -> Void
    ) async throws -> LoadResult {
        let total = await withTaskGroup(of: LoadResult.self) { group in
            for caller in 0..<(concurrency.connections * concurrency.inFlight) {
                group.addTask {
                    let loop = MultiThreadedEventLoopGroup.singleton.next()
                    let worker = try? await loop.submit {
                        Task {
                            var random = SplitMix64(seed: UInt64(caller) &+ 1)
                            var result = LoadResult()
                            while true {
                                let sent = now()
                                if window.isOver(sent) { break }
                                do {
                                    try await body(&random)
                                    let time = now()
                                    if window.contains(time) {
                                        result.calls += 1
                                        result.latency.record(time - sent)
                                    }
                                } catch is CancellationError {
                                    break  // the body says the work is done
                                } catch {
                                    result.errors += 1
                                }
                            }
                            return result
                        }
                    }.get()
                    return await worker?.value ?? LoadResult()
                }
            }
            var total = LoadResult()
            for await result in group { total.merge(result) }
            return total
        }
        var result = total
        result.seconds = window.seconds
        return result
    }
}

/// Plausible customers of an Iranian retailer, the same on every run.
enum SyntheticCustomers {
    static let cities = ["تهران", "مشهد", "اصفهان", "شیراز", "تبریز", "کرج", "قم", "اهواز", "رشت", "یزد"]
    static let firstNames = ["علی", "زهرا", "محمد", "فاطمه", "رضا", "مریم", "حسین", "سارا", "Sara", "Omid", "Neda", "Arash"]
    static let lastNames = ["محمدی", "حسینی", "احمدی", "رضایی", "کریمی", "Karimi", "Tehrani", "Rahimi"]

    static func id(_ index: Int) -> String { "bench-\(index)" }

    static func batches(count: Int, batchSize: Int) -> [Cx_Profiles_V1_ImportCustomersRequest] {
        var random = SplitMix64(seed: 42)
        var batches: [Cx_Profiles_V1_ImportCustomersRequest] = []
        var current = Cx_Profiles_V1_ImportCustomersRequest()
        for index in 0..<count {
            current.customers.append(customer(index, &random))
            if current.customers.count == batchSize || index == count - 1 {
                current.idempotencyKey = "bench-import-\(batches.count)"
                batches.append(current)
                current = Cx_Profiles_V1_ImportCustomersRequest()
            }
        }
        return batches
    }

    static func customer(_ index: Int, _ random: inout SplitMix64) -> Cx_Profiles_V1_Customer {
        var customer = Cx_Profiles_V1_Customer()
        customer.id = id(index)
        customer.name = "\(firstNames.randomElement(using: &random)!) \(lastNames.randomElement(using: &random)!)"
        customer.email = "customer\(index)@example.com"
        customer.phone = "+98912\(String(format: "%07d", index % 10_000_000))"
        customer.city = cities.randomElement(using: &random)!
        customer.country = "IR"
        customer.gender = [.female, .male, .other, .undisclosed].randomElement(using: &random)!
        customer.birthDate.year = Int32.random(in: 1950...2005, using: &random)
        customer.birthDate.month = Int32.random(in: 1...12, using: &random)
        customer.birthDate.day = Int32.random(in: 1...28, using: &random)
        customer.preferredChannels = [[.sms], [.email], [.sms, .app], [.messenger]].randomElement(using: &random)!
        customer.marketingConsent.given = Bool.random(using: &random)
        customer.marketingConsent.method = "web form"
        customer.attributes["goal"] = ["save", "travel", "family", "style"].randomElement(using: &random)!
        return customer
    }
}

/// One rewritten line on standard error: `label: done/total (percent)`.
final class ProgressLine: Sendable {
    let total: Int
    let label: String
    private let shown = NIOLockedValueBox(-1)

    init(total: Int, label: String) {
        self.total = total
        self.label = label
    }

    func show(_ done: Int) {
        let percent = total > 0 ? done * 100 / total : 100
        let changed = shown.withLockedValue { value -> Bool in
            guard percent != value else { return false }
            value = percent
            return true
        }
        if changed { FileHandle.standardError.write(Data("\r\(label): \(done)/\(total) (\(percent)%)".utf8)) }
    }

    func finish() { FileHandle.standardError.write(Data("\n".utf8)) }
}

/// The benchmark's table (or JSON lines): a measure, its figure, detail,
/// and the target or reference it is judged against.
struct Report {
    let json: Bool

    func header() {
        print(row("measure", "figure", "target", "met", "detail"))
    }

    func line(_ measure: String, _ figure: String, _ detail: String, _ target: String, met: Bool?) {
        let verdict = met.map { $0 ? "yes" : "NO" } ?? "-"
        if json {
            let object: [String: Any] = ["measure": measure, "figure": figure, "detail": detail, "target": target, "met": verdict]
            let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(row(measure, figure, target, verdict, detail))
        }
    }

    private func row(_ cells: String...) -> String {
        let widths = [28, 20, 16, 4, 0]
        return zip(cells, widths).map { $0.padding(toLength: max($1, $0.count), withPad: " ", startingAt: 0) }.joined(separator: " ")
    }
}

/// This process's resident memory, from /proc (0 where there is none).
func residentMegabytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
        let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "")
    else { return 0 }
    return kilobytes / 1_024
}
