import ArgumentParser
import CXModel
import CXWire
import Foundation

@main
struct CXLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cx-load",
        abstract: "Loads a CX service (or the whole platform) with realistic calls and reports throughput and latency.",
        discussion: """
            cx-load SERVICE --scenario NAME, or cx-load platform. Each run first seeds what its \
            scenario needs (customers with Persian and English names from --seed, accounts, a \
            reward, surveys; what exists is kept), then warms up for --warmup seconds, then \
            measures for --duration seconds or --count calls. Every write carries the run's own \
            id (order ids, idempotency keys), so runs never collide and the report's counts can \
            be checked against what the services recorded.

            Closed loop (the default): --connections x --in-flight calls at once, each sent as \
            the previous one ends. Open loop (--rate R): calls are due R times a second whatever \
            the answers do, and latency counts from when a call was due (coordinated omission \
            corrected, as wrk2 does); --schedule step or ramp varies R over --duration.

            Targets must be on this machine (127.0.0.0/8 or ::1) unless --allow-remote is given. \
            Addresses: --addr (--profiles-addr ... for platform), else $CX_<SERVICE>_ADDR, else \
            the cxctl config file ($CX_CONFIG or ~/.config/cx/cxctl.conf), else 127.0.0.1:7101 to \
            7104. Token: --token, else $CX_TOKEN, else the config file; seeding needs an admin token \
            when access control is on.

            Examples:
              cx-load --list
              cx-load loyalty --scenario purchase --duration 30
              cx-load journey --scenario event --rate 2000 --schedule ramp --rate-start 200 --duration 60 --json
              cx-load platform --connections 8 --hdr-out platform.hgrm
            """)

    @Argument(help: ArgumentHelp("profiles, loyalty, journey, feedback, or platform (all four); `scenarios` lists the scenarios.", valueName: "service"))
    var service: String?

    @Option(help: ArgumentHelp("The scenario (`--list` shows them); platform has only `default`.", valueName: "name"))
    var scenario: String?

    @Flag(help: "List the scenarios, a line each.")
    var list = false

    @Option(parsing: .unconditional, help: "Connections to each service (1 to 256).")
    var connections = 4

    @Option(name: .customLong("in-flight"), parsing: .unconditional, help: "Calls in flight per connection (1 to 1024; connections x in-flight at most 4096).")
    var inFlight = 8

    @Option(parsing: .unconditional, help: ArgumentHelp("Seconds to measure (up to 3600). Default 10 unless --count is given.", valueName: "seconds"))
    var duration: Double?

    @Option(parsing: .unconditional, help: ArgumentHelp("Calls to measure (1 to 100,000,000); with --duration, whichever ends first.", valueName: "calls"))
    var count: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp("Seconds of warm-up before measuring, not counted in the figures (0 to 600).", valueName: "seconds"))
    var warmup: Double = 2

    @Option(parsing: .unconditional, help: ArgumentHelp("Open loop: calls due per second (up to 1,000,000); latency counts from when each was due.", valueName: "calls/s"))
    var rate: Double?

    @Option(help: "Open loop's rate over time: constant, step (rises in --steps steps) or ramp (linear from --rate-start to --rate).")
    var schedule: Schedule.Shape = .constant

    @Option(name: .customLong("rate-start"), parsing: .unconditional, help: ArgumentHelp("Step and ramp: the rate to start from. Default: --rate/--steps for step, 0 for ramp.", valueName: "calls/s"))
    var rateStart: Double?

    @Option(parsing: .unconditional, help: "Step: how many steps (2 to 100). Default 5.")
    var steps: Int?

    @Option(parsing: .unconditional, help: "Which seeded data to use (0 to 999,999,999): the same seed finds the same customers, reward and surveys.")
    var seed = 1

    @Option(parsing: .unconditional, help: "Seeded customers the calls pick from (1 to 1,000,000).")
    var customers = 1_000

    @Option(parsing: .unconditional, help: "event-batch: events per RecordEvents call (1 to 1000). Default 100.")
    var batch: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp("Seconds a call may take before it counts as DEADLINE_EXCEEDED (up to 300).", valueName: "seconds"))
    var timeout: Double = 10

    @Option(help: ArgumentHelp("Bearer token. Default: $CX_TOKEN, else `token` in the cxctl config file.", valueName: "token"))
    var token: String?

    @Option(help: ArgumentHelp("The service's address; else $CX_<SERVICE>_ADDR, the config file, 127.0.0.1:710x.", valueName: "host:port"))
    var addr: String?

    @Option(name: .customLong("profiles-addr"), help: ArgumentHelp("platform: where profiles is.", valueName: "host:port"))
    var profilesAddr: String?

    @Option(name: .customLong("loyalty-addr"), help: ArgumentHelp("platform: where loyalty is.", valueName: "host:port"))
    var loyaltyAddr: String?

    @Option(name: .customLong("journey-addr"), help: ArgumentHelp("platform: where journey is.", valueName: "host:port"))
    var journeyAddr: String?

    @Option(name: .customLong("feedback-addr"), help: ArgumentHelp("platform: where feedback is.", valueName: "host:port"))
    var feedbackAddr: String?

    @Flag(name: .customLong("allow-remote"), help: "Allow targets that are not on this machine.")
    var allowRemote = false

    @Flag(help: "Print the report as JSON.")
    var json = false

    @Option(name: .customLong("hdr-out"), help: ArgumentHelp("Also write the latency histogram here (HdrHistogram percentile text, ms).", valueName: "file"))
    var hdrOut: String?

    var listing: Bool { list || service == "scenarios" }

    func validate() throws {
        if listing { return }
        guard let service else {
            throw ValidationError("SERVICE: missing; one of \(Catalog.services.joined(separator: ", ")) (or `scenarios` to list them)")
        }
        guard Catalog.services.contains(service) else {
            throw ValidationError("SERVICE: \"\(service)\" is not one of \(Catalog.services.joined(separator: ", ")) (or `scenarios`)")
        }
        let names = Catalog.scenarios(of: service).map(\.name)
        if service == "platform" {
            if let scenario, scenario != "default" {
                throw ValidationError("--scenario: platform has only \"default\", not \"\(scenario)\"")
            }
            if addr != nil {
                throw ValidationError("--addr: platform loads all four services; give --profiles-addr, --loyalty-addr, --journey-addr, --feedback-addr")
            }
        } else {
            guard let scenario else {
                throw ValidationError("--scenario: required for \(service): \(names.joined(separator: ", "))")
            }
            guard names.contains(scenario) else {
                throw ValidationError("--scenario: \"\(scenario)\" is not a \(service) scenario; \(service) has \(names.joined(separator: ", "))")
            }
        }
        guard (1...256).contains(connections) else { throw ValidationError("--connections: \(connections) must be 1 to 256") }
        guard (1...1_024).contains(inFlight) else { throw ValidationError("--in-flight: \(inFlight) must be 1 to 1024") }
        guard connections * inFlight <= 4_096 else {
            throw ValidationError("--in-flight: \(connections) connections x \(inFlight) is \(connections * inFlight) calls at once; at most 4096")
        }
        if let duration, !(duration > 0 && duration <= 3_600) {
            throw ValidationError("--duration: \(Format.number(duration)) must be more than 0 and at most 3600 seconds")
        }
        if let count, !(1...100_000_000).contains(count) {
            throw ValidationError("--count: \(count) must be 1 to 100000000")
        }
        guard warmup >= 0, warmup <= 600 else { throw ValidationError("--warmup: \(Format.number(warmup)) must be 0 to 600 seconds") }
        if let rate, !(rate > 0 && rate <= 1_000_000) {
            throw ValidationError("--rate: \(Format.number(rate)) must be more than 0 and at most 1000000 calls/s")
        }
        if schedule != .constant {
            guard rate != nil else {
                throw ValidationError("--schedule: \(schedule.rawValue) varies an open loop's rate; give --rate (the rate it ends at)")
            }
            guard duration != nil else {
                throw ValidationError("--schedule: \(schedule.rawValue) is spread over --duration; give --duration")
            }
        }
        if let rateStart {
            guard schedule != .constant else {
                throw ValidationError("--rate-start: only for --schedule step or ramp (the schedule is constant)")
            }
            guard rateStart >= 0, rateStart <= 1_000_000 else {
                throw ValidationError("--rate-start: \(Format.number(rateStart)) must be 0 to 1000000 calls/s")
            }
            if schedule == .step, rateStart == 0 {
                throw ValidationError("--rate-start: a step schedule's first step needs a rate above 0")
            }
        }
        if let steps {
            guard schedule == .step else { throw ValidationError("--steps: only for --schedule step") }
            guard (2...100).contains(steps) else { throw ValidationError("--steps: \(steps) must be 2 to 100") }
        }
        guard (0...999_999_999).contains(seed) else { throw ValidationError("--seed: \(seed) must be 0 to 999999999") }
        guard (1...1_000_000).contains(customers) else { throw ValidationError("--customers: \(customers) must be 1 to 1000000") }
        if let batch {
            guard service == "journey", scenario == "event-batch" else { throw ValidationError("--batch: only for journey --scenario event-batch") }
            guard (1...1_000).contains(batch) else { throw ValidationError("--batch: \(batch) must be 1 to 1000") }
        }
        guard timeout > 0, timeout <= 300 else { throw ValidationError("--timeout: \(Format.number(timeout)) must be more than 0 and at most 300 seconds") }
        let flags: [(String, String?)] = [
            ("--addr", addr), ("--profiles-addr", profilesAddr), ("--loyalty-addr", loyaltyAddr), ("--journey-addr", journeyAddr),
            ("--feedback-addr", feedbackAddr),
        ]
        for (flag, value) in flags {
            if let value, (try? RPCClient.parse(address: value)) == nil {
                throw ValidationError("\(flag): \"\(value)\" is not host:port (for example 127.0.0.1:7102)")
            }
        }
        if let hdrOut {
            let directory = URL(fileURLWithPath: hdrOut).deletingLastPathComponent().path
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue,
                FileManager.default.isWritableFile(atPath: directory)
            else {
                throw ValidationError("--hdr-out: \"\(hdrOut)\" cannot be written (\(directory) is not a writable directory)")
            }
        }
    }

    /// The schedule of an open loop; nil for a closed loop.
    var openSchedule: Schedule? {
        guard let rate else { return nil }
        let stepCount = schedule == .step ? (steps ?? 5) : 1
        let start = rateStart ?? (schedule == .step ? rate / Double(stepCount) : schedule == .ramp ? 0 : rate)
        return Schedule(shape: schedule, rate: rate, startRate: start, steps: stepCount, duration: duration)
    }

    func run() async throws {
        if listing {
            print(Catalog.listing())
            return
        }
        let service = self.service!
        let scenario = Catalog.find(service: service, name: scenario ?? "default")!
        let environment = ProcessInfo.processInfo.environment
        let config: ClientConfigFile
        do {
            config = try ClientConfigFile.load()
        } catch {
            throw ValidationError(error.description)
        }

        // Where each service is, and whether we may load it.
        var targets: [(service: CXServiceName, address: String)] = []
        for name in scenario.services {
            let flag: String? =
                switch name {
                case .profiles: profilesAddr
                case .loyalty: loyaltyAddr
                case .journey: journeyAddr
                case .feedback: feedbackAddr
                }
            let fromEnvironment = environment[name.addressVariable].flatMap { $0.isEmpty ? nil : $0 }
            let address = (service == "platform" ? nil : addr) ?? flag ?? fromEnvironment ?? config[name.rawValue] ?? name.defaultAddress
            guard let (host, _) = try? RPCClient.parse(address: address) else {
                throw ValidationError("address of \(name.rawValue): \"\(address)\" is not host:port")
            }
            if !allowRemote, !Loopback.check(host: host) {
                throw ValidationError(
                    "\(name.rawValue) at \(address): \(host) is not this machine (127.0.0.0/8 or ::1); a load test can take a shared "
                        + "service down, so cx-load refuses other hosts unless --allow-remote is given")
            }
            targets.append((name, address))
        }

        var metadata: [String: String] = [:]
        if let token = token ?? environment["CX_TOKEN"].flatMap({ $0.isEmpty ? nil : $0 }) ?? config["token"], !token.isEmpty {
            metadata["authorization"] = "Bearer \(token)"
        }
        let options = CallOptions(timeout: .nanoseconds(Int64(timeout * 1e9)))
        func client(_ address: String) throws -> RPCClient {
            try RPCClient(
                address: address, configuration: RPCClientConfiguration(connections: 1, connectTimeout: .seconds(3), metadata: metadata))
        }
        let pool: [[CXServiceName: RPCClient]] = try (0..<connections).map { _ in
            Dictionary(uniqueKeysWithValues: try targets.map { ($0.service, try client($0.address)) })
        }
        defer {
            let clients = pool.flatMap(\.values)
            Task { for client in clients { await client.close() } }
        }
        let terminal = isatty(STDERR_FILENO) == 1
        let run = RunIdentity(runID: RunIdentity.makeRunID(), seed: seed, customers: customers)

        // Every service answers before anything is sent.
        for target in targets {
            do {
                let health = try await pool[0][target.service]!.call(
                    Cx_Wire_V1_Health.check, .init(), options: CallOptions(timeout: .seconds(5)))
                if !health.server.isEmpty, health.server != target.service.rawValue {
                    fail("\(target.address) is \(health.server), not \(target.service.rawValue); check --addr or $\(target.service.addressVariable)")
                }
                if health.status != .serving {
                    fail("\(target.service.rawValue) at \(target.address) is not serving (\(health.status)); cxctl health \(target.service.rawValue) says more")
                }
            } catch let error as RPCError {
                fail(
                    "\(target.service.rawValue) at \(target.address) does not answer: \(error.code.name): \(error.message)\n"
                        + "(is it running? deploy/run-local.sh starts the platform; --addr or $\(target.service.addressVariable) points elsewhere)")
            }
        }

        // Seed.
        if terminal { FileHandle.standardError.write(Data("seeding \(service) \(scenario.name) (seed \(seed), \(customers) customers)...".utf8)) }
        let seeder = Seeder(clients: pool[0], options: CallOptions(timeout: .seconds(60)), run: run)
        var fixture = Fixture(run: run, batch: batch ?? 100)
        do {
            for step in scenario.seed { try await step(seeder, &fixture) }
        } catch {
            if terminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
            fail("\(error)")
        }
        if terminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }

        let engine = Engine(
            scenario: scenario, fixture: fixture, connections: pool, inFlight: inFlight, options: options, progress: terminal)
        let schedule = openSchedule
        var warmupOutcome: PhaseOutcome?
        if warmup > 0 {
            let warmupSchedule = schedule.map { Schedule.constant(max($0.rate(at: 0), $0.rate / 10)) }
            warmupOutcome = await engine.run(Phase(name: "warming up", duration: warmup, count: nil, schedule: warmupSchedule))
        }
        let measured = await engine.run(
            Phase(name: "measuring", duration: duration ?? (count == nil ? 10 : nil), count: count, schedule: schedule))

        let report = LoadReport(
            scenario: scenario, run: run, targets: targets.map { ($0.service.rawValue, $0.address) }, connections: connections,
            inFlight: inFlight, schedule: schedule, seeded: seeder.summary, warmup: warmupOutcome, measured: measured)
        if json {
            let data = try JSONSerialization.data(withJSONObject: report.json(), options: [.sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(report.table())
        }
        if let hdrOut {
            do {
                try report.hdr().write(toFile: hdrOut, atomically: true, encoding: .utf8)
            } catch {
                fail("--hdr-out: cannot write \"\(hdrOut)\": \(error.localizedDescription)")
            }
        }
        if measured.tally.ok == 0 {
            fail("no call succeeded; the report's errors say why")
        }
    }

    /// Says what went wrong on standard error and exits 1.
    func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("cx-load: \(message)\n".utf8))
        Foundation.exit(1)
    }
}
